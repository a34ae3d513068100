// Zero counting for one weight tensor: element-wise sparsity, all-zero output channels (structured pruning,
// Li et al. 2017 "Pruning Filters for Efficient ConvNets"), and 2:4 semi-structured compliance (NVIDIA
// Ampere sparse tensor cores: at least 2 zeros in every group of 4 consecutive weights of the reduction axis).
// A quantized weight is zero when it equals its zero-point (a pruned int8 weight sits there, not at 0).
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

/** Zero statistics of a stored weight whose output channels run along `outAxis`. */
export function weightZeroStats(w: StoredWeight, outAxis: number): ZeroStats {
  return zeroStats(w.values(), w.shape, outAxis, w.perChannel ? w.zeroPoint : w.zeroPoint(0));
}

/**
 * Counts the elements of `values` (a tensor of `shape`) equal to `zeroPoint` — one number, or one per element
 * index. Each output channel's slice is walked in memory order (the other axes flattened), which is the
 * reduction order 2:4 kernels group by.
 */
export function zeroStats(values: ArrayLike<number>, shape: readonly number[], outAxis: number, zeroPoint: number | ((i: number) => number) = 0): ZeroStats {
  const params = values.length;
  const uniform = typeof zeroPoint === 'number';
  const axis = shape.length ? Math.min(outAxis, shape.length - 1) : 0;
  const channels = shape.length ? shape[axis] : 1;
  const inner = numel(shape.slice(axis + 1));
  const outer = channels && inner ? params / (channels * inner) : 0;
  let zeros = 0;
  let zeroChannels = 0;
  let groups = 0;
  let twoFourGroups = 0;
  for (let c = 0; c < channels; c++) {
    let channelZeros = 0;
    let inGroup = 0;
    let groupZeros = 0;
    for (let o = 0; o < outer; o++) {
      const base = (o * channels + c) * inner;
      for (let k = 0; k < inner; k++) {
        const i = base + k;
        const z = values[i] === (uniform ? zeroPoint : zeroPoint(i)) ? 1 : 0;
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
    zeros += channelZeros;
    if (channelZeros === outer * inner) zeroChannels++;
  }
  return { params, zeros, zeroChannels, channels, groups, twoFourGroups };
}
