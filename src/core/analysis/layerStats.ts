// Zero counting for one weight tensor: element-wise sparsity, all-zero output channels (structured pruning,
// Li et al. 2017 "Pruning Filters for Efficient ConvNets"), and 2:4 semi-structured compliance (NVIDIA
// Ampere sparse tensor cores: at least 2 zeros in every group of 4 consecutive weights of the reduction axis).
// A quantized weight is zero when it equals its zero-point (a pruned int8 weight sits there, not at 0).
import { DataType } from '../onnx/dtypes';
import { numel } from '../onnx/shapes';
import { FloatZeroGroups } from './floatZeroGroups';
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

/** WebAssembly memory is 32-bit: larger tensors are counted in JS. */
const SIMD_MAX_ELEMENTS = 2 ** 28;
/** Piece size for weights read from disk: small enough to stay in cache between the read and the count. */
const CHUNK_BYTES = 1 << 20;

/**
 * Zero statistics of many weights, with buffers kept from tensor to tensor so that a model's weights are
 * scanned without allocating (and page-faulting) a decoded copy of each.
 */
export class ZeroCounter {
  private flagBuffer = new ArrayBuffer(0);
  private alignBuffer = new ArrayBuffer(0);
  /** made at the first float32 tensor; null where WebAssembly SIMD is missing */
  private simdCounter: FloatZeroGroups | null | undefined;

  /** `largestBytes`: the largest tensor to come, so that buffers are allocated once rather than grown. */
  constructor(private largestBytes = 0) {}

  /** Zero statistics of a stored weight whose output channels run along `outAxis`. */
  weightStats(w: StoredWeight, outAxis: number): ZeroStats {
    const bits = floatBits[w.tensor.dataType];
    if (!bits || !w.valuesAreTensor || w.perChannel || w.zeroPoint(0) !== 0) {
      return flagStats(this.valueZeroFlags(w.values(), w.perChannel ? w.zeroPoint : w.zeroPoint(0)), w.shape, outAxis);
    }
    const params = numel(w.shape);
    const { channels, inner, outer } = channelLayout(w.shape, outAxis, params);
    const wholeGroups = outer === 1 && inner % 4 === 0;
    const simd = wholeGroups && bits.bytes === 4 && params <= SIMD_MAX_ELEMENTS ? this.simd() : null;
    if (simd) {
      // Weights read from disk come a few channels at a time into a small buffer that stays in cache.
      const channelBytes = inner * 4;
      const stats = { params, zeros: 0, zeroChannels: 0, channels, groups: params / 4, twoFourGroups: 0 };
      w.rawChunks(Math.max(1, Math.floor(CHUNK_BYTES / channelBytes)) * channelBytes, (n) => simd.buffer(n), (bytes) => {
        simd.place(bytes);
        const chunk = simd.stats(bytes.length / channelBytes, inner);
        stats.zeros += chunk.zeros;
        stats.zeroChannels += chunk.zeroChannels;
        stats.twoFourGroups += chunk.twoFourGroups;
      });
      return stats;
    }
    const words = this.words(w.rawBytes((n) => this.scratch(n)), bits.bytes);
    if (wholeGroups) return contiguousFloatStats(words, bits.magnitude, channels, inner);
    const flags = this.flags(words.length);
    // (x & magnitude) − 1 is negative only for x = ±0, so its sign bit is the flag.
    for (let i = 0; i < flags.length; i++) flags[i] = ((words[i] & bits.magnitude) - 1) >>> 31;
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

  private simd(): FloatZeroGroups | null {
    if (this.simdCounter === undefined) this.simdCounter = FloatZeroGroups.create() ?? null;
    return this.simdCounter;
  }

  private flags(n: number): Uint8Array {
    if (this.flagBuffer.byteLength < n) this.flagBuffer = new ArrayBuffer(n);
    return new Uint8Array(this.flagBuffer, 0, n);
  }

  /** A reused, word-aligned buffer of `n` bytes (its pages are touched once, not once per tensor). */
  private scratch(n: number): Uint8Array {
    if (this.alignBuffer.byteLength < n) this.alignBuffer = new ArrayBuffer(Math.max(n, this.largestBytes));
    return new Uint8Array(this.alignBuffer, 0, n);
  }

  /** Little-endian float bits as words, in place when aligned (raw_data inside protobuf often is not), else copied. */
  private words(bytes: Uint8Array, elemBytes: 2 | 4): Int32Array | Uint16Array {
    let src = bytes;
    if (bytes.byteOffset % elemBytes !== 0) {
      src = this.scratch(bytes.length);
      src.set(bytes);
    }
    const n = bytes.length / elemBytes;
    return elemBytes === 4 ? new Int32Array(src.buffer, src.byteOffset, n) : new Uint16Array(src.buffer, src.byteOffset, n);
  }
}

/** Output channels along `axis` of a tensor of `shape` with `params` elements; each is `outer` runs of `inner`. */
function channelLayout(shape: readonly number[], outAxis: number, params: number): { channels: number; inner: number; outer: number } {
  const axis = shape.length ? Math.min(outAxis, shape.length - 1) : 0;
  const channels = shape.length ? shape[axis] : 1;
  const inner = numel(shape.slice(axis + 1));
  return { channels, inner, outer: channels && inner ? params / (channels * inner) : 0 };
}

/**
 * Statistics of float bits whose channels are each one contiguous run of whole 2:4 groups (conv kernels, Gemm
 * with transB), counted in one pass with no per-element flags (float32 goes to FloatZeroGroups where it can).
 */
function contiguousFloatStats(words: Int32Array | Uint16Array, magnitude: number, channels: number, inner: number): ZeroStats {
  let zeros = 0;
  let zeroChannels = 0;
  let twoFourGroups = 0;
  for (let c = 0; c < channels; c++) {
    let channelZeros = 0;
    const end = (c + 1) * inner;
    for (let i = c * inner; i < end; i += 4) {
      const groupZeros = (((words[i] & magnitude) - 1) >>> 31) + (((words[i + 1] & magnitude) - 1) >>> 31)
        + (((words[i + 2] & magnitude) - 1) >>> 31) + (((words[i + 3] & magnitude) - 1) >>> 31);
      channelZeros += groupZeros;
      if (groupZeros >= 2) twoFourGroups++;
    }
    zeros += channelZeros;
    if (channelZeros === inner) zeroChannels++;
  }
  return { params: words.length, zeros, zeroChannels, channels, groups: (channels * inner) / 4, twoFourGroups };
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
  const { channels, inner, outer } = channelLayout(shape, outAxis, params);
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
