/**
 * Prosody ("tone") evidence: YIN pitch (de Cheveigné & Kawahara 2002), frame energy and a syllable-rate
 * proxy. These are interpretable numbers reported beside the learned audio embedding, not model inputs.
 */

export interface YinOptions {
  /** Samples per analysis frame (default ≈ 64 ms: 1024 at 16 kHz). Must exceed sampleRate/fMin. */
  frameLength?: number;
  /** Default 10 ms. */
  hop?: number;
  fMin?: number;
  fMax?: number;
  /** Absolute threshold on the cumulative mean normalised difference. */
  threshold?: number;
  /** Frames whose RMS is below this are unvoiced without analysis (digital silence, fades). */
  silenceRms?: number;
}

export interface YinResult {
  /** Hz per frame; 0 where unvoiced. Frame t covers samples [t·hop, t·hop + frameLength). */
  f0: Float32Array;
  hopSeconds: number;
  frameSeconds: number;
  /** 1 − d'(τ) at the chosen lag (0 where unvoiced): how periodic the frame is. */
  periodicity: Float32Array;
}

function frameCount(n: number, frameLength: number, hop: number): number {
  if (n <= 0) return 0;
  if (n < frameLength) return 1;
  return Math.floor((n - frameLength) / hop) + 1;
}

/** Frames per YIN block: the lag loop runs over a block of frames at a time (see YinEngine). */
const BLOCK_FRAMES = 64;

/**
 * Σ x[j]·x[j+τ] for j in [from, to), in four independent partial sums: one running sum is a chain of
 * dependent additions (bound by the adder's latency), four let the CPU overlap them.
 */
function dot(x: Float64Array, from: number, to: number, tau: number): number {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let j = from;
  for (; j + 3 < to; j += 4) {
    a0 += x[j] * x[j + tau];
    a1 += x[j + 1] * x[j + 1 + tau];
    a2 += x[j + 2] * x[j + 2 + tau];
    a3 += x[j + 3] * x[j + 3 + tau];
  }
  for (; j < to; j++) a0 += x[j] * x[j + tau];
  return a0 + a1 + (a2 + a3);
}

/** Σ x[j]² for j in [from, to), in order. */
function sumSq(x: Float64Array, from: number, to: number): number {
  let s = 0;
  for (let j = from; j < to; j++) s += x[j] * x[j];
  return s;
}

/**
 * Energy of a window of `len` samples starting on the hop grid, as the sum of its hop-long pieces (the
 * last one partial): the same number whichever buffer holds the window and wherever the analysis began,
 * and the hop pieces are shared by the overlapping frames that contain them.
 */
class HopEnergy {
  private readonly full: number;
  private readonly rest: number;
  constructor(
    private readonly hop: number,
    readonly len: number,
  ) {
    this.full = Math.floor(len / hop);
    this.rest = len - this.full * hop;
  }

  /** Energy of the window at x[off] (off on the hop grid of x). */
  at(x: Float64Array, off: number): number {
    let e = 0;
    for (let i = 0; i < this.full; i++) e += sumSq(x, off + i * this.hop, off + (i + 1) * this.hop);
    if (this.rest > 0) e += sumSq(x, off + this.full * this.hop, off + this.full * this.hop + this.rest);
    return e;
  }

  /** The same for the windows at hops [0, n) of x, from hop sums computed once (full and partial hops). */
  many(x: Float64Array, n: number, full: Float64Array, part: Float64Array, out: Float64Array): void {
    const { hop, rest } = this;
    const F = this.full;
    for (let k = 0; k < n + F; k++) {
      const b = k * hop;
      if (k <= n + F - 2) full[k] = sumSq(x, b, b + hop);
      if (rest > 0 && k >= F) part[k] = sumSq(x, b, b + rest);
    }
    for (let t = 0; t < n; t++) {
      let e = 0;
      for (let i = 0; i < F; i++) e += full[t + i];
      if (rest > 0) e += part[t + F];
      out[t] = e;
    }
  }
}

