// Tests webview/colors.ts: the colour scales of the measured metrics (sensitivity against the accuracy budget,
// latency against the slowest layer, grey when not measured) and their legends, with the theme's chart colours
// stubbed so that the expected colours are the hand-computed mixes of known endpoints.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';

const theme: Record<string, string> = {
  '--vscode-charts-green': '#00ff00', '--vscode-charts-yellow': '#ffff00', '--vscode-charts-red': '#ff0000',
  '--vscode-charts-blue': '#0000ff', '--vscode-charts-orange': '#ff8000', '--vscode-charts-purple': '#800080',
  '--vscode-disabledForeground': '#808080',
};

let colors: typeof import('../../webview/colors');

before(async () => {
  Object.assign(globalThis, { document: { body: {} }, getComputedStyle: () => ({ getPropertyValue: (name: string) => theme[name] ?? '' }) });
  colors = await import('../../webview/colors');
  colors.resetPalette();
});

const layer = { sparsity: 0, bits: 32 };

test('sensitivity: green at no drop, yellow at half the budget, red from the budget on; grey when not measured', () => {
  const c = (value: number | undefined) => colors.layerColor(layer, 'sensitivity', { value, full: 2 });
  assert.equal(c(0), 'rgb(0, 255, 0)');
  assert.equal(c(1), 'rgb(255, 255, 0)', '1 pp of a 2 pp budget');
  assert.equal(c(0.5), 'rgb(128, 255, 0)', 'halfway from green to yellow (127.5 rounds up)');
  assert.equal(c(2), 'rgb(255, 0, 0)');
  assert.equal(c(7), 'rgb(255, 0, 0)', 'past the budget stays red');
  assert.equal(c(undefined), '#808080');
  assert.equal(colors.layerColor(layer, 'sensitivity'), '#808080', 'no measurements at all');
});

test('latency: blue for the fastest, red for the slowest layer, grey when not measured', () => {
  const c = (value: number | undefined) => colors.layerColor(layer, 'latency', { value, full: 4 });
  assert.equal(c(0), 'rgb(0, 0, 255)');
  assert.equal(c(2), 'rgb(128, 0, 128)');
  assert.equal(c(4), 'rgb(255, 0, 0)');
  assert.equal(c(undefined), '#808080');
});

test('measured legends: the scale\'s stops and "not measured"; only "not measured" without data', () => {
  assert.deepEqual(colors.legend('sensitivity', [32], 1).map((e) => e.label), ['no drop', '0.5 pp (½ budget)', '≥ 1 pp (budget)', 'not measured']);
  assert.deepEqual(colors.legend('latency', [32], 4).map((e) => [e.label, e.color]), [
    ['0 ms', 'rgb(0, 0, 255)'], ['2 ms', 'rgb(128, 0, 128)'], ['4 ms', 'rgb(255, 0, 0)'], ['not measured', '#808080'],
  ]);
  assert.deepEqual(colors.legend('latency', [32]), [{ label: 'not measured', color: '#808080' }]);
  assert.equal(colors.legend('bits', [32, 8]).length, 2, 'bits legend unchanged');
});
