// Typed errors carrying the file and the reason, so the CLI can print one line and the extension a notification.

export class OnnxLensError extends Error {
  constructor(readonly file: string | undefined, readonly reason: string) {
    super(file ? `${file}: ${reason}` : reason);
    this.name = new.target.name;
  }
}

/** The bytes are not a valid ONNX model (truncated, corrupt, not protobuf, inconsistent tensors). */
export class OnnxFormatError extends OnnxLensError {}

/** An external-data `location` that would read outside the model's folder. */
export class UnsafeExternalDataPath extends OnnxLensError {}

/** A tensor's external data file is missing or too short. */
export class MissingExternalData extends OnnxLensError {}

/** An operator (or attribute combination) this code cannot handle. */
export class UnsupportedOperator extends OnnxLensError {}

/** A data set (images, .npy) that cannot be read or does not fit the model. */
export class DatasetError extends OnnxLensError {}

/** Bad command-line or recipe arguments. */
export class UsageError extends OnnxLensError {}