/**
 * YIN over blocks of consecutive frames. The difference function d(τ) = Σ_{j<W} (x_j − x_{j+τ})² is
 * expanded as E(0) + E(τ) − 2·r(τ) (window energies from a per-frame prefix of x²), and the
 * cross term r(τ) = Σ_{j<W} x_j·x_{j+τ} is assembled from per-lag sums over hop-long stretches of
 * the signal: W = m·hop + rem, so r_t(τ) = P_τ[t] + … + P_τ[t+m−1] + Q_τ[t+m], where P_τ[k] sums
 * the k-th hop and Q_τ[k] its first rem samples. Frames overlap by frameLength − hop samples, so each
 * product x_j·x_{j+τ} is computed once instead of once per frame that contains it (~5× fewer
 * multiply-adds at 16 kHz, hop 160, frame 1024). Hop sums depend only on the samples of their hop,
 * never on where a block starts, so a frame's result is the same whichever block computes it (the
 * streaming tracker and a one-shot call agree bit for bit).
 *
 * Lags are computed in increasing order and a frame stops as soon as YIN's decision is made (the
 * first dip under the threshold, walked down to its local minimum, plus the one lag past it that
 * the parabolic interpolation reads): a voiced frame at 180 Hz needs ~95 of the 269 lags. This is
 * exact, not an approximation: the CMND at lag τ depends only on lags ≤ τ.
 */
class YinEngine {
  readonly hop: number;
  readonly frameLength: number;
  readonly tauMin: number;
  readonly tauMax: number;
  readonly w: number;
  private readonly m: number;
  private readonly rem: number;
  private readonly threshold: number;
  private readonly silenceRms: number;
  private readonly lags: number;
  // scratch, sized for BLOCK_FRAMES
  private readonly prefix: Float64Array; // per frame: prefix sums of x² over the frame (frameLength + 1 each)
  private readonly cmnd: Float64Array; // per frame: CMND by lag (lags each)
  private readonly running: Float64Array;
  private readonly state: Int32Array; // 0 done/silent, 1 searching, 2 climbing
  private readonly cand: Int32Array;
  private readonly hopP: Float64Array;
  private readonly hopQ: Float64Array;
  private readonly needP: Uint8Array;
  private readonly needQ: Uint8Array;
  private readonly energy: HopEnergy;
  private readonly hopFull: Float64Array;
  private readonly hopPart: Float64Array;
  private readonly frameEnergy: Float64Array;

  constructor(
    readonly sampleRate: number,
    opts: YinOptions,
  ) {
    const fMin = opts.fMin ?? 60;
    const fMax = opts.fMax ?? 500;
    this.threshold = opts.threshold ?? 0.15;
    this.hop = opts.hop ?? Math.round(sampleRate / 100);
    this.frameLength = opts.frameLength ?? Math.round(0.064 * sampleRate);
    this.silenceRms = opts.silenceRms ?? 1e-4;
    this.tauMin = Math.max(2, Math.floor(sampleRate / fMax));
    this.tauMax = Math.ceil(sampleRate / fMin);
    this.w = this.frameLength - this.tauMax - 1; // integration window; +1 lag is read for interpolation
    if (this.w < this.tauMax / 2) throw new Error(`frameLength ${this.frameLength} too short for fMin ${fMin} Hz at ${sampleRate} Hz`);
    if (!(this.hop >= 1)) throw new Error(`hop must be ≥ 1 sample, got ${this.hop}`);
    this.m = Math.floor(this.w / this.hop);
    this.rem = this.w - this.m * this.hop;
    this.lags = this.tauMax + 2;
    const hops = BLOCK_FRAMES + this.m;
    this.prefix = new Float64Array(BLOCK_FRAMES * (this.frameLength + 1));
    this.cmnd = new Float64Array(BLOCK_FRAMES * this.lags);
    this.running = new Float64Array(BLOCK_FRAMES);
    this.state = new Int32Array(BLOCK_FRAMES);
    this.cand = new Int32Array(BLOCK_FRAMES);
    this.hopP = new Float64Array(hops);
    this.hopQ = new Float64Array(hops);
    this.needP = new Uint8Array(hops);
    this.needQ = new Uint8Array(hops);
    this.energy = new HopEnergy(this.hop, this.frameLength);
    const energyHops = BLOCK_FRAMES + Math.ceil(this.frameLength / this.hop) + 1;
    this.hopFull = new Float64Array(energyHops);
    this.hopPart = new Float64Array(energyHops);
    this.frameEnergy = new Float64Array(BLOCK_FRAMES);
  }

