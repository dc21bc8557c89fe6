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

export function yinPitch(samples: Float32Array, sampleRate: number, opts: YinOptions = {}): YinResult {
  const fMin = opts.fMin ?? 60;
  const fMax = opts.fMax ?? 500;
  const threshold = opts.threshold ?? 0.15;
  const hop = opts.hop ?? Math.round(sampleRate / 100);
  const frameLength = opts.frameLength ?? Math.round(0.064 * sampleRate);
  const silenceRms = opts.silenceRms ?? 1e-4;
  const tauMin = Math.max(2, Math.floor(sampleRate / fMax));
  const tauMax = Math.ceil(sampleRate / fMin);
  const w = frameLength - tauMax - 1; // integration window; +1 lag is read for interpolation
  if (w < tauMax / 2) throw new Error(`frameLength ${frameLength} too short for fMin ${fMin} Hz at ${sampleRate} Hz`);
  const nFrames = samples.length >= frameLength ? frameCount(samples.length, frameLength, hop) : 0;
  const f0 = new Float32Array(nFrames);
  const periodicity = new Float32Array(nFrames);
  const d = new Float64Array(tauMax + 2);
  const cmnd = new Float64Array(tauMax + 2);
  const frame = new Float64Array(frameLength);
  const prefix = new Float64Array(frameLength + 1); // prefix sums of x² for the window energies
  for (let t = 0; t < nFrames; t++) {
    const off = t * hop;
    for (let j = 0; j < frameLength; j++) {
      const v = samples[off + j];
      frame[j] = v;
      prefix[j + 1] = prefix[j] + v * v;
    }
    if (Math.sqrt(prefix[frameLength] / frameLength) < silenceRms) continue;
    // Difference function d(τ) = Σ_{j<W} (x_j − x_{j+τ})² = E(0) + E(τ) − 2·r(τ), τ = 1..tauMax+1
    // (one extra lag for interpolation); the expansion halves the work of the inner loop.
    const e0 = prefix[w];
    for (let tau = 1; tau <= tauMax + 1; tau++) {
      let r = 0;
      for (let j = 0; j < w; j++) r += frame[j] * frame[j + tau];
      d[tau] = Math.max(0, e0 + (prefix[tau + w] - prefix[tau]) - 2 * r);
    }
    cmnd[0] = 1;
    let running = 0;
    for (let tau = 1; tau <= tauMax + 1; tau++) {
      running += d[tau];
      cmnd[tau] = running > 0 ? (d[tau] * tau) / running : 1;
    }
    let best = -1;
    for (let tau = tauMin; tau <= tauMax; tau++) {
      if (cmnd[tau] < threshold) {
        while (tau + 1 <= tauMax && cmnd[tau + 1] < cmnd[tau]) tau++;
        best = tau;
        break;
      }
    }
    if (best < 0) continue;
    // Parabolic interpolation of the dip for sub-sample lag precision.
    const a = cmnd[best - 1];
    const b = cmnd[best];
    const c = cmnd[best + 1];
    const denom = a - 2 * b + c;
    const shift = denom > 0 ? Math.max(-1, Math.min(1, (0.5 * (a - c)) / denom)) : 0;
    f0[t] = sampleRate / (best + shift);
    periodicity[t] = Math.max(0, Math.min(1, 1 - b));
  }
  return { f0, hopSeconds: hop / sampleRate, frameSeconds: frameLength / sampleRate, periodicity };
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

/** Prosody of samples[startSec, endSec) (seconds clamped to the signal). */
export function prosodySummary(samples: Float32Array, sampleRate: number, startSec = 0, endSec = samples.length / sampleRate): ProsodySummary {
  const a = Math.max(0, Math.min(samples.length, Math.round(startSec * sampleRate)));
  const b = Math.max(a, Math.min(samples.length, Math.round(endSec * sampleRate)));
  const seg = samples.subarray(a, b);
  const empty: ProsodySummary = { f0MeanHz: null, f0StdHz: null, f0MinHz: null, f0MaxHz: null, energyDb: null, voicedRatio: null, rateProxy: null };
  if (seg.length === 0) return empty;
  const hop = Math.round(0.01 * sampleRate);
  const win = Math.round(0.025 * sampleRate);
  const rms = frameRms(seg, win, hop);
  let pow = 0;
  for (const r of rms) pow += r * r;
  pow /= rms.length;
  const energyDb = pow > 0 ? Math.max(DB_FLOOR, 10 * Math.log10(pow)) : DB_FLOOR;

  const { f0 } = yinPitch(seg, sampleRate, { hop });
  // Periodic frames far below the segment's loudest (mains hum, room tone) are not voice.
  const yinRms = frameRms(seg, Math.round(0.064 * sampleRate), hop);
  let loudest = 0;
  for (const r of yinRms) loudest = Math.max(loudest, r);
  const gate = loudest * 10 ** (VOICING_GATE_DB / 20);
  const voiced = Array.from(f0).filter((v, i) => v > 0 && yinRms[i] >= gate);
  let f0Mean: number | null = null;
  let f0Std: number | null = null;
  if (voiced.length) {
    f0Mean = voiced.reduce((s, v) => s + v, 0) / voiced.length;
    const m = f0Mean;
    f0Std = Math.sqrt(voiced.reduce((s, v) => s + (v - m) * (v - m), 0) / voiced.length);
  }
  return {
    f0MeanHz: f0Mean,
    f0StdHz: f0Std,
    f0MinHz: voiced.length ? Math.min(...voiced) : null,
    f0MaxHz: voiced.length ? Math.max(...voiced) : null,
    energyDb,
    voicedRatio: f0.length ? voiced.length / f0.length : null,
    rateProxy: envelopePeaks(rms) / (seg.length / sampleRate),
  };
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
