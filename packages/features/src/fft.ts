/**
 * Exact complex DFT of any length by mixed-radix Cooley–Tukey decimation in time.
 * Whisper's n_fft is 400 = 2^4 · 5^2; zero-padding to 512 would change the spectrum, so the
 * transform must be a true length-400 DFT. Radices come from the length's prime factors; a
 * large prime factor simply falls back to an O(p) inner loop per output (still exact).
 *
 * The plan (digit-reversal permutation and per-stage twiddles) is built once in the constructor
 * so that transform() only gathers and runs in-place butterflies: it is called thousands of
 * times per audio window and must not allocate or evaluate trig.
 */
// Kept hand-written (not a library FFT): the log-mel must match Whisper's STFT bit for bit over a
// true length-400 DFT, and the unrolled radix-4/5 passes are the mel hot path (7x over a generic loop).

interface Stage {
  p: number; // radix
  m: number; // length of each sub-transform being combined
  span: number; // p·m: length of the transforms this stage produces
  // W_span^{q·j} for j in [0, m), q in [1, p): index j·(p−1) + (q−1).
  twRe: Float64Array;
  twIm: Float64Array;
  // W_p^e for e in [0, p); only filled for radices without an unrolled butterfly.
  rootRe: Float64Array;
  rootIm: Float64Array;
}

export class Fft {
  readonly n: number;
  private readonly perm: Int32Array;
  private readonly stages: Stage[];
  // Scratch for radices without an unrolled butterfly (3, 7, large primes).
  private readonly tmpRe: Float64Array;
  private readonly tmpIm: Float64Array;
  private readonly genRe: Float64Array;
  private readonly genIm: Float64Array;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`FFT length must be a positive integer, got ${n}`);
    this.n = n;
    const factors = factorize(n);
    this.perm = new Int32Array(n);
    digitReverse(this.perm, factors, 0, 0, 1, 0, n);
    // Level L combines blocks of span factors[L]·…; the deepest level runs first.
    this.stages = [];
    let span = n;
    const spans: number[] = [];
    for (const p of factors) {
      spans.push(span);
      span /= p;
    }
    for (let L = factors.length - 1; L >= 0; L--) {
      const p = factors[L];
      const s = spans[L];
      const m = s / p;
      const twRe = new Float64Array(m * (p - 1));
      const twIm = new Float64Array(m * (p - 1));
      for (let j = 0; j < m; j++) {
        for (let q = 1; q < p; q++) {
          // Reduce the exponent before scaling so the angle stays in [0, 2π) and keeps full precision.
          const a = (-2 * Math.PI * ((q * j) % s)) / s;
          twRe[j * (p - 1) + q - 1] = Math.cos(a);
          twIm[j * (p - 1) + q - 1] = Math.sin(a);
        }
      }
      const generic = p !== 2 && p !== 4 && p !== 5;
      const rootRe = new Float64Array(generic ? p : 0);
      const rootIm = new Float64Array(generic ? p : 0);
      for (let e = 0; e < rootRe.length; e++) {
        rootRe[e] = Math.cos((-2 * Math.PI * e) / p);
        rootIm[e] = Math.sin((-2 * Math.PI * e) / p);
      }
      this.stages.push({ p, m, span: s, twRe, twIm, rootRe, rootIm });
    }
    let maxGeneric = 1;
    for (const st of this.stages) maxGeneric = Math.max(maxGeneric, st.rootRe.length);
    this.tmpRe = new Float64Array(maxGeneric);
    this.tmpIm = new Float64Array(maxGeneric);
    this.genRe = new Float64Array(maxGeneric);
    this.genIm = new Float64Array(maxGeneric);
  }

  /** Forward DFT X[k] = Σ x[t]·e^{-2πikt/n}. Inputs are not modified; outputs must not alias inputs. */
  transform(inRe: ArrayLike<number>, inIm: ArrayLike<number> | null, outRe: Float64Array, outIm: Float64Array): void {
    const perm = this.perm;
    const n = this.n;
    if (inIm) {
      for (let i = 0; i < n; i++) {
        const s = perm[i];
        outRe[i] = inRe[s];
        outIm[i] = inIm[s];
      }
    } else {
      for (let i = 0; i < n; i++) {
        outRe[i] = inRe[perm[i]];
        outIm[i] = 0;
      }
    }
    this.butterflies(outRe, outIm);
  }

  /** @internal Source index for each position of the digit-reversed buffer that butterflies() expects. */
  get inputOrder(): Int32Array {
    return this.perm;
  }

  /**
   * In-place transform of data already gathered in inputOrder. Lets callers fuse their own
   * pre-processing (windowing, real-input packing) into the gather instead of copying twice.
   */
  butterflies(re: Float64Array, im: Float64Array): void {
    const stages = this.stages;
    for (let s = 0; s < stages.length; s++) {
      const st = stages[s];
      switch (st.p) {
        case 2:
          radix2(re, im, this.n, st.m, st.twRe, st.twIm);
          break;
        case 4:
          radix4(re, im, this.n, st.m, st.twRe, st.twIm);
          break;
        case 5:
          radix5(re, im, this.n, st.m, st.twRe, st.twIm);
          break;
        default:
          this.radixGeneric(re, im, st);
      }
    }
  }

  private radixGeneric(re: Float64Array, im: Float64Array, st: Stage): void {
    const { p, m, span, twRe, twIm, rootRe: c, rootIm: sn } = st;
    const tr = this.tmpRe;
    const ti = this.tmpIm;
    const yr = this.genRe;
    const yi = this.genIm;
    for (let base = 0; base < this.n; base += span) {
      for (let j = 0; j < m; j++) {
        tr[0] = re[base + j];
        ti[0] = im[base + j];
        for (let q = 1; q < p; q++) {
          const xr = re[base + q * m + j];
          const xi = im[base + q * m + j];
          const wr = twRe[j * (p - 1) + q - 1];
          const wi = twIm[j * (p - 1) + q - 1];
          tr[q] = xr * wr - xi * wi;
          ti[q] = xr * wi + xi * wr;
        }
        for (let r = 0; r < p; r++) {
          let sr = tr[0];
          let si = ti[0];
          let e = 0;
          for (let q = 1; q < p; q++) {
            e += r;
            if (e >= p) e -= p;
            sr += tr[q] * c[e] - ti[q] * sn[e];
            si += tr[q] * sn[e] + ti[q] * c[e];
          }
          yr[r] = sr;
          yi[r] = si;
        }
        for (let r = 0; r < p; r++) {
          re[base + r * m + j] = yr[r];
          im[base + r * m + j] = yi[r];
        }
      }
    }
  }
}

