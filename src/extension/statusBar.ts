// Status bar item for the active ONNX Lens editor: size · sparsity · bits.
import * as vscode from 'vscode';
import type { ModelSummary } from '../core/analysis/report';
import { formatBitsMix, formatBytes, formatCount, formatPercent } from '../protocol';

export class ModelStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('onnxLens.model', vscode.StatusBarAlignment.Right, 100);
  /** The editor panel whose model is shown. */
  owner: unknown;

  constructor() {
    this.item.name = 'ONNX Lens Model';
  }

  show(owner: unknown, m: ModelSummary): void {
    this.owner = owner;
    this.item.text = `$(symbol-structure) ${formatBytes(m.bytes)} · ${formatPercent(m.sparsity)} sparse · ${formatBitsMix(m.bitsMix)}`;
    this.item.tooltip = `${m.path}\n${formatCount(m.params)} parameters in ${m.layers} layers, ${formatCount(m.zeros)} zeros, ${formatCount(m.macs)} MACs`;
    this.item.show();
  }

  hide(): void {
    this.owner = undefined;
    this.item.hide();
  }

  dispose(): void {
    this.item.dispose();
  }
}
