import { MODALITIES, type Modality } from '@omniaffect/core';
import {
  clipTargets,
  DATASET_LANGUAGE,
  tallyTextModels,
  type CachedClip,
  type FeatureCache,
  type MmsaDatasetName,
  type SentimentMapping,
  type SplitMode,
  type TextModelTally,
} from '@omniaffect/eval';
import type { ModalitySequence, PolicySample, SampleFeatures } from '@omniaffect/policy';

/** The sequence the fusion service feeds for each modality (services/fusion SEQUENCE_KIND); training must match it. */
export const SEQUENCE_KIND: Record<Modality, string> = { text: 'tokens', audio: 'segments', vision: 'frames' };

/** A PolicySample plus what the report needs to say about it. */
export interface ResearchSample extends PolicySample {
  dataset: MmsaDatasetName;
  mode: SplitMode;
  /** the dataset's label on its own scale ([−1, 1] sims2, [−3, 3] mosei) */
  label: number;
  /** sign-3 index, for cross-dataset scoring */
  sign3: number;
  /** per-item metadata (words, audio segments, frames) of each modality, from the pipeline */
  items: Record<Modality, unknown[]>;
  /** the raw planted_modality cell, when the label file has one */
  plantedClaim?: Modality;
}

/** The encoder sequences of one cached clip; a modality the pipeline did not push (or pushed empty) is absent. */
export function sampleFeatures(clip: CachedClip): { features: SampleFeatures; items: Record<Modality, unknown[]> } {
  const features = {} as SampleFeatures;
  const items = {} as Record<Modality, unknown[]>;
  for (const m of MODALITIES) {
    const t = clip.tensors.find((x) => x.modality === m && x.kind === SEQUENCE_KIND[m]);
    if (!t || t.shape.length !== 2 || t.shape[0]! === 0) {
      features[m] = null;
      items[m] = [];
      continue;
    }
    const seq: ModalitySequence = { data: t.data, len: t.shape[0]! };
    if (t.data.length !== t.shape[0]! * t.shape[1]!)
      throw new Error(`${clip.id}: ${m} ${t.kind} holds ${t.data.length} floats for shape [${t.shape.join(',')}]`);
    features[m] = seq;
    items[m] = t.items;
  }
  return { features, items };
}

/** A cached clip as a training/evaluation sample, labelled from the label-file row stored with it. */
export function toResearchSample(clip: CachedClip, mapping: SentimentMapping = 'mmsa3'): ResearchSample {
  const tg = clipTargets(clip.sample, clip.dataset, mapping);
  const { features, items } = sampleFeatures(clip);
  const s: ResearchSample = {
    id: `${clip.dataset}:${clip.id}`,
    dataset: clip.dataset,
    mode: clip.sample.mode,
    language: DATASET_LANGUAGE[clip.dataset],
    features,
    items,
    sentiment: tg.sentiment,
    sign3: tg.sign3,
    intensity: tg.intensity,
    label: clip.sample.label,
  };
  if (tg.emotion !== undefined) s.emotion = tg.emotion;
  if (tg.plantedModality) s.plantedModality = tg.plantedModality;
  if (tg.plantedClaim) s.plantedClaim = tg.plantedClaim;
  if (tg.unimodal) s.unimodal = tg.unimodal;
  return s;
}

export interface SampleSplits {
  dataset: MmsaDatasetName;
  train: ResearchSample[];
  valid: ResearchSample[];
  test: ResearchSample[];
  /** clips with no modality at all (nothing to fuse); listed, not trained on */
  empty: string[];
  /** feature dims seen in the cache (must be the same for every clip) */
  dims: { text: number; audio: number; vision: number } | null;
  /** the text model each kept clip's text features came from, per language (see @omniaffect/eval text-encoders) */
  textModels: TextModelTally;
}

/** Every finished clip of a cache, split by the label file's mode. `only` restricts to ids in the current label file. */
export function splitsFromCache(cache: FeatureCache, mapping: SentimentMapping = 'mmsa3', only?: ReadonlySet<string>): SampleSplits {
  const out: SampleSplits = { dataset: cache.manifest.dataset, train: [], valid: [], test: [], empty: [], dims: null, textModels: {} };
  const dims: Partial<Record<Modality, number>> = {};
  for (const clip of cache.all()) {
    if (only && !only.has(clip.id)) continue;
    const s = toResearchSample(clip, mapping);
    let any = false;
    for (const m of MODALITIES) {
      const seq = s.features[m];
      if (!seq) continue;
      any = true;
      const d = seq.data.length / seq.len;
      if (dims[m] === undefined) dims[m] = d;
      else if (dims[m] !== d) throw new Error(`${clip.id}: ${m} dim ${d} differs from ${dims[m]} in other clips (features from different encoders?)`);
    }
    if (!any) {
      out.empty.push(clip.id);
      continue;
    }
    out[s.mode].push(s);
    tallyTextModels([clip], out.textModels);
  }
  if (dims.text && dims.audio && dims.vision) out.dims = { text: dims.text, audio: dims.audio, vision: dims.vision };
  return out;
}
