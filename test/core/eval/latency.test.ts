import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDataset } from '../../../src/core/eval/datasets';
import { measureLatencies, percentile } from '../../../src/core/eval/latency';
import { writeNpy } from '../../../src/core/eval/npy';
import { openSession } from '../../../src/core/eval/runner';
import { MNIST_MODEL, tempDir } from '../../fixtures/mnist';
import path from 'node:path';

test('percentile interpolates between order statistics like numpy.percentile', () => {
  // numpy.percentile([1, 2, 3, 4, 10], [50, 95]) → [3.0, 8.8]
  assert.equal(percentile([10, 1, 4, 2, 3], 50), 3);
  assert.ok(Math.abs(percentile([10, 1, 4, 2, 3], 95) - 8.8) < 1e-12);
  assert.equal(percentile([7], 95), 7);
});

test('measures batch-1 latency of a real model: the requested number of positive timings', async () => {
  const dir = tempDir();
  writeNpy(path.join(dir, 'x.npy'), new Float32Array(2 * 784).fill(0.5), [2, 1, 28, 28]);
  const model = await openSession(MNIST_MODEL, { intraOpThreads: 1 });
  const data = await openDataset(path.join(dir, 'x.npy'), { inputShape: model.inputShape });
  const [lat] = await measureLatencies([model], data, { warmup: 2, runs: 20 });
  assert.equal(lat.runs, 20);
  assert.ok(lat.p50 > 0 && lat.p95 >= lat.p50, JSON.stringify(lat));
  const both = await measureLatencies([model, model], data, { warmup: 1, runs: 7, rounds: 3 });
  assert.deepEqual(both.map((l) => l.runs), [7, 7]);
  assert.ok(both.every((l) => l.p50 > 0 && l.p95 >= l.p50));
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(measureLatencies([model], data, { signal: ac.signal }), { name: 'AbortError' });
});
