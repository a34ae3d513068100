// The measurements an ONNX Lens editor shows on its model's layers and header: the newest current results of the
// ResultStore for the file (sensitivity, profile, bench), the profile of an edited document's current bytes (kept
// here, in memory: the store keys by file), and the fit on the onnxLens.device setting (computed by the worker).
import * as vscode from 'vscode';
import { DeviceProfileError, findAnyDevice, userDeviceProfiles } from '../../core/device/userProfiles';
import type { DeviceProfile } from '../../core/device/profiles';
import type { DeviceFitMark, Measurements } from '../../protocol';
import { accuracyBudget } from '../bench/benchSettings';
import type { Analysis } from '../editor/analysisProtocol';
import type { OnnxDocument } from '../editor/onnxDocument';
import type { ResultStore } from '../results/resultStore';
import { measurementsOf, type ProfileJson } from './measurementMarks';

/** The onnxLens.device setting resolved against the built-in and the user's profiles. */
function chosenDevice(): { name: string; device?: DeviceProfile; error?: string } | undefined {
  const config = vscode.workspace.getConfiguration('onnxLens');
  const name = config.get<string>('device', '').trim();
  if (!name) return undefined;
  try {
    const device = findAnyDevice(name, userDeviceProfiles(config.get('deviceProfiles', []), 'onnxLens.deviceProfiles'));
    return device ? { name, device } : { name, error: `no device profile named '${name}' (onnxLens.device): built-in nano33ble, esp32-s3, esp32-s3-psram, rpi4, or one of onnxLens.deviceProfiles` };
  } catch (e) {
    if (e instanceof DeviceProfileError) return { name, error: e.message };
    throw e;
  }
}

/** User profiles are built anew at each read of the settings: a fit is cached by the profile's content. */
const deviceKey = (d: DeviceProfile) => JSON.stringify(d);

export class EditorMeasurements {
  /** profiles of edited documents' current models: valid while the document shows the analysis they measured */
  private readonly editedProfiles = new WeakMap<OnnxDocument, { analysis: Analysis; result: ProfileJson; time: number }>();
  private readonly fits = new WeakMap<OnnxDocument, { analysis: Analysis; device: string; mark: DeviceFitMark | { device: string; error: string } }>();

  constructor(private readonly results: ResultStore | undefined) {}

  /** Keeps the profile of `analysis`, the document's model with unsaved edits. */
  keepEditedProfile(document: OnnxDocument, analysis: Analysis, result: ProfileJson): void {
    this.editedProfiles.set(document, { analysis, result, time: Date.now() });
  }

  /** After a save the file holds the edited model: its profile (if it measured these bytes) becomes the file's. */
  async saved(document: OnnxDocument): Promise<void> {
    const s = document.state;
    const edited = this.editedProfiles.get(document);
    if (!edited || s.kind !== 'ready' || edited.analysis !== s.analysis || document.uri.scheme !== 'file') return;
    this.editedProfiles.delete(document);
    await this.results?.add('profile', document.uri.fsPath, edited.result);
  }

  /** The fit is cached per shown model and device; the results are read from the store each time (they may have gone stale). */
  hasFit(document: OnnxDocument): boolean {
    const s = document.state;
    const chosen = chosenDevice();
    const known = this.fits.get(document);
    return !chosen?.device || (s.kind === 'ready' && known?.analysis === s.analysis && known.device === deviceKey(chosen.device));
  }

  /**
   * The document's measurements; `withFit` computes the device fit in the worker when it is not cached (otherwise the
   * cached one, or none yet, is sent).
   */
  async of(document: OnnxDocument, withFit: boolean): Promise<Measurements | undefined> {
    const s = document.state;
    if (s.kind !== 'ready') return undefined;
    const edited = this.editedProfiles.get(document);
    const measurements = measurementsOf({
      file: document.uri.scheme === 'file' ? document.uri.fsPath : undefined,
      dirty: document.isDirty,
      budget: accuracyBudget(),
      latest: (kind, model) => this.results?.latest(kind, model),
      editedProfile: edited?.analysis === s.analysis ? edited : undefined,
    });
    const fit = await this.fit(document, s.analysis, withFit);
    if (fit) measurements.fit = fit;
    return measurements;
  }

  private async fit(document: OnnxDocument, analysis: Analysis, compute: boolean): Promise<Measurements['fit']> {
    const chosen = chosenDevice();
    if (!chosen) return undefined;
    if (!chosen.device) return { device: chosen.name, error: chosen.error ?? 'unknown device' };
    const known = this.fits.get(document);
    const device = chosen.device;
    if (known?.analysis === analysis && known.device === deviceKey(device)) return known.mark;
    if (!compute) return undefined;
    const mark = await document.fit(device).catch((e: Error) => ({ device: device.name, error: e.message }));
    if (document.state.kind === 'ready' && document.state.analysis === analysis) this.fits.set(document, { analysis, device: deviceKey(device), mark });
    return mark;
  }
}
