// Header: the model's totals — params, file size, MACs, overall sparsity, bit-width mix.
import type { ModelSummary } from '../../src/core/analysis/report';
import { formatBitsMix, formatBytes, formatCount, formatPercent } from '../../src/protocol';

export function renderSummary(parent: HTMLElement, m: ModelSummary, fileName: string): void {
  const header = document.createElement('header');
  header.className = 'summary';
  const title = document.createElement('h1');
  title.textContent = fileName;
  title.title = m.path;
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = `opset ${m.opset} · ${m.nodes} nodes · ${m.layers} weighted layers${m.producer ? ` · ${m.producer}` : ''}`;
  title.append(' ', meta);
  header.append(title);
  const dl = document.createElement('dl');
  const item = (testId: string, label: string, text: string, raw: string, detail?: string) => {
    const div = document.createElement('div');
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.dataset.testid = testId;
    dd.dataset.value = raw;
    dd.textContent = text;
    if (detail) dd.title = detail;
    div.append(dt, dd);
    dl.append(div);
  };
  item('summary-params', 'Params', formatCount(m.params), String(m.params), m.params.toLocaleString('en-US'));
  item('summary-size', 'Size', formatBytes(m.bytes), String(m.bytes), `${m.bytes.toLocaleString('en-US')} bytes (weights ${formatBytes(m.weightBytes)})`);
  item('summary-macs', 'MACs', formatCount(m.macs), String(m.macs), m.macs.toLocaleString('en-US') +
    (m.macsUnknownLayers ? `\n${m.macsUnknownLayers} layers have unknown MACs (shapes could not be inferred) and count as 0` : ''));
  item('summary-sparsity', 'Sparsity', formatPercent(m.sparsity), String(m.sparsity), `${m.zeros.toLocaleString('en-US')} zeros`);
  item('summary-bits', 'Bits', formatBitsMix(m.bitsMix), JSON.stringify(m.bitsMix),
    Object.entries(m.bitsMix).map(([b, n]) => `${b}-bit: ${n.toLocaleString('en-US')} params`).join('\n'));
  header.append(dl);
  parent.append(header);
}
