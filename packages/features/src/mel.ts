import { Fft } from './fft';

export const WHISPER_SAMPLE_RATE = 16000;
export const WHISPER_N_FFT = 400;
export const WHISPER_HOP = 160;
export const WHISPER_N_SAMPLES = 480000; // 30 s
export const WHISPER_N_FRAMES = 3000;

function hzToMelSlaney(f: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return f < minLogHz ? f / fSp : minLogMel + Math.log(f / minLogHz) / logStep;
}

function melToHzSlaney(m: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return m < minLogMel ? fSp * m : minLogHz * Math.exp(logStep * (m - minLogMel));
}

function linspace(a: number, b: number, n: number): Float64Array {
  const out = new Float64Array(n);
  // numpy's linspace: a + i·step, with the last point pinned to b.
  const step = (b - a) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = a + i * step;
  out[n - 1] = b;
  return out;
}

/**
 * Slaney-scale, Slaney-normalised triangular mel filters (librosa.filters.mel defaults), row-major
 * [nMels, nFreqs]. Equal to Whisper's mel_filters.npz, which is why the npz is not needed at runtime.
 */
export function melFilterBank(nFreqs = 201, nMels = 128, sampleRate = 16000, fMin = 0, fMax = 8000): Float32Array {
  const fftFreqs = linspace(0, sampleRate / 2, nFreqs);
  const melPts = linspace(hzToMelSlaney(fMin), hzToMelSlaney(fMax), nMels + 2);
  const hz = melPts.map(melToHzSlaney);
  const out = new Float32Array(nMels * nFreqs);
  for (let i = 0; i < nMels; i++) {
    const lo = hz[i];
    const ce = hz[i + 1];
    const hi = hz[i + 2];
    const enorm = 2 / (hi - lo);
    for (let k = 0; k < nFreqs; k++) {
      const down = (fftFreqs[k] - lo) / (ce - lo);
      const up = (hi - fftFreqs[k]) / (hi - ce);
      out[i * nFreqs + k] = Math.max(0, Math.min(down, up)) * enorm;
    }
  }
  return out;
}

/** Periodic Hann (torch.hann_window default, periodic=True). */
export function hannWindow(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

export interface LogMelOptions {
  nMels?: number;
}

interface SparseFilters {
  start: Int32Array;
  end: Int32Array;
  weights: Float64Array; // dense [nMels, nFreqs]; only [start, end) is visited
}

const filterCache = new Map<number, SparseFilters>();

function sparseFilters(nMels: number): SparseFilters {
  let f = filterCache.get(nMels);
  if (f) return f;
  const nFreqs = WHISPER_N_FFT / 2 + 1;
  const dense = melFilterBank(nFreqs, nMels, WHISPER_SAMPLE_RATE, 0, WHISPER_SAMPLE_RATE / 2);
  const start = new Int32Array(nMels);
  const end = new Int32Array(nMels);
  for (let m = 0; m < nMels; m++) {
    let s = nFreqs;
    let e = 0;
    for (let k = 0; k < nFreqs; k++) {
      if (dense[m * nFreqs + k] !== 0) {
        s = Math.min(s, k);
        e = k + 1;
      }
    }
    start[m] = s < e ? s : 0;
    end[m] = s < e ? e : 0;
  }
  f = { start, end, weights: Float64Array.from(dense) };
  filterCache.set(nMels, f);
  return f;
}

/**
 * Whisper input_features for one 30 s window, mel-major [nMels, 3000] (index m·3000 + t), following
 * openai/whisper audio.py::log_mel_spectrogram after pad_or_trim(480000).
 */
export function logMelSpectrogram(samples: Float32Array, opts: LogMelOptions = {}): Float32Array {
  const nMels = opts.nMels ?? 128;
  const nFft = WHISPER_N_FFT;
  const hop = WHISPER_HOP;
  const nFreqs = nFft / 2 + 1;
  const half = nFft / 2;
  const n = WHISPER_N_SAMPLES;
  const x = new Float64Array(n);
  x.set(samples.length > n ? samples.subarray(0, n) : samples);
  const padded = new Float64Array(n + 2 * half);
  padded.set(x, half);
  // torch.stft(center=True, pad_mode='reflect'): mirror without repeating the edge sample.
  for (let i = 0; i < half; i++) {
    padded[half - 1 - i] = x[i + 1];
    padded[half + n + i] = x[n - 2 - i];
  }
  const win = hannWindow(nFft);
  const fft = new Fft(nFft);
  const frameRe = new Float64Array(nFft);
  const specRe = new Float64Array(nFft);
  const specIm = new Float64Array(nFft);
  const power = new Float64Array(nFreqs);
  const { start, end, weights } = sparseFilters(nMels);
  const mel = new Float64Array(nMels * WHISPER_N_FRAMES);
  for (let t = 0; t < WHISPER_N_FRAMES; t++) {
    const off = t * hop;
    let allZero = true;
    for (let i = 0; i < nFft; i++) {
      const v = padded[off + i] * win[i];
      frameRe[i] = v;
      if (v !== 0) allZero = false;
    }
    if (allZero) continue; // zero-padding tail: mel stays 0 and is clamped below
    fft.transform(frameRe, null, specRe, specIm);
    for (let k = 0; k < nFreqs; k++) power[k] = specRe[k] * specRe[k] + specIm[k] * specIm[k];
    for (let m = 0; m < nMels; m++) {
      let s = 0;
      const row = m * nFreqs;
      for (let k = start[m]; k < end[m]; k++) s += weights[row + k] * power[k];
      mel[m * WHISPER_N_FRAMES + t] = s;
    }
  }
  const out = new Float32Array(nMels * WHISPER_N_FRAMES);
  let max = -Infinity;
  for (let i = 0; i < out.length; i++) {
    const v = Math.log10(Math.max(mel[i], 1e-10));
    out[i] = v;
    if (v > max) max = v;
  }
  const floor = max - 8;
  for (let i = 0; i < out.length; i++) out[i] = (Math.max(out[i], floor) + 4) / 4;
  return out;
}
