// Runs `fn` once the frame holding the current DOM/canvas changes has been painted (rAF, then a task).
export function afterPaint(fn: () => void): void {
  requestAnimationFrame(() => setTimeout(fn, 0));
}