  /** Samples a block of n frames reads, starting at its first frame. */
  span(n: number): number {
    return (n - 1) * this.hop + this.frameLength;
  }

  /**
   * Frames [0, n) of `x` (n ≤ BLOCK_FRAMES; frame t starts at x[t·hop]; x holds span(n) samples):
   * f0, periodicity and the frame RMS into the outputs from index `at`.
   */
  block(x: Float64Array, n: number, f0: Float32Array, periodicity: Float32Array | null, frameRmsOut: Float32Array | null, at: number): void {
    const { hop, frameLength: L, w, m, rem, tauMin, tauMax, lags, prefix, cmnd, running, state, cand, hopP, hopQ, needP, needQ } = this;
    const P1 = L + 1;
    const energy = this.frameEnergy;
    this.energy.many(x, n, this.hopFull, this.hopPart, energy);
    let active = 0;
    for (let t = 0; t < n; t++) {
      const rms = Math.sqrt(energy[t] / L);
      if (frameRmsOut) frameRmsOut[at + t] = rms;
      f0[at + t] = 0;
      if (periodicity) periodicity[at + t] = 0;
      running[t] = 0;
      cmnd[t * lags] = 1;
      if (rms < this.silenceRms) {
        state[t] = 0;
        continue;
      }
      state[t] = 1;
      active++;
      // window energies E(τ) for the difference function, from a prefix of x² over the frame
      const off = t * hop;
      const pb = t * P1;
      prefix[pb] = 0;
      for (let j = 0; j < L; j++) {
        const v = x[off + j];
        prefix[pb + j + 1] = prefix[pb + j] + v * v;
      }
    }
    const hops = n + m;
    for (let tau = 1; tau <= tauMax + 1 && active > 0; tau++) {
      // Which hop sums the frames still deciding read at this lag.
      needP.fill(0, 0, hops);
      needQ.fill(0, 0, hops);
      for (let t = 0; t < n; t++) {
        if (state[t] === 0) continue;
        for (let i = 0; i < m; i++) needP[t + i] = 1;
        if (rem > 0) needQ[t + m] = 1;
      }
      for (let k = 0; k < hops; k++) {
        if (!needP[k] && !needQ[k]) continue;
        const b = k * hop;
        const q = dot(x, b, b + rem, tau);
        hopQ[k] = q;
        if (needP[k]) hopP[k] = q + dot(x, b + rem, b + hop, tau);
      }
      for (let t = 0; t < n; t++) {
        const st = state[t];
        if (st === 0) continue;
        let r = rem > 0 ? hopQ[t + m] : 0;
        for (let i = 0; i < m; i++) r += hopP[t + i];
        const pb = t * P1;
        const d = Math.max(0, prefix[pb + w] + (prefix[pb + tau + w] - prefix[pb + tau]) - 2 * r);
        running[t] += d;
        const cb = t * lags;
        const c = running[t] > 0 ? (d * tau) / running[t] : 1;
        cmnd[cb + tau] = c;
        if (st === 1) {
          if (tau >= tauMin && tau <= tauMax && c < this.threshold) {
            state[t] = 2;
            cand[t] = tau;
          } else if (tau >= tauMax) {
            state[t] = 0; // no dip under the threshold: unvoiced
            active--;
          }
        } else if (tau <= tauMax && c < cmnd[cb + tau - 1]) {
          cand[t] = tau; // still walking down to the dip's local minimum
        } else {
          // cmnd[best + 1] is known: parabolic interpolation of the dip for sub-sample lag precision.
          const best = cand[t];
          const a = cmnd[cb + best - 1];
          const bb = cmnd[cb + best];
          const cc = cmnd[cb + best + 1];
          const denom = a - 2 * bb + cc;
          const shift = denom > 0 ? Math.max(-1, Math.min(1, (0.5 * (a - cc)) / denom)) : 0;
          f0[at + t] = this.sampleRate / (best + shift);
          if (periodicity) periodicity[at + t] = Math.max(0, Math.min(1, 1 - bb));
          state[t] = 0;
          active--;
        }
      }
    }
  }
}

