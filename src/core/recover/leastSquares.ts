// Damped least squares through the normal equations: (XᵀX + λI) w = Xᵀy solved by Cholesky in Float64
// (ridge regression; λ relative to the mean diagonal, as GPTQ/OBC damp their Hessians).

/** Normal equations of a linear fit accumulated batch by batch: gram = Σ x xᵀ (n×n), cross = Σ x yᵀ (n×m). */
export class NormalEquations {
  readonly gram: Float64Array;
  readonly cross: Float64Array;
  rows = 0;

  constructor(readonly n: number, readonly m: number) {
    this.gram = new Float64Array(n * n);
    this.cross = new Float64Array(n * m);
  }

  /**
   * Adds one sample: x has n features, the m targets are y[at .. at + m - 1]. Only the upper triangle of
   * gram is accumulated.
   */
  add(x: ArrayLike<number>, y: ArrayLike<number>, at = 0): void {
    const { n, m, gram, cross } = this;
    for (let i = 0; i < n; i++) {
      const xi = x[i];
      if (xi === 0) continue;
      const row = i * n;
      for (let j = i; j < n; j++) gram[row + j] += xi * x[j];
      const crow = i * m;
      for (let k = 0; k < m; k++) cross[crow + k] += xi * y[at + k];
    }
    this.rows++;
  }

  /** Copies the upper triangle of gram to the lower one (call once after the last add). */
  symmetrize(): void {
    const { n, gram } = this;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) gram[j * n + i] = gram[i * n + j];
  }
}

/** Cholesky factor L (lower, row-major) of the n×n SPD matrix a; null when a pivot is not positive. */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) return null;
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  return l;
}

/** Solves L Lᵀ x = b in place for one right-hand side. */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * b[k];
    b[i] = s / l[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
  return b;
}

/**
 * Factors gram[idx, idx] + λI with λ = damping · mean(diag); raises λ tenfold until the factorization
 * succeeds (a feature that is always zero makes the plain gram singular).
 */
export function factorDamped(gram: Float64Array, n: number, idx: readonly number[], damping: number): Float64Array {
  const k = idx.length;
  const sub = new Float64Array(k * k);
  let diag = 0;
  for (let a = 0; a < k; a++) {
    const row = idx[a] * n;
    for (let b = 0; b < k; b++) sub[a * k + b] = gram[row + idx[b]];
    diag += sub[a * k + a];
  }
  const mean = k > 0 && diag > 0 ? diag / k : 1;
  for (let lambda = Math.max(damping, 1e-10) * mean; ; lambda *= 10) {
    const damped = sub.slice();
    for (let a = 0; a < k; a++) damped[a * k + a] += lambda;
    const l = cholesky(damped, k);
    if (l) return l;
    if (!Number.isFinite(lambda)) throw new Error('least squares: the normal equations are not finite');
  }
}

/**
 * Ridge solution restricted to the features `idx` for target column `col`:
 * w = (G[idx,idx] + λI)⁻¹ C[idx, col]. Returns the weights in the order of `idx`.
 */
export function solveRestricted(eq: NormalEquations, idx: readonly number[], col: number, damping: number, factor?: Float64Array): Float64Array {
  const l = factor ?? factorDamped(eq.gram, eq.n, idx, damping);
  const { cross, m } = eq;
  const b = new Float64Array(idx.length);
  for (let a = 0; a < idx.length; a++) b[a] = cross[idx[a] * m + col];
  return choleskySolve(l, idx.length, b);
}
