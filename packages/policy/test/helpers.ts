import { MODALITIES } from '@omniaffect/core';
import { PARAM_NAMES, Rng, type ModalityDims, type PolicyParams, type PolicySample, type SampleFeatures } from '../src/index';

/** Random clips with ragged lengths, padded garbage items and absent modalities. */
export function randomSamples(n: number, dims: ModalityDims, seed: number, opts: { absent?: boolean } = {}): PolicySample[] {
  const rng = new Rng(seed);
  const out: PolicySample[] = [];
  for (let s = 0; s < n; s++) {
    const features = {} as SampleFeatures;
    MODALITIES.forEach((m, mi) => {
      // row s drops modality (s % 3) on every third row, never all three
      if (opts.absent !== false && s % 3 === 1 && mi === s % 3) {
        features[m] = null;
        return;
      }
      const len = 1 + rng.int(4);
      const total = len + (s % 2); // odd rows get one padded item
      const data = Float32Array.from({ length: total * dims[m] }, () => rng.normal());
      const mask = new Float32Array(total).fill(1);
      if (total > len) {
        mask[len] = 0;
        for (let d = 0; d < dims[m]; d++) data[len * dims[m] + d] = 100 * rng.normal();
      }
      features[m] = { data, len: total, mask };
    });
    out.push({
      id: `r${s}`,
      language: s % 2 === 0 ? 'zh' : 'en',
      features,
      sentiment: rng.int(3),
      ...(s % 4 !== 3 ? { emotion: rng.int(7) } : {}),
      intensity: rng.uniform(-1, 1),
    });
  }
  return out;
}

/** Moves every tensor (biases included) off its init so no gradient path is trivially zero. */
export function jitterParams(p: PolicyParams, seed: number, scale = 0.3): void {
  const rng = new Rng(seed);
  for (const name of PARAM_NAMES) {
    const t = p.tensors[name];
    for (let i = 0; i < t.length; i++) t[i] = t[i]! + scale * rng.normal();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
