// The extension's settings, read where they are used so that changes apply without a reload.
import * as vscode from 'vscode';

/** Models larger than this (in bytes) are analysed only after the user confirms. */
export function largeModelThresholdBytes(): number {
  return Math.max(0, largeModelThresholdMB()) * 1024 * 1024;
}

export function largeModelThresholdMB(): number {
  return vscode.workspace.getConfiguration('onnxLens').get<number>('largeModelThresholdMB', 500);
}

/** Memory for the model bytes of undo / redo states (older states beyond it are recomputed from their edits). */
export function undoMemoryBytes(): number {
  return Math.max(0, vscode.workspace.getConfiguration('onnxLens').get<number>('undoMemoryMB', 1024)) * 1024 * 1024;
}
