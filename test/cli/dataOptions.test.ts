import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { addDataOptions, preprocessFromFlags } from '../../src/cli/dataOptions';
import { UsageError } from '../../src/core/errors';

test('the data flags parse into preprocessing options', () => {
  const cmd = addDataOptions(new Command('x').exitOverride());
  cmd.parse(['--size', '224x200', '--resize-shorter', '256', '--bgr', '--layout', 'nhwc', '--mean', '0.485,0.456,0.406', '--std', '0.5', '--labels', 'y.npy'], { from: 'user' });
  const flags = cmd.opts();
  assert.equal(flags.labels, 'y.npy');
  assert.deepEqual(preprocessFromFlags(flags), {
    size: [224, 200], resizeShorter: 256, bgr: true, layout: 'nhwc', mean: [0.485, 0.456, 0.406], std: [0.5],
  });
  assert.deepEqual(preprocessFromFlags({ size: '28', grayscale: true }), { size: [28, 28], grayscale: true });
});

test('bad values are usage errors that say what is expected', () => {
  assert.throws(() => preprocessFromFlags({ size: '0x5' }), (e: Error) => e instanceof UsageError && /--size must be HxW/.test(e.message));
  assert.throws(() => preprocessFromFlags({ mean: '0.1,0.2' }), /--mean must be one number or three/);
  assert.throws(() => preprocessFromFlags({ std: 'a' }), /--std must be one number or three/);
  assert.throws(() => preprocessFromFlags({ resizeShorter: '-3' }), /--resize-shorter must be a positive integer/);
  const cmd = addDataOptions(new Command('x').exitOverride().configureOutput({ writeErr: () => undefined }));
  assert.throws(() => cmd.parse(['--layout', 'chw'], { from: 'user' }), /Allowed choices are nchw, nhwc/);
});
