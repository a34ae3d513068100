// The document's edit history: the model bytes (and analysis) after each edit, so that undo and redo show a
// state without computing it again. A memory budget bounds the bytes kept; a state whose bytes were dropped is
// rebuilt from the nearest earlier state that has them by replaying the steps in between. No vscode import.
import type { EditStep } from './editSteps';

export interface ModelState<A> {
  /** the edit that produced this state (none for the model as opened) */
  step?: EditStep;
  bytes?: Uint8Array;
  analysis?: A;
}

/** Rebuilds the bytes after `step` from the bytes before it (runs the CLI; `revertToOriginal` is handled here). */
export type Replay = (before: Uint8Array, step: EditStep) => Promise<Uint8Array>;

export class EditStack<A> {
  /** states[0] is the model as opened, states[k] the model after the k-th edit */
  private states: ModelState<A>[];
  private position = 0;

  /** `loadBase` reads the model as opened when its bytes are not in memory (a document restored from a backup). */
  constructor(base: ModelState<A>, private readonly budgetBytes: number, private readonly loadBase: () => Promise<Uint8Array>) {
    this.states = [base];
  }

  /** Restores a history: the steps, and the bytes (and analysis) of the last state only. */
  static restored<A>(steps: EditStep[], current: ModelState<A>, budgetBytes: number, loadBase: () => Promise<Uint8Array>): EditStack<A> {
    const s = new EditStack<A>({}, budgetBytes, loadBase);
    s.states.push(...steps.map((step, k) => (k === steps.length - 1 ? { ...current, step } : { step })));
    s.position = steps.length;
    return s;
  }

  get index(): number { return this.position; }
  get length(): number { return this.states.length; }
  get current(): ModelState<A> { return this.states[this.position]; }
  state(k: number): ModelState<A> { return this.states[k]; }

  /** The edits that lead to the current state. */
  get steps(): EditStep[] { return this.states.slice(1, this.position + 1).map((s) => s.step!); }

  /** Adds a state after the current one; states that were undone are gone (as VS Code drops its redo entries). */
  push(step: EditStep, bytes: Uint8Array, analysis?: A): number {
    this.states.length = this.position + 1;
    this.states.push({ step, bytes, analysis });
    this.position++;
    this.enforceBudget();
    return this.position;
  }

  /** Moves to state `k` (undo / redo). Returns false if no such state exists. */
  goTo(k: number): boolean {
    if (k < 0 || k >= this.states.length) return false;
    this.position = k;
    return true;
  }

  /** Bytes held in memory, each buffer counted once (keep-in-float edits share their predecessor's bytes). */
  heldBytes(): number {
    const seen = new Set<Uint8Array>();
    for (const s of this.states) if (s.bytes) seen.add(s.bytes);
    let n = 0;
    for (const b of seen) n += b.byteLength;
    return n;
  }

  /** The bytes of state `k`, rebuilt from the nearest earlier state in memory if they were dropped. */
  async bytes(k: number, replay: Replay): Promise<Uint8Array> {
    let j = k;
    while (j > 0 && !this.states[j].bytes) j--;
    if (!this.states[0].bytes) this.states[0].bytes = await this.loadBase();
    let bytes = this.states[j].bytes!;
    for (let i = j + 1; i <= k; i++) {
      const step = this.states[i].step!;
      bytes = step.kind === 'revertToOriginal' ? this.states[0].bytes! : step.kind === 'keepFloat' ? bytes : await replay(bytes, step);
      this.states[i].bytes = bytes;
    }
    this.enforceBudget(k);
    return bytes;
  }

  /** Drops the bytes of the states farthest from the current one until the rest fit the budget; the original and the current state stay. */
  private enforceBudget(keep = this.position): void {
    const candidates = this.states.map((_, k) => k).filter((k) => k !== 0 && k !== this.position && k !== keep && this.states[k].bytes)
      .sort((a, b) => Math.abs(b - this.position) - Math.abs(a - this.position) || a - b);
    for (const k of candidates) {
      if (this.heldBytes() <= this.budgetBytes) return;
      this.states[k].bytes = undefined;
    }
  }
}