export function yinPitch(samples: Float32Array, sampleRate: number, opts: YinOptions = {}): YinResult {
  const engine = new YinEngine(sampleRate, opts);
  const nFrames = samples.length >= engine.frameLength ? frameCount(samples.length, engine.frameLength, engine.hop) : 0;
  const f0 = new Float32Array(nFrames);
  const periodicity = new Float32Array(nFrames);
  const x = new Float64Array(engine.span(BLOCK_FRAMES));
  for (let t0 = 0; t0 < nFrames; t0 += BLOCK_FRAMES) {
    const n = Math.min(BLOCK_FRAMES, nFrames - t0);
    const off = t0 * engine.hop;
    const len = engine.span(n);
    for (let i = 0; i < len; i++) x[i] = samples[off + i];
    engine.block(x, n, f0, periodicity, null, t0);
  }
  return { f0, hopSeconds: engine.hop / sampleRate, frameSeconds: engine.frameLength / sampleRate, periodicity };
}

/** Root-mean-square per frame; a trailing partial frame is only produced when the input is shorter than one frame. */
export function frameRms(samples: Float32Array, frameLength: number, hop: number): Float32Array {
  const n = frameCount(samples.length, frameLength, hop);
  const out = new Float32Array(n);
  for (let t = 0; t < n; t++) {
    const off = t * hop;
    const end = Math.min(off + frameLength, samples.length);
    let s = 0;
    for (let j = off; j < end; j++) s += samples[j] * samples[j];
    out[t] = Math.sqrt(s / (end - off));
  }
  return out;
}

export interface ProsodySummary {
  f0MeanHz: number | null;
  f0StdHz: number | null;
  f0MinHz: number | null;
  f0MaxHz: number | null;
  /** 10·log10 of the mean frame power (RMS of the segment) in dBFS; floored at −120; null for an empty segment. */
  energyDb: number | null;
  voicedRatio: number | null;
  /** Energy-envelope peaks per second, a syllable-rate proxy; null for an empty segment. */
  rateProxy: number | null;
}

const DB_FLOOR = -120;
const VOICING_GATE_DB = -30;
const EMPTY_SUMMARY: ProsodySummary = { f0MeanHz: null, f0StdHz: null, f0MinHz: null, f0MaxHz: null, energyDb: null, voicedRatio: null, rateProxy: null };

/** The summary's analysis grid at `sampleRate`: 10 ms hop, 25 ms energy window, 64 ms YIN frame. */
function grid(sampleRate: number) {
  return { hop: Math.round(0.01 * sampleRate), win: Math.round(0.025 * sampleRate), yinFrame: Math.round(0.064 * sampleRate) };
}

/**
 * The summary of one stretch from its frame tracks: `rms` (25 ms window), `f0` and `yinRms` (64 ms
 * frame) on the same 10 ms grid, `seconds` its length. One function for the one-shot and the
 * streaming path, so both say the same thing.
 */
