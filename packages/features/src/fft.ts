/**
 * Exact complex DFT of any length by mixed-radix Cooley–Tukey decimation in time.
 * Whisper's n_fft is 400 = 2^4 · 5^2; zero-padding to 512 would change the spectrum, so the
 * transform must be a true length-400 DFT. Radices come from the length's prime factors; a
 * large prime factor simply falls back to an O(p) inner loop per output (still exact).
 */
export class Fft {
  readonly n: number;
  private readonly factors: number[];
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly scratchRe: Float64Array;
  private readonly scratchIm: Float64Array;
  private readonly tmpRe: Float64Array;
  private readonly tmpIm: Float64Array;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`FFT length must be a positive integer, got ${n}`);
    this.n = n;
    this.factors = factorize(n);
    this.cos = new Float64Array(n);
    this.sin = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const a = (-2 * Math.PI * k) / n;
      this.cos[k] = Math.cos(a);
      this.sin[k] = Math.sin(a);
    }
    this.scratchRe = new Float64Array(n);
    this.scratchIm = new Float64Array(n);
    const maxP = Math.max(1, ...this.factors);
    this.tmpRe = new Float64Array(maxP);
    this.tmpIm = new Float64Array(maxP);
  }

  /** Forward DFT X[k] = Σ x[t]·e^{-2πikt/n}. Inputs are not modified; outputs must not alias inputs. */
  transform(inRe: ArrayLike<number>, inIm: ArrayLike<number> | null, outRe: Float64Array, outIm: Float64Array): void {
    this.rec(inRe, inIm, 0, 1, outRe, outIm, 0, this.n, 0);
  }

  private rec(
    inRe: ArrayLike<number>,
    inIm: ArrayLike<number> | null,
    inOff: number,
    stride: number,
    outRe: Float64Array,
    outIm: Float64Array,
    outOff: number,
    n: number,
    level: number,
  ): void {
    if (n === 1) {
      outRe[outOff] = inRe[inOff];
      outIm[outOff] = inIm ? inIm[inOff] : 0;
      return;
    }
    const p = this.factors[level];
    const m = n / p;
    // Sub-transforms of the p decimated subsequences land contiguously: Y_q at outOff + q·m.
    for (let q = 0; q < p; q++) {
      this.rec(inRe, inIm, inOff + q * stride, stride * p, outRe, outIm, outOff + q * m, m, level + 1);
    }
    const tw = this.n / n; // twiddle index step: W_n^e = W_N^{e·N/n}
    const N = this.n;
    const tr = this.tmpRe;
    const ti = this.tmpIm;
    for (let j = 0; j < m; j++) {
      for (let q = 0; q < p; q++) {
        tr[q] = outRe[outOff + q * m + j];
        ti[q] = outIm[outOff + q * m + j];
      }
      for (let r = 0; r < p; r++) {
        const k = j + r * m;
        let sr = tr[0];
        let si = ti[0];
        for (let q = 1; q < p; q++) {
          const e = ((q * k) % n) * tw;
          const c = this.cos[e % N];
          const s = this.sin[e % N];
          sr += tr[q] * c - ti[q] * s;
          si += tr[q] * s + ti[q] * c;
        }
        this.scratchRe[r] = sr;
        this.scratchIm[r] = si;
      }
      for (let r = 0; r < p; r++) {
        outRe[outOff + j + r * m] = this.scratchRe[r];
        outIm[outOff + j + r * m] = this.scratchIm[r];
      }
    }
  }
}

function factorize(n: number): number[] {
  const out: number[] = [];
  // Radix 4 first halves the number of passes for the power-of-two part.
  while (n % 4 === 0) {
    out.push(4);
    n /= 4;
  }
  for (let p = 2; n > 1; p++) {
    while (n % p === 0) {
      out.push(p);
      n /= p;
    }
    if (p * p > n && n > 1) {
      out.push(n);
      break;
    }
  }
  return out;
}

/** Reference O(n²) DFT; used by tests and as a readable definition of what Fft computes. */
export function naiveDft(re: ArrayLike<number>, im: ArrayLike<number> | null): { re: Float64Array; im: Float64Array } {
  const n = re.length;
  const oRe = new Float64Array(n);
  const oIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * ((k * t) % n)) / n;
      const c = Math.cos(a);
      const s = Math.sin(a);
      const xi = im ? im[t] : 0;
      sr += re[t] * c - xi * s;
      si += re[t] * s + xi * c;
    }
    oRe[k] = sr;
    oIm[k] = si;
  }
  return { re: oRe, im: oIm };
}
