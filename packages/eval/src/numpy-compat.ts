/**
 * Bit-level stand-ins for the few NumPy operations MMSA's metricsTop.py relies on.
 * MMSA feeds float32 tensors, so every element-wise step is rounded back to float32
 * (Math.fround after one double op is exact for + − × ÷: doubles carry > 2·24+2 bits).
 */
// Kept hand-written: MMSA's published figures come from NumPy's float32 rounding and tie-breaking,
// which no JavaScript numerics library promises to reproduce.

export const f32 = Math.fround;

/** np.rint: round half to even (JS Math.round rounds half up). */
export function rintHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x);
  // Math.round sends k+0.5 to k+1; NumPy sends it to the even neighbour.
  if (r - x === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

/**
 * np.round(x, decimals) for float64 (also what Python's round() does on a numpy.float64):
 * multiply, rint, divide — not Python's correctly rounded decimal round(float, n).
 */
export function npRound(x: number, decimals = 4): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** decimals;
  return rintHalfEven(x * f) / f;
}

const PW_BLOCKSIZE = 128;

/**
 * NumPy's pairwise summation (loops_utils.h `pairwise_sum`), used by np.sum/np.mean on a contiguous axis.
 * `round` is f32 for float32 arrays and identity for float64.
 */
export function pairwiseSum(a: ArrayLike<number>, round: (x: number) => number = (x) => x, start = 0, n = a.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res = round(res + a[start + i]!);
    return res;
  }
  if (n <= PW_BLOCKSIZE) {
    const r = new Array<number>(8);
    for (let j = 0; j < 8; j++) r[j] = a[start + j]!;
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] = round(r[j]! + a[start + i + j]!);
    }
    let res = round(round(round(r[0]! + r[1]!) + round(r[2]! + r[3]!)) + round(round(r[4]! + r[5]!) + round(r[6]! + r[7]!)));
    for (; i < n; i++) res = round(res + a[start + i]!);
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return round(pairwiseSum(a, round, start, n2) + pairwiseSum(a, round, start + n2, n - n2));
}

/** np.mean of a float32 array: float32 pairwise sum, then a float32 division by the count. */
export function meanFloat32(a: ArrayLike<number>): number {
  return f32(pairwiseSum(a, f32) / a.length);
}

/** np.mean of a float64 array. */
export function meanFloat64(a: ArrayLike<number>): number {
  return pairwiseSum(a) / a.length;
}

/** np.clip with Python-float bounds on a float32 array (bounds are cast to float32 first). */
export function clipF32(x: number, lo: number, hi: number): number {
  const l = f32(lo);
  const h = f32(hi);
  return x < l ? l : x > h ? h : x;
}

/**
 * np.corrcoef(x, y)[0][1]: cov() casts to float64, centres with the pairwise mean, forms the 2×2 Gram
 * matrix (BLAS in NumPy: summation order there is the library's, so the last bit may differ), scales by
 * 1/(n−1), divides by the square roots of the diagonal and clips to [−1, 1]. NaN when either is constant.
 */
export function corrcoef(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  const mx = meanFloat64(x);
  const my = meanFloat64(y);
  const dx = new Float64Array(n);
  const dy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    dx[i] = x[i]! - mx;
    dy[i] = y[i]! - my;
  }
  const prod = (a: Float64Array, b: Float64Array): number => {
    const p = new Float64Array(n);
    for (let i = 0; i < n; i++) p[i] = a[i]! * b[i]!;
    return pairwiseSum(p);
  };
  const fact = 1 / (n - 1);
  const cxy = prod(dx, dy) * fact;
  const sx = Math.sqrt(prod(dx, dx) * fact);
  const sy = Math.sqrt(prod(dy, dy) * fact);
  const c = cxy / sx / sy;
  if (Number.isNaN(c)) return NaN;
  return Math.min(1, Math.max(-1, c));
}