function summarise(rms: Float32Array, f0: Float32Array, yinRms: Float32Array, seconds: number): ProsodySummary {
  let pow = 0;
  for (let i = 0; i < rms.length; i++) pow += rms[i] * rms[i];
  pow /= rms.length;
  const energyDb = pow > 0 ? Math.max(DB_FLOOR, 10 * Math.log10(pow)) : DB_FLOOR;
  // Periodic frames far below the stretch's loudest (mains hum, room tone) are not voice.
  let loudest = 0;
  for (let i = 0; i < yinRms.length; i++) loudest = Math.max(loudest, yinRms[i]);
  const gate = loudest * 10 ** (VOICING_GATE_DB / 20);
  // Loops, not spread arguments: an hour holds ~250,000 voiced frames, more than a call's arguments can.
  let count = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < f0.length; i++) {
    const v = f0[i];
    if (!(v > 0 && yinRms[i] >= gate)) continue;
    count++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  let f0Mean: number | null = null;
  let f0Std: number | null = null;
  if (count) {
    f0Mean = sum / count;
    let sq = 0;
    for (let i = 0; i < f0.length; i++) {
      const v = f0[i];
      if (v > 0 && yinRms[i] >= gate) sq += (v - f0Mean) * (v - f0Mean);
    }
    f0Std = Math.sqrt(sq / count);
  }
  return {
    f0MeanHz: f0Mean,
    f0StdHz: f0Std,
    f0MinHz: count ? min : null,
    f0MaxHz: count ? max : null,
    energyDb,
    voicedRatio: f0.length ? count / f0.length : null,
    rateProxy: envelopePeaks(rms) / seconds,
  };
}

/** Prosody of samples[startSec, endSec) (seconds clamped to the signal). */
export function prosodySummary(samples: Float32Array, sampleRate: number, startSec = 0, endSec = samples.length / sampleRate): ProsodySummary {
  const a = Math.max(0, Math.min(samples.length, Math.round(startSec * sampleRate)));
  const b = Math.max(a, Math.min(samples.length, Math.round(endSec * sampleRate)));
  // One code path for a stretch in hand and a recording streamed through the tracker, so both say the same.
  const tracker = new ProsodyTracker(sampleRate, b - a);
  tracker.push(samples.subarray(a, b));
  return tracker.finish().summary();
}

/**
 * The frame tracks of a whole recording, made by ProsodyTracker in one pass; summary() gives what
 * prosodySummary() gives for any stretch, from the tracks instead of the samples.
 */
export class ProsodyTrack {
  constructor(
    readonly sampleRate: number,
    /** samples the tracker was given */
    readonly length: number,
    /** 25 ms RMS per 10 ms frame (frameRms of the whole recording) */
    readonly rms: Float32Array,
    /** YIN f0 per 10 ms frame, 0 = unvoiced (yinPitch of the whole recording) */
    readonly f0: Float32Array,
    /** 64 ms RMS per 10 ms frame */
    readonly yinRms: Float32Array,
    /** the last samples (at most one YIN frame), for stretches too short to have whole frames */
    private readonly tail: Float32Array,
  ) {}

  /**
   * Prosody of [startSec, endSec), equal to prosodySummary() of those samples. A stretch of at least
   * one 64 ms frame must start on the 10 ms grid (its frames are then frames of the whole track); a
   * shorter one must lie in the last 64 ms (its samples are kept).
   */
  summary(startSec = 0, endSec = this.length / this.sampleRate): ProsodySummary {
    const sr = this.sampleRate;
    const a = Math.max(0, Math.min(this.length, Math.round(startSec * sr)));
    const b = Math.max(a, Math.min(this.length, Math.round(endSec * sr)));
    const len = b - a;
    if (len === 0) return { ...EMPTY_SUMMARY };
    const { hop, win, yinFrame } = grid(sr);
    if (a === 0 && b === this.length) return summarise(this.rms, this.f0, this.yinRms, len / sr);
    if (len >= yinFrame && a % hop === 0) {
      const first = a / hop;
      const nRms = frameCount(len, win, hop);
      const nYin = frameCount(len, yinFrame, hop);
      return summarise(this.rms.subarray(first, first + nRms), this.f0.subarray(first, first + nYin), this.yinRms.subarray(first, first + nYin), len / sr);
    }
    const tailStart = this.length - this.tail.length;
    if (a >= tailStart) return prosodySummary(this.tail.subarray(a - tailStart, b - tailStart), sr);
    throw new RangeError(`prosody of [${a}, ${b}) needs its samples: a stretch of ≥ ${yinFrame} samples must start on the ${hop}-sample grid`);
  }
}

