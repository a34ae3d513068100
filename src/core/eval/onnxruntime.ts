// onnxruntime-node loads its native library when required (about 0.1 s): it is required on first use, so
// commands that never run a model (inspect, --help) start without it.
import type * as Ort from 'onnxruntime-node';

/** The onnxruntime-node module (Node caches it after the first call). */
export function onnxruntime(): typeof Ort {
  return require('onnxruntime-node') as typeof Ort;
}
