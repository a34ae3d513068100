// Tests src/extension/editor/backupFile.ts: a hot-exit backup gives back the exact model bytes and edits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBackup, encodeBackup } from '../../../src/extension/editor/backupFile';
import type { EditStep } from '../../../src/extension/editor/editSteps';
import { smallNet } from '../../e2e/models';

test('a backup restores the model bytes and the edit list', () => {
  const model = smallNet({ pruneConv1: true });
  const steps: EditStep[] = [
    { kind: 'quantize', options: { mode: 'weight', bits: 8, layers: ['name:conv1'] }, label: 'Quantize conv1' },
    { kind: 'keepFloat', layers: ['fc'], label: 'Keep fc' },
    { kind: 'prune', options: { sparsity: 0.5, scope: 'layer', reconstruct: true }, calibration: '/data/calib', label: 'Prune' },
  ];
  const back = decodeBackup(encodeBackup({ steps, model }));
  assert.deepEqual(back.steps, steps);
  assert.deepEqual(Buffer.from(back.model), Buffer.from(model));
});

test('a file without the header is a plain model; a damaged header is an error', () => {
  const model = smallNet();
  assert.deepEqual(decodeBackup(model).steps, []);
  assert.equal(decodeBackup(model).model, model);
  const b = encodeBackup({ steps: [{ kind: 'revertToOriginal', label: 'r' }], model });
  assert.throws(() => decodeBackup(b.subarray(0, 30)), /truncated/);
  const bad = encodeBackup({ steps: [{ kind: 'explode' } as unknown as EditStep], model });
  assert.throws(() => decodeBackup(bad), /malformed/);
});