/**
 * Prosody of a recording of any length in one streaming pass: push() its samples in order, in pieces
 * of any size, then finish(). Memory is the frame tracks (12 bytes per 10 ms, ~4.3 MB per hour) plus
 * one block of samples, never the recording.
 */
export class ProsodyTracker {
  private readonly engine: YinEngine;
  private readonly energy25: HopEnergy;
  private readonly hopFull: Float64Array;
  private readonly hopPart: Float64Array;
  private readonly winEnergy: Float64Array;
  private readonly hop: number;
  private readonly win: number;
  private readonly yinFrame: number;
  /** samples from the first frame not yet analysed on */
  private buf: Float64Array;
  private bufLen = 0;
  private total = 0;
  private rms: Float32Array;
  private f0: Float32Array;
  private yinRms: Float32Array;
  /** YIN frames done (each also has its 25 ms RMS) */
  private frames = 0;
  private tail: Float32Array;
  private tailLen = 0;

  constructor(
    readonly sampleRate: number,
    /** the recording's length when known (sizes the tracks once) */
    expectedSamples = 0,
  ) {
    const g = grid(sampleRate);
    this.hop = g.hop;
    this.win = g.win;
    this.yinFrame = g.yinFrame;
    this.engine = new YinEngine(sampleRate, { hop: this.hop, frameLength: this.yinFrame });
    this.energy25 = new HopEnergy(this.hop, this.win);
    this.hopFull = new Float64Array(BLOCK_FRAMES + Math.ceil(this.win / this.hop) + 1);
    this.hopPart = new Float64Array(this.hopFull.length);
    this.winEnergy = new Float64Array(BLOCK_FRAMES);
    const cap = Math.max(16, frameCount(expectedSamples, this.win, this.hop));
    this.rms = new Float32Array(cap);
    this.f0 = new Float32Array(cap);
    this.yinRms = new Float32Array(cap);
    this.buf = new Float64Array(this.engine.span(BLOCK_FRAMES) + 4 * this.hop);
    this.tail = new Float32Array(this.yinFrame);
  }

  push(samples: Float32Array): void {
    let i = 0;
    while (i < samples.length) {
      if (this.bufLen === this.buf.length) this.drain(false);
      const take = Math.min(samples.length - i, this.buf.length - this.bufLen);
      for (let k = 0; k < take; k++) this.buf[this.bufLen + k] = samples[i + k];
      this.bufLen += take;
      i += take;
    }
    this.keepTail(samples);
    this.total += samples.length;
    if (this.bufLen >= this.engine.span(BLOCK_FRAMES)) this.drain(false);
  }

  finish(): ProsodyTrack {
    this.drain(true);
    const nRms = frameCount(this.total, this.win, this.hop);
    const nYin = this.total >= this.yinFrame ? frameCount(this.total, this.yinFrame, this.hop) : 0;
    const rms = this.grow(this.rms, nRms);
    const tail = Float64Array.from(this.tail.subarray(0, this.tailLen));
    const tailStart = this.total - this.tailLen;
    // A recording shorter than a window has one partial frame over all of it (as frameRms makes);
    // the tail then holds the whole recording.
    const partial = tail.length ? Math.sqrt(sumSq(tail, 0, tail.length) / tail.length) : 0;
    if (this.total < this.win) {
      if (nRms) rms[0] = partial;
    } else {
      // 25 ms frames past the last whole YIN frame: their windows lie in the kept tail.
      for (let t = this.frames; t < nRms; t++) rms[t] = Math.sqrt(this.energy25.at(tail, t * this.hop - tailStart) / this.win);
    }
    const yinRms = nYin ? this.yinRms.subarray(0, nYin) : Float32Array.from(this.total ? [partial] : []);
    return new ProsodyTrack(this.sampleRate, this.total, rms.subarray(0, nRms), this.f0.subarray(0, nYin), yinRms, this.tail.slice(0, this.tailLen));
  }