/**
 * Real-input DFT of even length n via one complex DFT of length n/2 on z[t] = x[2t] + i·x[2t+1],
 * then the standard split; about half the work of a complex transform of length n. Produces the
 * onesided bins 0…n/2.
 */
export class RealFft {
  readonly n: number;
  private readonly half: Fft;
  // Even/odd sample index for each slot of the half-length transform's digit-reversed input.
  private readonly srcEven: Int32Array;
  private readonly zRe: Float64Array;
  private readonly zIm: Float64Array;
  private readonly wRe: Float64Array;
  private readonly wIm: Float64Array;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 2 || n % 2 !== 0) throw new Error(`real FFT length must be a positive even integer, got ${n}`);
    this.n = n;
    const h = n / 2;
    this.half = new Fft(h);
    this.srcEven = Int32Array.from(this.half.inputOrder, (t) => 2 * t);
    this.zRe = new Float64Array(h);
    this.zIm = new Float64Array(h);
    this.wRe = new Float64Array(h + 1);
    this.wIm = new Float64Array(h + 1);
    for (let k = 0; k <= h; k++) {
      const a = (-2 * Math.PI * k) / n;
      this.wRe[k] = Math.cos(a);
      this.wIm[k] = Math.sin(a);
    }
  }

  /**
   * X[k] for k in [0, n/2] of x[inOff + t]·window[t] (window optional). outRe/outIm need n/2 + 1 slots.
   * The window is applied during the gather so callers framing a long signal need no frame copy.
   */
  transform(input: ArrayLike<number>, outRe: Float64Array, outIm: Float64Array, inOff = 0, window: ArrayLike<number> | null = null): void {
    const h = this.n / 2;
    const src = this.srcEven;
    const zr = this.zRe;
    const zi = this.zIm;
    if (window) {
      for (let i = 0; i < h; i++) {
        const t = src[i];
        zr[i] = input[inOff + t] * window[t];
        zi[i] = input[inOff + t + 1] * window[t + 1];
      }
    } else {
      for (let i = 0; i < h; i++) {
        const t = src[i];
        zr[i] = input[inOff + t];
        zi[i] = input[inOff + t + 1];
      }
    }
    this.half.butterflies(zr, zi);
    // X[k] = E[k] + W_n^k·O[k], with E = (Z[k] + conj Z[h−k])/2 and O = (Z[k] − conj Z[h−k])/(2i).
    const wr = this.wRe;
    const wi = this.wIm;
    outRe[0] = zr[0] + zi[0];
    outIm[0] = 0;
    outRe[h] = zr[0] - zi[0];
    outIm[h] = 0;
    for (let k = 1; k < h; k++) {
      const ar = zr[k];
      const ai = zi[k];
      const br = zr[h - k];
      const bi = zi[h - k];
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai - bi);
      const or = 0.5 * (ai + bi);
      const oi = 0.5 * (br - ar);
      const c = wr[k];
      const s = wi[k];
      outRe[k] = er + c * or - s * oi;
      outIm[k] = ei + c * oi + s * or;
    }
  }
}

