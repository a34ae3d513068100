// Layer colours from the active theme's chart colours, so that light, dark and high-contrast themes all work:
// sparsity runs from the theme's blue (dense) to its orange (sparse); bit-widths get one chart colour each;
// sensitivity runs green (harmless) → yellow (half the accuracy budget) → red (the budget or more), as the Problems
// severities do; latency runs blue (fast) → red (the slowest layer); layers not measured are grey.
import { interpolateRgb } from 'd3';
import type { LayerStats } from '../src/core/analysis/report';
import { formatMs } from '../src/protocol';
import type { ColorBy, Measured } from './state';

interface Palette {
  dense: string; sparse: string; bits: Record<number, string>; otherBits: string;
  good: string; warn: string; bad: string; fast: string; slow: string; notMeasured: string;
}

let palette: Palette | undefined;

function themeColor(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

function currentPalette(): Palette {
  palette ??= {
    dense: themeColor('--vscode-charts-blue', '#3794ff'),
    sparse: themeColor('--vscode-charts-orange', '#d18616'),
    bits: {
      32: themeColor('--vscode-charts-blue', '#3794ff'),
      16: themeColor('--vscode-charts-purple', '#b180d7'),
      8: themeColor('--vscode-charts-green', '#89d185'),
      4: themeColor('--vscode-charts-orange', '#d18616'),
      2: themeColor('--vscode-charts-red', '#f14c4c'),
    },
    otherBits: themeColor('--vscode-charts-yellow', '#cca700'),
    good: themeColor('--vscode-charts-green', '#89d185'),
    warn: themeColor('--vscode-charts-yellow', '#cca700'),
    bad: themeColor('--vscode-charts-red', '#f14c4c'),
    fast: themeColor('--vscode-charts-blue', '#3794ff'),
    slow: themeColor('--vscode-charts-red', '#f14c4c'),
    notMeasured: themeColor('--vscode-disabledForeground', '#808080'),
  };
  return palette;
}

/** Called when the theme changes (VS Code swaps the body's theme class). */
export function resetPalette(): void {
  palette = undefined;
}

function sparsityColor(sparsity: number): string {
  const p = currentPalette();
  return interpolateRgb(p.dense, p.sparse)(Math.min(1, Math.max(0, sparsity)));
}

function bitsColor(bits: number): string {
  const p = currentPalette();
  return p.bits[bits] ?? p.otherBits;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** `fraction` of the accuracy budget a layer costs: green at 0, yellow at half, red from the whole budget on. */
function sensitivityColor(fraction: number): string {
  const p = currentPalette();
  const t = clamp01(fraction);
  return t <= 0.5 ? interpolateRgb(p.good, p.warn)(t * 2) : interpolateRgb(p.warn, p.bad)((t - 0.5) * 2);
}

/** `fraction` of the slowest layer's time. */
function latencyColor(fraction: number): string {
  const p = currentPalette();
  return interpolateRgb(p.fast, p.slow)(clamp01(fraction));
}

/** Layers the chosen measurement does not cover. */
export function notMeasuredColor(): string {
  return currentPalette().notMeasured;
}

/** A layer's colour; for sensitivity and latency, `measured` is its value on that metric's scale (see ViewState.measuredValue). */
export function layerColor(layer: Pick<LayerStats, 'sparsity' | 'bits'>, by: ColorBy, measured?: Measured): string {
  switch (by) {
    case 'sparsity': return sparsityColor(layer.sparsity);
    case 'bits': return bitsColor(layer.bits);
    case 'sensitivity':
    case 'latency': {
      if (measured?.value === undefined) return notMeasuredColor();
      const fraction = measured.value / measured.full;
      return by === 'sensitivity' ? sensitivityColor(fraction) : latencyColor(fraction);
    }
  }
}

/** The colour of nodes without weights in the graph. */
export function neutralColor(): string {
  return themeColor('--vscode-editorWidget-background', '#252526');
}

/**
 * Legend entries for the current metric; `scale` is the end of a measured metric's scale (the budget in pp, the
 * slowest layer's ms), absent when nothing is measured.
 */
export function legend(by: ColorBy, bitsPresent: number[], scale?: number): { label: string; color: string }[] {
  if (by === 'bits') return bitsPresent.map((b) => ({ label: `${b}-bit`, color: bitsColor(b) }));
  if (by === 'sparsity') return [0, 0.25, 0.5, 0.75, 1].map((s) => ({ label: `${s * 100}%`, color: sparsityColor(s) }));
  const notMeasured = { label: 'not measured', color: notMeasuredColor() };
  if (scale === undefined) return [notMeasured];
  const pp = (x: number) => `${Number(x.toPrecision(3))} pp`;
  const entries = by === 'sensitivity'
    ? [{ label: 'no drop', color: sensitivityColor(0) }, { label: `${pp(scale / 2)} (½ budget)`, color: sensitivityColor(0.5) }, { label: `≥ ${pp(scale)} (budget)`, color: sensitivityColor(1) }]
    : [0, 0.5, 1].map((f) => ({ label: formatMs(f * scale), color: latencyColor(f) }));
  return [...entries, notMeasured];
}