  /** Analyses every whole YIN frame in the buffer (at the end: every one left) and drops what no later frame reads. */
  private drain(final: boolean): void {
    const { engine, hop } = this;
    for (;;) {
      const whole = this.bufLen >= this.yinFrame ? Math.floor((this.bufLen - this.yinFrame) / hop) + 1 : 0;
      const n = Math.min(BLOCK_FRAMES, whole);
      if (n === 0 || (!final && n < BLOCK_FRAMES)) break;
      const at = this.frames;
      this.ensure(at + n);
      engine.block(this.buf, n, this.f0, null, this.yinRms, at);
      this.energy25.many(this.buf, n, this.hopFull, this.hopPart, this.winEnergy);
      for (let t = 0; t < n; t++) this.rms[at + t] = Math.sqrt(this.winEnergy[t] / this.win);
      this.frames += n;
      this.buf.copyWithin(0, n * hop, this.bufLen);
      this.bufLen -= n * hop;
    }
  }

  private keepTail(samples: Float32Array): void {
    const cap = this.tail.length;
    if (samples.length >= cap) {
      this.tail.set(samples.subarray(samples.length - cap));
      this.tailLen = cap;
      return;
    }
    const keep = Math.min(this.tailLen, cap - samples.length);
    this.tail.copyWithin(0, this.tailLen - keep, this.tailLen);
    this.tail.set(samples, keep);
    this.tailLen = keep + samples.length;
  }

  private ensure(frames: number): void {
    if (frames <= this.f0.length) return;
    const cap = Math.max(frames, Math.ceil(this.f0.length * 1.5));
    this.rms = this.grow(this.rms, cap);
    this.f0 = this.grow(this.f0, cap);
    this.yinRms = this.grow(this.yinRms, cap);
  }

  private grow(a: Float32Array, n: number): Float32Array {
    if (a.length >= n) return a;
    const b = new Float32Array(n);
    b.set(a);
    return b;
  }
}

/**
 * Syllable nuclei show up as energy bumps at ~3–8 Hz. Count local maxima of the smoothed 10 ms RMS
 * envelope that are at least 100 ms apart, within 30 dB of the loudest frame, and separated from the
 * previous counted peak by a dip of ≥ 3 dB.
 */
export function envelopePeaks(rms: Float32Array): number {
  const n = rms.length;
  if (n === 0) return 0;
  const sm = new Float64Array(n);
  const k = 2; // ±20 ms moving average
  for (let i = 0; i < n; i++) {
    let s = 0;
    let c = 0;
    for (let j = Math.max(0, i - k); j <= Math.min(n - 1, i + k); j++) {
      s += rms[j];
      c++;
    }
    sm[i] = s / c;
  }
  let max = 0;
  for (const v of sm) max = Math.max(max, v);
  if (max <= 0) return 0;
  const floor = max * 10 ** (-30 / 20);
  const dip = 10 ** (-3 / 20);
  const half = 5; // local max over ±50 ms → peaks ≥ 100 ms apart
  let count = 0;
  let lastPeak = -1;
  for (let i = 0; i < n; i++) {
    if (sm[i] < floor) continue;
    let isMax = true;
    for (let j = Math.max(0, i - half); j <= Math.min(n - 1, i + half); j++) {
      if (sm[j] > sm[i] || (sm[j] === sm[i] && j < i)) {
        isMax = false;
        break;
      }
    }
    if (!isMax) continue;
    if (lastPeak >= 0) {
      let valley = Infinity;
      for (let j = lastPeak; j <= i; j++) valley = Math.min(valley, sm[j]);
      if (valley > dip * Math.min(sm[i], sm[lastPeak])) {
        if (sm[i] > sm[lastPeak]) lastPeak = i; // same bump: keep the higher point
        continue;
      }
    }
    count++;
    lastPeak = i;
  }
  return count;
}
