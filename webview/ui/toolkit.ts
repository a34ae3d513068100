// The only module that touches @vscode/webview-ui-toolkit (archived upstream): swapping it for
// @vscode-elements/elements or plain --vscode-* styled HTML changes this file alone.
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeCheckbox, vsCodeTextField } from '@vscode/webview-ui-toolkit';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeTextField());

export function button(label: string, testId: string, onClick: () => void, appearance: 'primary' | 'secondary' = 'secondary'): HTMLElement {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.setAttribute('appearance', appearance);
  b.dataset.testid = testId;
  b.addEventListener('click', onClick);
  return b;
}

export function checkbox(label: string, testId: string, onChange: (checked: boolean) => void): HTMLElement {
  const c = document.createElement('vscode-checkbox') as HTMLElement & { checked: boolean };
  c.textContent = label;
  c.dataset.testid = testId;
  c.addEventListener('change', () => onChange(c.checked));
  return c;
}

/** A text field; `onInput` gets the value on every keystroke, `onEnter` on Enter (with shift for backwards). */
export function textField(placeholder: string, testId: string, onInput: (value: string) => void, onEnter?: (value: string, backwards: boolean) => void): HTMLElement {
  const t = document.createElement('vscode-text-field') as HTMLElement & { value: string };
  t.setAttribute('placeholder', placeholder);
  t.setAttribute('aria-label', placeholder);
  t.dataset.testid = testId;
  t.addEventListener('input', () => onInput(t.value ?? ''));
  t.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') onEnter?.(t.value ?? '', e.shiftKey);
    // Ctrl/Cmd+Z and +Y undo the typing here: VS Code's webview frame would forward them as the editor's undo
    // (of a model edit) if they reached the window.
    if ((e.ctrlKey || e.metaKey) && ['z', 'y'].includes(e.key.toLowerCase())) e.stopPropagation();
  });
  return t;
}

/** A view's frame, appended to `parent`: a labelled <section> whose first child is the view's row of controls. */
export function viewSection(parent: HTMLElement, className: string, label: string): { section: HTMLElement; controls: HTMLElement } {
  const section = document.createElement('section');
  section.className = className;
  section.setAttribute('aria-label', label);
  const controls = document.createElement('div');
  controls.className = 'controls';
  section.append(controls);
  parent.append(section);
  return { section, controls };
}

/** A count shown among a view's controls ("3 of 40 layers"). */
export function countLabel(testId: string): HTMLElement {
  const count = document.createElement('span');
  count.className = 'count';
  count.dataset.testid = testId;
  return count;
}

/** A native <select> styled with the dropdown theme colours (testable with a plain selectOption). */
export function select<T extends string>(label: string, testId: string, options: { value: T; label: string }[], value: T, onChange: (v: T) => void): HTMLElement {
  const wrap = document.createElement('label');
  wrap.className = 'select';
  wrap.append(`${label} `);
  const s = document.createElement('select');
  s.dataset.testid = testId;
  for (const o of options) s.add(new Option(o.label, o.value, false, o.value === value));
  s.addEventListener('change', () => onChange(s.value as T));
  wrap.append(s);
  return wrap;
}
