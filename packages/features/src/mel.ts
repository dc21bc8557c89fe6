import { RealFft } from './fft';

// Kept hand-written: these are the Whisper/OpenAI log-mel steps verified against the published
// recipe's reference values; a library would change the features the model was trained on.

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
  start: Int32Array; // first nonzero bin of filter m
  len: Int32Array; // number of bins in [start, last nonzero]
  offset: Int32Array; // where filter m's packed weights begin in `weights`
  weights: Float64Array; // packed nonzero spans, filter after filter
}

const filterCache = new Map<number, SparseFilters>();

// Each Slaney triangle covers only a handful of the 201 bins, so a dense 128×201 product would be
// ~95 % multiplications by zero.
function sparseFilters(nMels: number): SparseFilters {
  let f = filterCache.get(nMels);
  if (f) return f;
  const nFreqs = WHISPER_N_FFT / 2 + 1;
  const dense = melFilterBank(nFreqs, nMels, WHISPER_SAMPLE_RATE, 0, WHISPER_SAMPLE_RATE / 2);
  const start = new Int32Array(nMels);
  const len = new Int32Array(nMels);
  const offset = new Int32Array(nMels);
  let total = 0;
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
    len[m] = s < e ? e - s : 0;
    offset[m] = total;
    total += len[m];
  }
  const weights = new Float64Array(total);
  for (let m = 0; m < nMels; m++) {
    for (let i = 0; i < len[m]; i++) weights[offset[m] + i] = dense[m * nFreqs + start[m] + i];
  }
  f = { start, len, offset, weights };
  filterCache.set(nMels, f);
  return f;
}

// Built on first use and reused across calls: the Whisper runner calls this once per 30 s window.
let stft: { fft: RealFft; win: Float64Array; padded: Float64Array; re: Float64Array; im: Float64Array; power: Float64Array } | null = null;

function stftState() {
  if (!stft) {
    const nFreqs = WHISPER_N_FFT / 2 + 1;
    stft = {
      fft: new RealFft(WHISPER_N_FFT),
      win: hannWindow(WHISPER_N_FFT),
      padded: new Float64Array(WHISPER_N_SAMPLES + WHISPER_N_FFT),
      re: new Float64Array(nFreqs),
      im: new Float64Array(nFreqs),
      power: new Float64Array(nFreqs),
    };
  }
  return stft;
}

const LOG10_FLOOR = -10; // log10(1e-10)

/**
 * Whisper input_features for one 30 s window, mel-major [nMels, 3000] (index m·3000 + t), following
 * openai/whisper audio.py::log_mel_spectrogram after pad_or_trim(480000).
 */
export function logMelSpectrogram(samples: Float32Array, opts: LogMelOptions = {}): Float32Array {
  const nMels = opts.nMels ?? 128;
  const nFft = WHISPER_N_FFT;
  const hop = WHISPER_HOP;
  const nFrames = WHISPER_N_FRAMES;
  const half = nFft / 2;
  const n = WHISPER_N_SAMPLES;
  const { fft, win, padded, re, im, power } = stftState();
  const nFreqs = power.length;
  // pad_or_trim, then torch.stft(center=True, pad_mode='reflect'): mirror without repeating the edge sample.
  const used = Math.min(samples.length, n);
  padded.set(used < samples.length ? samples.subarray(0, n) : samples, half);
  padded.fill(0, half + used, half + n);
  for (let i = 0; i < half; i++) {
    padded[half - 1 - i] = padded[half + i + 1];
    padded[half + n + i] = padded[half + n - 2 - i];
  }
  // Last frame whose window still touches a nonzero sample; later frames are exactly zero.
  let lastNonZero = half + n + half - 1;
  while (lastNonZero >= 0 && padded[lastNonZero] === 0) lastNonZero--;
  const { start, len, offset, weights } = sparseFilters(nMels);
  const out = new Float32Array(nMels * nFrames);
  // log10 is monotone, so the dynamic-range floor can come from the largest linear mel energy.
  let maxMel = 0;
  for (let t = 0; t < nFrames; t++) {
    const off = t * hop;
    if (off > lastNonZero) {
      // Zero-padding tail: mel energy 0 clamps to 1e-10.
      for (let m = 0; m < nMels; m++) out[m * nFrames + t] = LOG10_FLOOR;
      continue;
    }
    fft.transform(padded, re, im, off, win);
    for (let k = 0; k < nFreqs; k++) power[k] = re[k] * re[k] + im[k] * im[k];
    for (let m = 0; m < nMels; m++) {
      let s = 0;
      const k0 = start[m];
      const o = offset[m];
      const l = len[m];
      for (let i = 0; i < l; i++) s += weights[o + i] * power[k0 + i];
      if (s > maxMel) maxMel = s;
      out[m * nFrames + t] = Math.log10(s > 1e-10 ? s : 1e-10);
    }
  }
  const floor = Math.log10(maxMel > 1e-10 ? maxMel : 1e-10) - 8;
  for (let i = 0; i < out.length; i++) {
    const v = out[i];
    out[i] = ((v > floor ? v : floor) + 4) / 4;
  }
  return out;
}
