/** What layer-norm of a whole utterance needs: its mean and 1/sqrt(var + eps). */
export interface WaveformNorm {
  mean: number;
  scale: number;
}

/** Reads `length` samples from `start` (fewer at the end); a WavFileReader or a subarray of samples in hand. */
export type ReadSamples = (start: number, length: number) => Float32Array;

/** Samples per read when the statistics stream over a recording: 30 s at 16 kHz. */
const STATS_WINDOW = 480_000;

/**
 * The statistics of layerNormWaveform over a recording read piece by piece: two passes (the mean, then
 * the biased variance about it), summed in the order layerNormWaveform sums, so a streamed recording
 * is normalised exactly as one in hand.
 */
export function layerNormStats(read: ReadSamples, length: number, eps = 1e-5): WaveformNorm {
  if (length === 0) return { mean: 0, scale: 1 / Math.sqrt(eps) };
  let sum = 0;
  for (let s = 0; s < length; s += STATS_WINDOW) {
    const x = read(s, Math.min(STATS_WINDOW, length - s));
    for (let i = 0; i < x.length; i++) sum += x[i];
  }
  const mean = sum / length;
  let sq = 0;
  for (let s = 0; s < length; s += STATS_WINDOW) {
    const x = read(s, Math.min(STATS_WINDOW, length - s));
    for (let i = 0; i < x.length; i++) {
      const d = x[i] - mean;
      sq += d * d;
    }
  }
  return { mean, scale: 1 / Math.sqrt(sq / length + eps) };
}

/** (x − mean)·scale into `out` (may be `samples` itself). */
export function applyWaveformNorm(samples: Float32Array, norm: WaveformNorm, out: Float32Array = new Float32Array(samples.length)): Float32Array {
  for (let i = 0; i < samples.length; i++) out[i] = (samples[i] - norm.mean) * norm.scale;
  return out;
}

/**
 * emotion2vec's input normalisation: F.layer_norm(x, x.shape) over the whole utterance, no affine:
 * (x − mean) / sqrt(var + eps) with the biased (1/N) variance. Use it only for exports that do not
 * normalise in-graph (the official FunASR export does; see docs/model-contracts.md §4.2, §4.4).
 */
export function layerNormWaveform(samples: Float32Array, eps = 1e-5): Float32Array {
  if (samples.length === 0) return new Float32Array(0);
  return applyWaveformNorm(
    samples,
    layerNormStats((s, n) => samples.subarray(s, s + n), samples.length, eps),
  );
}
