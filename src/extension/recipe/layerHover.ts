// The Markdown a recipe hover shows for a layer selector: the statistics of the layers it picks, as the
// editor's layer table shows them (op, weight shape, params, zeros, sparsity, bits, scheme, MACs).
import type { LayerStats } from '../../core/analysis/report';
import { formatCount, formatPercent } from '../../protocol';
import type { SelectorMatch } from './layerMatch';

/** Rows listed for a selector that matches many layers; the totals cover all of them. */
export const HOVER_ROWS = 8;

const HEADER = ['Layer', 'Op', 'Weight shape', 'Params', 'Zeros', 'Sparsity', 'Bits', 'Scheme', 'MACs'];

const count = (n: number) => n.toLocaleString('en-US');
/** Table cells: a `|` would end the cell, even inside a code span. */
const cell = (s: string) => s.replace(/\|/g, '\\|');
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

function mainWeightShape(l: LayerStats): string {
  const w = l.weights.find((x) => x.role === 'weight') ?? l.weights[0];
  return w ? (w.shape.length ? w.shape.join('×') : 'scalar') : '—';
}

function scheme(l: LayerStats): string {
  if (l.scheme === 'float' || l.scheme === 'fp16' || l.scheme === 'bf16' || l.scheme === 'fp8') return l.scheme;
  const granularity = l.blockSize ? `block ${l.blockSize}` : l.perChannel ? 'per-channel' : 'per-tensor';
  return `${l.scheme} ${granularity}`;
}

/** MACs of 0 mean the shapes could not be inferred (e.g. a symbolic input size). */
const macs = (n: number) => (n > 0 ? formatCount(n) : '?');

function row(l: LayerStats): string[] {
  return [code(l.name), l.op, mainWeightShape(l), count(l.params), count(l.zeros), formatPercent(l.sparsity), String(l.bits), scheme(l), macs(l.macs)];
}

function table(layers: readonly LayerStats[]): string {
  const lines = [HEADER, HEADER.map(() => '---'), ...layers.map(row)];
  return lines.map((cells) => `| ${cells.map(cell).join(' | ')} |`).join('\n');
}

/** `selector` as written in the recipe; `modelName` is the model file's base name. */
export function selectorHover(selector: string, match: SelectorMatch, modelName: string): string {
  const { layers } = match;
  if (layers.length === 0) {
    return match.nodes > 0
      ? `${code(selector)} matches ${match.nodes} node${match.nodes === 1 ? '' : 's'} of ${code(modelName)} without weights (nothing to prune or quantize)`
      : `${code(selector)} matches no node of ${code(modelName)}`;
  }
  if (layers.length === 1) {
    const l = layers[0];
    return `**${code(l.name)}** · ${l.op} in ${code(modelName)}\n\n${table(layers)}`;
  }
  const params = layers.reduce((s, l) => s + l.params, 0);
  const zeros = layers.reduce((s, l) => s + l.zeros, 0);
  const totalMacs = layers.reduce((s, l) => s + l.macs, 0);
  const unknownMacs = layers.some((l) => l.macs === 0);
  const summary = [
    `**${code(selector)}** matches ${layers.length} layers of ${code(modelName)}`,
    `${count(params)} params`,
    `${count(zeros)} zeros (${formatPercent(params ? zeros / params : 0)} sparsity)`,
    `${unknownMacs ? '≥ ' : ''}${formatCount(totalMacs)} MACs`,
  ].join(' · ');
  const shown = layers.slice(0, HOVER_ROWS);
  const more = layers.length - shown.length;
  return `${summary}\n\n${table(shown)}${more > 0 ? `\n\n… and ${more} more` : ''}`;
}
