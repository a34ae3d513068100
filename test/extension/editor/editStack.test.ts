// Tests src/extension/editor/editStack.ts: undo / redo move between states without computing, and beyond the
// memory budget the oldest states' bytes are dropped and rebuilt by replaying exactly the steps in between.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EditStack, type Replay } from '../../../src/extension/editor/editStack';
import type { EditStep } from '../../../src/extension/editor/editSteps';

/** A "model" of `n` bytes all equal to `v`. */
const model = (v: number, n = 100) => new Uint8Array(n).fill(v);
/** A step that adds `by` to every byte (what the replay below does), so any state's content is known by hand. */
const add = (by: number): EditStep => ({ kind: 'quantize', options: { by }, label: `+${by}` });

function counter(): { replay: Replay; calls: number[] } {
  const r = { calls: [] as number[], replay: (async (before: Uint8Array, step: EditStep) => {
    const by = (step as unknown as { options: { by: number } }).options.by;
    r.calls.push(by);
    return before.map((b) => b + by);
  }) as Replay };
  return r;
}

const noBase = async () => { throw new Error('the base is in memory'); };

test('undo and redo return the stored states without replaying', async () => {
  const s = new EditStack<string>({ bytes: model(0), analysis: 'a0' }, 1e9, noBase);
  s.push(add(1), model(1), 'a1');
  s.push(add(2), model(3), 'a2');
  const { replay, calls } = counter();
  assert.ok(s.goTo(1));
  assert.equal(s.current.analysis, 'a1');
  assert.equal((await s.bytes(1, replay))[0], 1);
  assert.ok(s.goTo(2));
  assert.equal((await s.bytes(2, replay))[0], 3);
  assert.ok(s.goTo(0));
  assert.equal((await s.bytes(0, replay))[0], 0);
  assert.deepEqual(calls, [], 'nothing recomputed');
  assert.equal(s.goTo(3), false, 'no state beyond the last');
});

test('an edit after undo drops the undone states', () => {
  const s = new EditStack<string>({ bytes: model(0) }, 1e9, noBase);
  s.push(add(1), model(1));
  s.push(add(2), model(3));
  s.goTo(1);
  s.push(add(5), model(6));
  assert.equal(s.length, 3);
  assert.deepEqual(s.steps.map((x) => x.label), ['+1', '+5']);
});

test('beyond the budget, far states lose their bytes and are rebuilt from the nearest kept one', async () => {
  // 100-byte models, a 350-byte budget: the original, the current and at most one more fit with room to spare.
  const s = new EditStack<string>({ bytes: model(0) }, 350, noBase);
  for (const by of [1, 2, 3, 4]) s.push(add(by), (await s.bytes(s.index, counter().replay)).map((b) => b + by));
  assert.ok(s.heldBytes() <= 350, `held ${s.heldBytes()}`);
  assert.ok(s.state(0).bytes && s.state(4).bytes, 'the original and the current state are kept');
  assert.equal(s.state(1).bytes, undefined, 'the oldest edit was dropped first');
  const { replay, calls } = counter();
  s.goTo(2);
  const bytes = await s.bytes(2, replay);
  assert.equal(bytes[0], 1 + 2, 'state 2 = original + 1 + 2');
  assert.ok(calls.length >= 1 && calls.length <= 2 && calls.at(-1) === 2, `replayed ${calls}`);
});

test('keep-in-float and revert-to-original edits share bytes and need no replay', async () => {
  const s = new EditStack<string>({ bytes: model(0) }, 1e9, noBase);
  s.push(add(1), model(1));
  const before = s.current.bytes!;
  s.push({ kind: 'keepFloat', layers: ['conv1'], label: 'keep' }, before);
  assert.equal(s.heldBytes(), 200, 'one buffer per distinct model');
  s.push({ kind: 'revertToOriginal', label: 'revert' }, s.state(0).bytes!);
  assert.equal(s.heldBytes(), 200);
});

test('a restored history has the last state only; earlier ones come from the original on disk by replay', async () => {
  let reads = 0;
  const s = EditStack.restored<string>([add(1), add(2)], { bytes: model(3), analysis: 'restored' }, 1e9, async () => { reads++; return model(0); });
  assert.equal(s.index, 2);
  assert.equal(s.current.analysis, 'restored');
  const { replay, calls } = counter();
  assert.equal((await s.bytes(2, replay))[0], 3, 'the current state needs nothing');
  assert.deepEqual(calls, []);
  s.goTo(1);
  assert.equal((await s.bytes(1, replay))[0], 1);
  assert.equal(reads, 1);
  assert.deepEqual(calls, [1]);
});
