// Zero counting for one weight tensor: element-wise sparsity, all-zero output channels (structured pruning,
// Li et al. 2017 "Pruning Filters for Efficient ConvNets"), and 2:4 semi-structured compliance (NVIDIA
// Ampere sparse tensor cores: at least 2 zeros in every group of 4 consecutive weights of the reduction axis).
// A quantized weight is zero when it equals its zero-point (a pruned int8 weight sits there, not at 0).
import { DataType } from '../onnx/dtypes';
import { numel } from '../onnx/shapes';
import type { StoredWeight } from './quantScheme';

export interface ZeroStats {
  params: number;
  zeros: number;
  /** output channels whose weights are all zero */
  zeroChannels: number;
  channels: number;
  /** full groups of 4 along the reduction axis, and those holding ≥ 2 zeros */
  groups: number;
  twoFourGroups: number;
}

/**
 * Float element types tested for zero on their bits: ±0 is the only value whose bits other than the sign are
 * all clear, so no element is decoded to a number.
 */
const floatBits: Record<number, { bytes: 2 | 4; magnitude: number }> = {
  [DataType.FLOAT]: { bytes: 4, magnitude: 0x7fffffff },
  [DataType.FLOAT16]: { bytes: 2, magnitude: 0x7fff },
  [DataType.BFLOAT16]: { bytes: 2, magnitude: 0x7fff },
};

/**
 * Zero statistics of many weights. Each tensor is reduced to one byte per element (1 = zero) in a buffer kept
 * from tensor to tensor, so a model's weights are scanned without allocating (and page-faulting) a decoded
 * copy of each.
 */
export class ZeroCounter {
  private flagBuffer = new ArrayBuffer(0);
  private alignBuffer = new ArrayBuffer(0);

  /** Zero statistics of a stored weight whose output channels run along `outAxis`. */
  weightStats(w: StoredWeight, outAxis: number): ZeroStats {
    const bits = floatBits[w.tensor.dataType];
    const flags = bits && w.valuesAreTensor && !w.perChannel && w.zeroPoint(0) === 0
      ? this.floatZeroFlags(w.rawBytes(), bits.bytes, bits.magnitude)
      : this.valueZeroFlags(w.values(), w.perChannel ? w.zeroPoint : w.zeroPoint(0));
    return flagStats(flags, w.shape, outAxis);
  }

  /** One byte per element of `values`: 1 where it equals the zero-point. */
  valueZeroFlags(values: ArrayLike<number>, zeroPoint: number | ((i: number) => number)): Uint8Array {
    const n = values.length;
    const flags = this.flags(n);
    if (typeof zeroPoint === 'number') for (let i = 0; i < n; i++) flags[i] = values[i] === zeroPoint ? 1 : 0;
    else for (let i = 0; i < n; i++) flags[i] = values[i] === zeroPoint(i) ? 1 : 0;
    return flags;
  }

  /** One byte per element of little-endian float bytes: 1 where the magnitude bits are all clear (±0). */
  floatZeroFlags(bytes: Uint8Array, elemBytes: 2 | 4, magnitude: number): Uint8Array {
    const n = bytes.length / elemBytes;
    const flags = this.flags(n);
    const misalign = bytes.byteOffset % elemBytes;
    if (elemBytes === 4 && misalign && bytes.byteOffset + bytes.length + 4 - misalign <= bytes.buffer.byteLength) {
      // raw_data inside a protobuf often starts off a 4-byte boundary. Rather than copy it, each element is put
      // together from the two aligned words it straddles (the word past the end still lies inside the buffer).
      const words = new Int32Array(bytes.buffer, bytes.byteOffset - misalign, n + 1);
      const low = misalign * 8;
      const high = 32 - low;
      for (let i = 0; i < n; i++) flags[i] = ((((words[i] >>> low) | (words[i + 1] << high)) & magnitude) - 1) >>> 31;
      return flags;
    }
    const { buffer, offset } = this.aligned(bytes, elemBytes);
    const words = elemBytes === 4 ? new Int32Array(buffer, offset, n) : new Uint16Array(buffer, offset, n);
    // (x & magnitude) − 1 is negative only for x = ±0, so its sign bit is the flag.
    for (let i = 0; i < n; i++) flags[i] = ((words[i] & magnitude) - 1) >>> 31;
    return flags;
  }

