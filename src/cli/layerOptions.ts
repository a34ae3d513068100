// The layer-selection flags of the commands that change layers (prune, quantize): --layers and --exclude.
import type { Command } from 'commander';
import { parseSelectors, type LayerSelection } from '../core/select';

export interface LayerFlags {
  layers?: string[];
  exclude?: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** `excluded` says what happens to the layers --exclude names. */
export function addLayerOptions(cmd: Command, excluded: string): Command {
  return cmd
    .option('--layers <selectors>', 'only these layers: comma-separated names, globs, op types (op:Conv); repeatable', collect, [])
    .option('--exclude <selectors>', `${excluded} (same forms); repeatable`, collect, []);
}

export const layerSelection = (flags: LayerFlags): LayerSelection => ({ layers: parseSelectors(flags.layers), exclude: parseSelectors(flags.exclude) });
