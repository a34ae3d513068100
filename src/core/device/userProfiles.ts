// User device profiles (the onnxLens.deviceProfiles setting, `onnx-lens fit --devices FILE.json`): the sizes and
// MAC rate of a board the built-in profiles do not cover, in the units datasheets use (KB, MHz, MACs per second).
import { deviceProfiles, findDevice, type ComputeDtype, type DeviceProfile, type MacRate } from './profiles';

/** One profile as a user writes it: sizes in KiB; the MAC rate per second, or per cycle with the clock. */
export interface UserDeviceProfile {
  name: string;
  title?: string;
  cpu?: string;
  /** storage for the weights in KiB; null when there is no practical limit */
  flashKB: number | null;
  /** memory for the activations (the tensor arena) in KiB */
  ramKB: number;
  clockMHz?: number;
  cores?: number;
  /** one rate for every kernel, or per kernel type */
  macsPerSecond?: number | Partial<Record<ComputeDtype, number>>;
  /** with clockMHz: effective MACs per cycle per core */
  macsPerCycle?: number | Partial<Record<ComputeDtype, number>>;
  notes?: string[];
}

export class DeviceProfileError extends Error {}

const KiB = 1024;
const DTYPES: readonly ComputeDtype[] = ['int8', 'fp32'];
const KEYS = new Set(['name', 'title', 'cpu', 'flashKB', 'ramKB', 'clockMHz', 'cores', 'macsPerSecond', 'macsPerCycle', 'notes']);

/**
 * The profiles in `value` (a list, as the setting and the --devices file hold them), checked field by field;
 * throws DeviceProfileError naming the profile and the field. `where` prefixes messages ("devices.json").
 */
export function userDeviceProfiles(value: unknown, where = 'device profiles'): DeviceProfile[] {
  if (!Array.isArray(value)) throw new DeviceProfileError(`${where}: expected a list of profiles such as [{ "name": "my-board", "flashKB": 2048, "ramKB": 512, "macsPerSecond": 1e8 }], got ${describe(value)}`);
  const seen = new Set<string>();
  return value.map((entry, i) => {
    const profile = userDeviceProfile(entry, `${where}[${i}]`);
    if (seen.has(profile.name.toLowerCase())) throw new DeviceProfileError(`${where}[${i}]: a second profile named '${profile.name}'`);
    seen.add(profile.name.toLowerCase());
    return profile;
  });
}

function userDeviceProfile(entry: unknown, at: string): DeviceProfile {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new DeviceProfileError(`${at}: expected an object, got ${describe(entry)}`);
  const p = entry as Record<string, unknown>;
  const name = typeof p.name === 'string' && p.name.trim() ? p.name.trim() : undefined;
  if (!name) throw new DeviceProfileError(`${at}: "name" must be a non-empty string, got ${describe(p.name)}`);
  const here = `${at} ('${name}')`;
  const unknown = Object.keys(p).filter((k) => !KEYS.has(k));
  if (unknown.length) throw new DeviceProfileError(`${here}: unknown field ${unknown.map((k) => `"${k}"`).join(', ')} (fields: ${[...KEYS].join(', ')})`);
  const positive = (key: string, optional = false): number | undefined => {
    const v = p[key];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new DeviceProfileError(`${here}: "${key}" must be a number > 0, got ${describe(v)}`);
    return v;
  };
  const text = (key: string): string | undefined => {
    if (p[key] === undefined) return undefined;
    if (typeof p[key] !== 'string') throw new DeviceProfileError(`${here}: "${key}" must be a string, got ${describe(p[key])}`);
    return p[key] as string;
  };
  if (p.flashKB === undefined) throw new DeviceProfileError(`${here}: "flashKB" is missing (a number of KiB, or null for no practical limit)`);
  const flashKB = p.flashKB === null ? null : positive('flashKB')!;
  const ramKB = positive('ramKB')!;
  const clockMHz = positive('clockMHz', true);
  const cores = p.cores === undefined ? 1 : positive('cores')!;
  if (!Number.isInteger(cores)) throw new DeviceProfileError(`${here}: "cores" must be a whole number, got ${cores}`);
  const perDtype = (key: 'macsPerSecond' | 'macsPerCycle'): Record<ComputeDtype, number> | undefined => {
    const v = p[key];
    if (v === undefined) return undefined;
    if (typeof v === 'number') return { int8: positive(key)!, fp32: v };
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DeviceProfileError(`${here}: "${key}" must be a number or { "int8": n, "fp32": n }, got ${describe(v)}`);
    const rates = v as Record<string, unknown>;
    const out = {} as Record<ComputeDtype, number>;
    for (const dtype of DTYPES) {
      const r = rates[dtype];
      if (typeof r !== 'number' || !Number.isFinite(r) || r <= 0) throw new DeviceProfileError(`${here}: "${key}.${dtype}" must be a number > 0, got ${describe(r)}`);
      out[dtype] = r;
    }
    return out;
  };
  const perSecond = perDtype('macsPerSecond');
  const perCycle = perDtype('macsPerCycle');
  if (perSecond && perCycle) throw new DeviceProfileError(`${here}: give "macsPerSecond" or "macsPerCycle" (with "clockMHz"), not both`);
  if (!perSecond && !perCycle) throw new DeviceProfileError(`${here}: needs its MAC rate: "macsPerSecond" (e.g. 64e6), or "macsPerCycle" with "clockMHz"`);
  if (perCycle && clockMHz === undefined) throw new DeviceProfileError(`${here}: "macsPerCycle" needs "clockMHz"`);
  const clockHz = clockMHz === undefined ? null : clockMHz * 1e6;
  const macRate = Object.fromEntries(DTYPES.map((dtype): [ComputeDtype, MacRate] => [dtype, perSecond
    ? { macsPerCycle: clockHz ? perSecond[dtype] / (clockHz * cores) : 0, macsPerSecond: perSecond[dtype], basis: `user profile: ${perSecond[dtype].toExponential(2)} ${dtype} MAC/s as stated in the profile` }
    : { macsPerCycle: perCycle![dtype], basis: `user profile: ${perCycle![dtype]} ${dtype} MAC/cycle/core × ${clockMHz} MHz × ${cores} core${cores > 1 ? 's' : ''} as stated in the profile` }])) as Record<ComputeDtype, MacRate>;
  const notes = p.notes === undefined ? [] : Array.isArray(p.notes) && p.notes.every((n) => typeof n === 'string') ? p.notes as string[]
    : (() => { throw new DeviceProfileError(`${here}: "notes" must be a list of strings`); })();
  return {
    name, aliases: [], title: text('title') ?? name, cpu: text('cpu') ?? 'user profile', clockHz, cores,
    flashBytes: flashKB === null ? null : Math.round(flashKB * KiB), ramBytes: Math.round(ramKB * KiB), macRate, notes,
  };
}

/** `name` among the user's profiles first (they may shadow a built-in one), then the built-in ones. */
export function findAnyDevice(name: string, user: readonly DeviceProfile[]): DeviceProfile | undefined {
  return findDevice(name, user) ?? findDevice(name, deviceProfiles);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}
