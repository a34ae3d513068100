// Batch-1 latency of several onnxruntime sessions timed in interleaved rounds (A×runs, B×runs, A×runs, …), so
// that load from other jobs on a shared machine falls on all of them alike and their ratios stay meaningful.
import * as ort from 'onnxruntime-node';

export const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/** p50 in ms per session, over `rounds` × `runs` timed runs each after `warmup` untimed ones, on one fixed input. */
export async function interleavedP50(sessions, inputShape, { rounds, runs, warmup = 5 }) {
  const x = new Float32Array(inputShape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i));
  const feeds = sessions.map((s) => ({ [s.inputNames[0]]: new ort.Tensor('float32', x, inputShape) }));
  for (let i = 0; i < sessions.length; i++) for (let w = 0; w < warmup; w++) await sessions[i].run(feeds[i]);
  const times = sessions.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < sessions.length; i++) {
      for (let k = 0; k < runs; k++) {
        const t0 = performance.now();
        await sessions[i].run(feeds[i]);
        times[i].push(performance.now() - t0);
      }
    }
  }
  return times.map(median);
}
