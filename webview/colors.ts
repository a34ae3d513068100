// Layer colours from the active theme's chart colours, so that light, dark and high-contrast themes all work:
// sparsity runs from the theme's blue (dense) to its orange (sparse); bit-widths get one chart colour each.
import { interpolateRgb } from 'd3';
import type { LayerStats } from '../src/core/analysis/report';
import type { ColorBy } from './state';

interface Palette { dense: string; sparse: string; bits: Record<number, string>; otherBits: string }

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

export function layerColor(layer: Pick<LayerStats, 'sparsity' | 'bits'>, by: ColorBy): string {
  return by === 'sparsity' ? sparsityColor(layer.sparsity) : bitsColor(layer.bits);
}

/** The colour of nodes without weights in the graph. */
export function neutralColor(): string {
  return themeColor('--vscode-editorWidget-background', '#252526');
}

/** Legend entries for the current metric. */
export function legend(by: ColorBy, bitsPresent: number[]): { label: string; color: string }[] {
  if (by === 'bits') return bitsPresent.map((b) => ({ label: `${b}-bit`, color: bitsColor(b) }));
  return [0, 0.25, 0.5, 0.75, 1].map((s) => ({ label: `${s * 100}%`, color: sparsityColor(s) }));
}
