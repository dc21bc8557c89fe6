import { MODALITIES, SUPPORTED_LANGUAGES, type Language, type Modality } from '@omniaffect/core';
import { Rng } from './prng';
import type { ModalityDims, ModalitySequence, PolicySample, SampleFeatures } from './types';

export interface SyntheticOptions {
  n: number;
  dims: ModalityDims;
  seed: number;
  languages?: readonly Language[];
  /** [min, max] items per modality (words, audio segments, frames) */
  lengths?: Record<Modality, [number, number]>;
  /** scale of the class prototype in the decisive items, relative to unit-variance noise */
  signal?: number;
  /** probability that each non-planted modality is absent */
  absentProbability?: number;
  /** share of samples that carry an emotion label */
  emotionLabelledFraction?: number;
  /** [min, max] number of decisive items inside the planted modality */
  decisiveItems?: [number, number];
  /** every `padEvery`-th sample gets one trailing padded (mask 0) item of garbage */
  padEvery?: number;
}

/** emotion indices (EMOTION_LABELS order) compatible with each sentiment */
const EMOTIONS_BY_SENTIMENT: readonly (readonly number[])[] = [
  [1, 2, 3, 4], // negative: sad, angry, fearful, disgusted
  [6, 5], // neutral: neutral, surprised
  [0, 5], // positive: happy, surprised
];

export interface SyntheticFeatureSet {
  samples: PolicySample[];
  /** how the set was made, for manifests and reports */
  description: Record<string, unknown>;
}

/**
 * Clips whose sentiment (and emotion and intensity) is planted in one known modality: a few items of
 * that modality carry a class prototype, everything else is unit-variance noise. Text items also carry a
 * per-language offset so the zh and en versions of a class start apart (what the contrastive term fixes).
 */
export function makeSyntheticFeatureSet(opts: SyntheticOptions): SyntheticFeatureSet {
  const rng = new Rng(opts.seed);
  const languages = opts.languages ?? SUPPORTED_LANGUAGES;
  const lengths = opts.lengths ?? { text: [4, 16], audio: [3, 12], vision: [2, 8] };
  const signal = opts.signal ?? 1.0;
  const absentP = opts.absentProbability ?? 0.15;
  const emoFrac = opts.emotionLabelledFraction ?? 0.7;
  const [dMin, dMax] = opts.decisiveItems ?? [1, 3];
  const padEvery = opts.padEvery ?? 5;

  const unit = (d: number) => {
    const v = Float32Array.from({ length: d }, () => rng.normal());
    let n = 0;
    for (const x of v) n += x * x;
    n = Math.sqrt(n);
    // norm √d so a prototype is as large as a noise vector before `signal` scales it
    for (let i = 0; i < d; i++) v[i] = (v[i]! / n) * Math.sqrt(d);
    return v;
  };
  const proto = {} as Record<Modality, { sent: Float32Array[]; emo: Float32Array[]; dir: Float32Array }>;
  for (const m of MODALITIES) {
    proto[m] = {
      sent: [0, 1, 2].map(() => unit(opts.dims[m])),
      emo: Array.from({ length: 7 }, () => unit(opts.dims[m])),
      dir: unit(opts.dims[m]),
    };
  }
  const langShift = new Map(languages.map((l) => [l, unit(opts.dims.text)] as const));

  const samples: PolicySample[] = [];
  for (let s = 0; s < opts.n; s++) {
    const language = languages[rng.int(languages.length)]!;
    const sentiment = rng.int(3);
    const emos = EMOTIONS_BY_SENTIMENT[sentiment]!;
    const emotionIdx = emos[rng.int(emos.length)]!;
    const intensity = sentiment === 0 ? -rng.uniform(0.2, 1) : sentiment === 2 ? rng.uniform(0.2, 1) : rng.uniform(-0.2, 0.2);
    const planted = MODALITIES[rng.int(3)]!;
    const features = {} as SampleFeatures;
    let plantedItems: number[] = [];
    for (const m of MODALITIES) {
      if (m !== planted && rng.next() < absentP) {
        features[m] = null;
        continue;
      }
      const D = opts.dims[m];
      const [lo, hi] = lengths[m];
      const len = lo + rng.int(hi - lo + 1);
      const padded = padEvery > 0 && s % padEvery === padEvery - 1;
      const total = padded ? len + 1 : len;
      const data = new Float32Array(total * D);
      for (let i = 0; i < data.length; i++) data[i] = rng.normal();
      if (m === planted) {
        const k = Math.min(len, dMin + rng.int(dMax - dMin + 1));
        const order = rng.shuffle(Array.from({ length: len }, (_, i) => i));
        plantedItems = order.slice(0, k).sort((a, b) => a - b);
        const p = proto[m];
        for (const i of plantedItems) {
          for (let d = 0; d < D; d++) {
            data[i * D + d] += signal * (p.sent[sentiment]![d]! + 0.6 * p.emo[emotionIdx]![d]! + 0.8 * intensity * p.dir[d]!);
          }
        }
      }
      if (m === 'text') {
        const shift = langShift.get(language)!;
        for (let i = 0; i < len; i++) for (let d = 0; d < D; d++) data[i * D + d] += 0.5 * shift[d]!;
      }
      let mask: Float32Array | undefined;
      if (padded) {
        mask = new Float32Array(total).fill(1);
        mask[len] = 0;
        // garbage in the padded slot: the policy must ignore it exactly
        for (let d = 0; d < D; d++) data[len * D + d] = 50 * rng.normal();
      }
      const seq: ModalitySequence = { data, len: total, ...(mask ? { mask } : {}) };
      features[m] = seq;
    }
    const sample: PolicySample = {
      id: `syn-${opts.seed}-${s}`,
      language,
      features,
      sentiment,
      intensity,
      plantedModality: planted,
      plantedItems,
    };
    if (rng.next() < emoFrac) sample.emotion = emotionIdx;
    samples.push(sample);
  }
  return {
    samples,
    description: {
      kind: 'synthetic-planted-modality',
      n: opts.n,
      dims: opts.dims,
      seed: opts.seed,
      languages,
      lengths,
      signal,
      absentProbability: absentP,
      emotionLabelledFraction: emoFrac,
      decisiveItems: [dMin, dMax],
    },
  };
}
