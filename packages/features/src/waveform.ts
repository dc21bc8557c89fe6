/**
 * emotion2vec's input normalisation: F.layer_norm(x, x.shape) over the whole utterance, no affine:
 * (x − mean) / sqrt(var + eps) with the biased (1/N) variance. Use it only for exports that do not
 * normalise in-graph (the official FunASR export does; see docs/model-contracts.md §4.2, §4.4).
 */
export function layerNormWaveform(samples: Float32Array, eps = 1e-5): Float32Array {
  const n = samples.length;
  const out = new Float32Array(n);
  if (n === 0) return out;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += samples[i];
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = samples[i] - mean;
    sq += d * d;
  }
  const inv = 1 / Math.sqrt(sq / n + eps);
  for (let i = 0; i < n; i++) out[i] = (samples[i] - mean) * inv;
  return out;
}
