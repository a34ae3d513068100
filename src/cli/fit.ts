// `onnx-lens fit MODEL --device NAME [--devices FILE.json] [--json] [--shape NAME=DIMS] [--strict]`: weights vs
// flash, activation arena vs RAM, estimated latency and a verdict for an edge device (built-in, or a user profile
// from --devices). A model that does not fit exits 0 unless --strict (3).
import fs from 'node:fs';
import type { Command } from 'commander';
import { fitModel, type FitReport } from '../core/device/fit';
import { deviceProfiles, macsPerSecond, type DeviceProfile } from '../core/device/profiles';
import { DeviceProfileError, findAnyDevice, userDeviceProfiles } from '../core/device/userProfiles';
import { UsageError } from '../core/errors';
import { openModelLazy } from '../core/onnx/read';
import { formatCount } from '../protocol';
import { bytesText, parseShapes } from './inspect';

/** Exit code of `fit --strict` when the model does not fit (or cannot be shown to). */
export const NO_FIT_EXIT = 3;

const thousands = (n: number) => n.toLocaleString('en-US');
const rate = (n: number) => `${formatCount(n)} MAC/s`;

const clock = (hz: number | null) => (hz === null ? '' : hz >= 1e9 ? `${hz / 1e9} GHz` : `${hz / 1e6} MHz`);

function deviceTable(profiles: readonly DeviceProfile[]): string {
  const rows = profiles.map((d) => [
    d.name, d.title, `${d.cpu} ${clock(d.clockHz)}`.trim(),
    d.flashBytes === null ? 'no limit' : bytesText(d.flashBytes), bytesText(d.ramBytes),
    rate(macsPerSecond(d, 'int8')), rate(macsPerSecond(d, 'fp32')),
  ]);
  return table(['device', 'board', 'cpu', 'flash', 'RAM', 'int8', 'fp32'], rows);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
  const line = (cells: string[]) => cells.map((s, k) => s.padEnd(widths[k])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join('\n');
}

function usage(need: number, capacity: number | null, atLeast = false): string {
  if (capacity === null) return 'ok (no practical limit)';
  const pct = `${((need / capacity) * 100).toFixed(1)} %`;
  return need > capacity ? `exceeds by ${bytesText(need - capacity)} (${pct})` : atLeast ? `unknown (at least ${pct})` : `ok (${pct} used)`;
}

function formatFit(r: FitReport): string {
  const d = r.device;
  const dtype = r.computeDtype === 'mixed' ? 'int8' : r.computeDtype;
  const resources = table(['resource', 'needed', 'available', ''], [
    ['flash', `${thousands(r.weightBytes)} B`, r.flashBytes === null ? '–' : `${thousands(r.flashBytes)} B`, usage(r.weightBytes, r.flashBytes)],
    ['RAM', `${r.arenaComplete ? '' : '≥ '}${thousands(r.arenaBytes)} B`, `${thousands(r.ramBytes)} B`, usage(r.arenaBytes, r.ramBytes, !r.arenaComplete)],
  ]);
  const verdict = r.fits === true ? 'fits' : r.fits === false ? `does not fit: ${r.reasons.join('; ')}` : `undecided: ${r.reasons.join('; ')}`;
  return [
    `model      ${r.model}`,
    `device     ${d.name} — ${d.title}, ${d.cpu}${d.clockHz === null ? '' : ` at ${d.clockHz / 1e6} MHz`}`,
    '',
    resources,
    '',
    `weights    as stored (int8 = 1 byte, float32 = 4)`,
    `arena      ${r.arenaBasis}`,
    `MACs       ${r.macs === null ? 'unknown' : `${formatCount(r.macs)} (${thousands(r.macs)})`}, ${r.computeDtype} kernels at ${rate(d.macsPerSecond[dtype])}${r.computeDtype === 'mixed' ? ' (int8) / ' + rate(d.macsPerSecond.fp32) + ' (fp32)' : ''}`,
    `latency    ${r.estimatedLatencyMs === null ? 'unknown' : `~${r.estimatedLatencyMs.toPrecision(3)} ms`} (estimate: MACs / MAC rate; ${d.macRate[dtype].basis})`,
    `verdict    ${verdict}`,
    ...r.notes.map((n) => `note       ${n}`),
  ].join('\n');
}

function deviceOrThrow(name: string | undefined, user: readonly DeviceProfile[]): DeviceProfile {
  const choices = [...user, ...deviceProfiles].map((d) => d.name).join(', ');
  if (!name) throw new UsageError(undefined, `fit needs --device NAME (one of ${choices}; --device list describes them)`);
  const device = findAnyDevice(name, user);
  if (!device) throw new UsageError(undefined, `unknown device '${name}' (choices: ${choices})`);
  return device;
}

/** The user profiles of `--devices FILE.json` (a JSON list, as the onnxLens.deviceProfiles setting). */
function readDeviceFile(file: string | undefined): DeviceProfile[] {
  if (file === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(file, code === 'ENOENT' ? 'device profiles file not found' : code ? `cannot read the device profiles (${code})` : `not JSON: ${(e as Error).message}`);
  }
  try {
    return userDeviceProfiles(value, 'profile');
  } catch (e) {
    if (e instanceof DeviceProfileError) throw new UsageError(file, e.message);
    throw e;
  }
}

export function register(program: Command): void {
  program
    .command('fit')
    .description('Does the model fit an edge device? Weights vs flash, activation arena vs RAM, estimated latency, verdict.')
    .argument('[model]', 'the .onnx file')
    .option('--device <name>', `device profile (${deviceProfiles.map((d) => d.name).join(', ')}, or one of --devices), or 'list'`)
    .option('--devices <file.json>', 'user device profiles: a JSON list of { name, flashKB (null: no limit), ramKB, macsPerSecond | macsPerCycle + clockMHz, … }')
    .option('--list-devices', 'print the device profiles and exit')
    .option('--json', 'print the result as one JSON object')
    .option('--strict', `exit ${NO_FIT_EXIT} when the model does not fit or the fit cannot be decided`)
    .option('--shape <name=dims>', 'concrete shape of a graph input with symbolic dims (repeatable), e.g. x=1,3,224,224',
      (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action((file: string | undefined, opts: { device?: string; devices?: string; listDevices?: boolean; json?: boolean; strict?: boolean; shape: string[] }) => {
      const user = readDeviceFile(opts.devices);
      if (opts.listDevices || opts.device?.trim().toLowerCase() === 'list') {
        const all = [...user, ...deviceProfiles];
        process.stdout.write(opts.json ? `${JSON.stringify(all)}\n` : `${deviceTable(all)}\n`);
        return;
      }
      const device = deviceOrThrow(opts.device, user);
      if (!file) throw new UsageError(undefined, 'fit needs a MODEL (onnx-lens fit MODEL --device NAME)');
      const shapes = parseShapes(opts.shape);
      const model = openModelLazy(file);
      let report: FitReport;
      try {
        const inputs = new Set(model.proto.graph!.input.map((v) => v.name));
        for (const name of Object.keys(shapes)) {
          if (!inputs.has(name)) throw new UsageError(file, `--shape names '${name}', which is not an input of the model (inputs: ${[...inputs].join(', ')})`);
        }
        report = fitModel(model, device, { inputShapes: shapes });
      } finally {
        model.close();
      }
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${formatFit(report)}\n`);
      if (opts.strict && report.fits !== true) process.exitCode = NO_FIT_EXIT;
    });
}