// Unrolled butterflies. Each stage combines p sub-transforms of length m sitting at base + q·m
// into one of length p·m, in place (decimation in time: twiddle first, then a p-point DFT).
// Twiddle j = 0 is exactly 1, and the first stage has m = 1, so that column skips the complex
// multiplies; the small DFT kernels are split out so both paths share them (V8 inlines them).

function radix2(re: Float64Array, im: Float64Array, n: number, m: number, twRe: Float64Array, twIm: Float64Array): void {
  const span = 2 * m;
  for (let base = 0; base < n; base += span) {
    const i1 = base + m;
    const ar = re[base];
    const ai = im[base];
    const br = re[i1];
    const bi = im[i1];
    re[base] = ar + br;
    im[base] = ai + bi;
    re[i1] = ar - br;
    im[i1] = ai - bi;
    for (let j = 1; j < m; j++) {
      const i0 = base + j;
      const i1 = i0 + m;
      const wr = twRe[j];
      const wi = twIm[j];
      const xr = re[i1];
      const xi = im[i1];
      const br = xr * wr - xi * wi;
      const bi = xr * wi + xi * wr;
      const ar = re[i0];
      const ai = im[i0];
      re[i0] = ar + br;
      im[i0] = ai + bi;
      re[i1] = ar - br;
      im[i1] = ai - bi;
    }
  }
}

function radix4(re: Float64Array, im: Float64Array, n: number, m: number, twRe: Float64Array, twIm: Float64Array): void {
  const span = 4 * m;
  for (let base = 0; base < n; base += span) {
    const i1 = base + m;
    const i2 = i1 + m;
    const i3 = i2 + m;
    dft4(re, im, base, m, re[base], im[base], re[i1], im[i1], re[i2], im[i2], re[i3], im[i3]);
    for (let j = 1; j < m; j++) {
      const i0 = base + j;
      const i1 = i0 + m;
      const i2 = i1 + m;
      const i3 = i2 + m;
      const t = 3 * j;
      let xr = re[i1];
      let xi = im[i1];
      let wr = twRe[t];
      let wi = twIm[t];
      const a1r = xr * wr - xi * wi;
      const a1i = xr * wi + xi * wr;
      xr = re[i2];
      xi = im[i2];
      wr = twRe[t + 1];
      wi = twIm[t + 1];
      const a2r = xr * wr - xi * wi;
      const a2i = xr * wi + xi * wr;
      xr = re[i3];
      xi = im[i3];
      wr = twRe[t + 2];
      wi = twIm[t + 2];
      const a3r = xr * wr - xi * wi;
      const a3i = xr * wi + xi * wr;
      dft4(re, im, i0, m, re[i0], im[i0], a1r, a1i, a2r, a2i, a3r, a3i);
    }
  }
}

function dft4(
  re: Float64Array,
  im: Float64Array,
  i0: number,
  m: number,
  a0r: number,
  a0i: number,
  a1r: number,
  a1i: number,
  a2r: number,
  a2i: number,
  a3r: number,
  a3i: number,
): void {
  const t0r = a0r + a2r;
  const t0i = a0i + a2i;
  const t1r = a0r - a2r;
  const t1i = a0i - a2i;
  const t2r = a1r + a3r;
  const t2i = a1i + a3i;
  const t3r = a1r - a3r;
  const t3i = a1i - a3i;
  const i1 = i0 + m;
  const i2 = i1 + m;
  const i3 = i2 + m;
  re[i0] = t0r + t2r;
  im[i0] = t0i + t2i;
  re[i2] = t0r - t2r;
  im[i2] = t0i - t2i;
  // W_4 = −i, so y1 = t1 − i·t3 and y3 = t1 + i·t3.
  re[i1] = t1r + t3i;
  im[i1] = t1i - t3r;
  re[i3] = t1r - t3i;
  im[i3] = t1i + t3r;
}