  private flags(n: number): Uint8Array {
    if (this.flagBuffer.byteLength < n) this.flagBuffer = new ArrayBuffer(n);
    return new Uint8Array(this.flagBuffer, 0, n);
  }

  /** Where `bytes` can be read as whole elements: in place when aligned, else from a reused copy. */
  private aligned(bytes: Uint8Array, elemBytes: number): { buffer: ArrayBufferLike; offset: number } {
    if (bytes.byteOffset % elemBytes === 0) return { buffer: bytes.buffer, offset: bytes.byteOffset };
    if (this.alignBuffer.byteLength < bytes.length) this.alignBuffer = new ArrayBuffer(bytes.length);
    new Uint8Array(this.alignBuffer, 0, bytes.length).set(bytes);
    return { buffer: this.alignBuffer, offset: 0 };
  }
}

/**
 * Counts the elements of `values` (a tensor of `shape`) equal to `zeroPoint` — one number, or one per element
 * index.
 */
export function zeroStats(values: ArrayLike<number>, shape: readonly number[], outAxis: number, zeroPoint: number | ((i: number) => number) = 0): ZeroStats {
  return flagStats(new ZeroCounter().valueZeroFlags(values, zeroPoint), shape, outAxis);
}

/**
 * Statistics of a tensor of `shape` from its zero flags (1 byte per element, 1 = zero). Each output channel's
 * slice is walked in memory order (the other axes flattened), which is the reduction order 2:4 kernels group by.
 */
export function flagStats(flags: Uint8Array, shape: readonly number[], outAxis: number): ZeroStats {
  const params = flags.length;
  const axis = shape.length ? Math.min(outAxis, shape.length - 1) : 0;
  const channels = shape.length ? shape[axis] : 1;
  const inner = numel(shape.slice(axis + 1));
  const outer = channels && inner ? params / (channels * inner) : 0;
  // Channels that are one contiguous run of whole groups (conv kernels, Gemm with transB) are read 4 flags at a
  // time: a word of four 0/1 bytes times 0x01010101 has their sum in its top byte.
  const words = outer === 1 && inner % 4 === 0 && flags.byteOffset % 4 === 0 ? new Uint32Array(flags.buffer, flags.byteOffset, params / 4) : undefined;
  let zeros = 0;
  let zeroChannels = 0;
  let groups = 0;
  let twoFourGroups = 0;
  for (let c = 0; c < channels; c++) {
    let channelZeros = 0;
    if (words) {
      const end = ((c + 1) * inner) / 4;
      for (let j = (c * inner) / 4; j < end; j++) {
        const groupZeros = Math.imul(words[j], 0x01010101) >>> 24;
        channelZeros += groupZeros;
        if (groupZeros >= 2) twoFourGroups++;
      }
      groups += inner / 4;
    } else {
      let inGroup = 0;
      let groupZeros = 0;
      for (let o = 0; o < outer; o++) {
        const base = (o * channels + c) * inner;
        for (let k = 0; k < inner; k++) {
          const z = flags[base + k];
          channelZeros += z;
          groupZeros += z;
          if (++inGroup === 4) {
            groups++;
            if (groupZeros >= 2) twoFourGroups++;
            inGroup = 0;
            groupZeros = 0;
          }
        }
      }
    }
    zeros += channelZeros;
    if (channelZeros === outer * inner) zeroChannels++;
  }
  return { params, zeros, zeroChannels, channels, groups, twoFourGroups };
}
