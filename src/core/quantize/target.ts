// Quantization targets: the CPUs an int8 model will run on decide whether full-range int8 weights are exact.
// onnxruntime's U8S8 kernels on x86 without VNNI (VPMADDUBSW) add pairs of uint8 × int8 products in 16 bits
// and saturate above 32,767; 7-bit weights (ORT's reduce_range, [-64, 64]) keep every pair ≤ 255 · 128 =
// 32,640 while running the same fast kernels. VNNI x86 and ARM accumulate in 32 bits and take full int8
// (onnxruntime quantization guide, "When and why do I need to try U8U8?"; Optimum's avx512_vnni / arm64 presets).
import { create, StringStringEntryProtoSchema, type ModelProto } from '../onnx/proto';

export const QUANT_TARGETS = ['portable', 'x86-vnni', 'arm64'] as const;
export type QuantTarget = (typeof QUANT_TARGETS)[number];

export const DEFAULT_TARGET: QuantTarget = 'portable';

/** What each target is for (the CLI's --help and the README say the same). */
export const TARGET_CPUS: Record<QuantTarget, string> = {
  portable: 'any CPU (x86 with or without VNNI, ARM): 7-bit weights, no 16-bit saturation',
  'x86-vnni': 'x86 with AVX-512 VNNI, AVX-VNNI or AMX (Intel Cascade Lake / Alder Lake and newer, AMD Zen 4 and newer): full int8 weights',
  arm64: 'ARM64 (phones, Apple silicon, Graviton, Raspberry Pi): full int8 weights',
};

/** Does this target need 7-bit weights (ORT's reduce_range)? */
export function reducedRange(target: QuantTarget): boolean {
  return target === 'portable';
}

/** Metadata keys written into quantized models. */
export const TARGET_KEY = 'onnx_lens.quantization_target';
export const WEIGHT_RANGE_KEY = 'onnx_lens.int8_weight_range';

/** Records the target (and the int8 weight range it implies) in the model's metadata_props, replacing earlier values. */
export function recordTarget(proto: ModelProto, target: QuantTarget): void {
  const entries = { [TARGET_KEY]: target, [WEIGHT_RANGE_KEY]: reducedRange(target) ? '[-64, 64]' : '[-127, 127]' };
  proto.metadataProps = proto.metadataProps.filter((p) => !(p.key in entries));
  for (const [key, value] of Object.entries(entries)) proto.metadataProps.push(create(StringStringEntryProtoSchema, { key, value }));
}

/** The target recorded in a model, if any. */
export function recordedTarget(proto: ModelProto): string | undefined {
  return proto.metadataProps.find((p) => p.key === TARGET_KEY)?.value;
}