const C1 = Math.cos((2 * Math.PI) / 5);
const C2 = Math.cos((4 * Math.PI) / 5);
const S1 = Math.sin((2 * Math.PI) / 5);
const S2 = Math.sin((4 * Math.PI) / 5);

function radix5(re: Float64Array, im: Float64Array, n: number, m: number, twRe: Float64Array, twIm: Float64Array): void {
  const span = 5 * m;
  for (let base = 0; base < n; base += span) {
    const i1 = base + m;
    const i2 = i1 + m;
    const i3 = i2 + m;
    const i4 = i3 + m;
    dft5(re, im, base, m, re[base], im[base], re[i1], im[i1], re[i2], im[i2], re[i3], im[i3], re[i4], im[i4]);
    for (let j = 1; j < m; j++) {
      const i0 = base + j;
      const i1 = i0 + m;
      const i2 = i1 + m;
      const i3 = i2 + m;
      const i4 = i3 + m;
      const t = 4 * j;
      let xr = re[i1];
      let xi = im[i1];
      let wr = twRe[t];
      let wi = twIm[t];
      const a1r = xr * wr - xi * wi;
      const a1i = xr * wi + xi * wr;
      xr = re[i2];
      xi = im[i2];
      wr = twRe[t + 1];
      wi = twIm[t + 1];
      const a2r = xr * wr - xi * wi;
      const a2i = xr * wi + xi * wr;
      xr = re[i3];
      xi = im[i3];
      wr = twRe[t + 2];
      wi = twIm[t + 2];
      const a3r = xr * wr - xi * wi;
      const a3i = xr * wi + xi * wr;
      xr = re[i4];
      xi = im[i4];
      wr = twRe[t + 3];
      wi = twIm[t + 3];
      const a4r = xr * wr - xi * wi;
      const a4i = xr * wi + xi * wr;
      dft5(re, im, i0, m, re[i0], im[i0], a1r, a1i, a2r, a2i, a3r, a3i, a4r, a4i);
    }
  }
}

function dft5(
  re: Float64Array,
  im: Float64Array,
  i0: number,
  m: number,
  a0r: number,
  a0i: number,
  a1r: number,
  a1i: number,
  a2r: number,
  a2i: number,
  a3r: number,
  a3i: number,
  a4r: number,
  a4i: number,
): void {
  // Pair q with 5−q: conjugate roots turn each pair into one cosine and one sine term.
  const b1r = a1r + a4r;
  const b1i = a1i + a4i;
  const b4r = a1r - a4r;
  const b4i = a1i - a4i;
  const b2r = a2r + a3r;
  const b2i = a2i + a3i;
  const b3r = a2r - a3r;
  const b3i = a2i - a3i;
  const tar = a0r + C1 * b1r + C2 * b2r;
  const tai = a0i + C1 * b1i + C2 * b2i;
  const tbr = a0r + C2 * b1r + C1 * b2r;
  const tbi = a0i + C2 * b1i + C1 * b2i;
  const ur = S1 * b4r + S2 * b3r;
  const ui = S1 * b4i + S2 * b3i;
  const vr = S2 * b4r - S1 * b3r;
  const vi = S2 * b4i - S1 * b3i;
  const i1 = i0 + m;
  const i2 = i1 + m;
  const i3 = i2 + m;
  const i4 = i3 + m;
  re[i0] = a0r + b1r + b2r;
  im[i0] = a0i + b1i + b2i;
  // y1,4 = ta ∓ i·u ; y2,3 = tb ∓ i·v
  re[i1] = tar + ui;
  im[i1] = tai - ur;
  re[i4] = tar - ui;
  im[i4] = tai + ur;
  re[i2] = tbr + vi;
  im[i2] = tbi - vr;
  re[i3] = tbr - vi;
  im[i3] = tbi + vr;
}

/**
 * perm[outOff + …] = input index for each leaf of the decimation-in-time recursion: level L splits
 * its input (offset inOff, step stride) into factors[L] interleaved subsequences placed side by side.
 */
function digitReverse(perm: Int32Array, factors: number[], level: number, inOff: number, stride: number, outOff: number, n: number): void {
  if (n === 1) {
    perm[outOff] = inOff;
    return;
  }
  const p = factors[level];
  const m = n / p;
  for (let q = 0; q < p; q++) digitReverse(perm, factors, level + 1, inOff + q * stride, stride * p, outOff + q * m, m);
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
