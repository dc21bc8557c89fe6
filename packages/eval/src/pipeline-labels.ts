import { EMOTION_LABELS, MODALITIES, type Language, type Modality } from '@omniaffect/core';
import type { MmsaSample } from './mmsa-dataset';
import { LABEL_RANGE, normalizeEmotionName, sentimentClass3Index, sentimentSign3Index, type MmsaDatasetName } from './sentiment-labels';

/** The language each dataset is spoken in. */
export const DATASET_LANGUAGE: Record<MmsaDatasetName, Language> = { sims2: 'zh', mosei: 'en' };

/** Intensity target = label / scale, so both datasets train on [−1, 1]; predictions go back × scale. */
export const LABEL_SCALE: Record<MmsaDatasetName, number> = { sims2: LABEL_RANGE.sims2[1], mosei: LABEL_RANGE.mosei[1] };

export type SentimentMapping = 'mmsa3' | 'sign3';

/** What the trainer and the evaluator need to know about one labelled clip. */
export interface ClipTargets {
  /** SENTIMENT_LABELS index under the requested mapping */
  sentiment: number;
  /** sign-3 index (the cross-dataset mapping), always given */
  sign3: number;
  /** label / LABEL_SCALE, in [−1, 1] */
  intensity: number;
  /** EMOTION_LABELS index when the label file has an emotion column the vocabulary knows */
  emotion?: number;
  /**
   * The modality that carries the label, when the label file names one (`planted_modality`) AND that claim is
   * checkable: the clip's label is non-zero and, where unimodal labels exist, only that modality's is non-zero.
   * A neutral synthetic clip carries the same neutral cue in every modality, so no test could single one out.
   */
  plantedModality?: Modality;
  /** the raw `planted_modality` cell, also for clips where it is not checkable */
  plantedClaim?: Modality;
  /** the unimodal labels (label_T/A/V) under the same mapping, where the label file has them */
  unimodal?: Partial<Record<Modality, { sentiment: number; intensity: number }>>;
}

function extraCell(sample: MmsaSample, name: string): string | undefined {
  if (!sample.extra) return undefined;
  const key = Object.keys(sample.extra).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : sample.extra[key]?.trim();
  return v ? v : undefined;
}

const UNIMODAL_KEY: Record<Modality, 'labelT' | 'labelA' | 'labelV'> = { text: 'labelT', audio: 'labelA', vision: 'labelV' };

/** Labels of one dataset clip for training and scoring; `mapping` picks the 3-class rule (MMSA's by default). */
export function clipTargets(sample: MmsaSample, dataset: MmsaDatasetName, mapping: SentimentMapping = 'mmsa3'): ClipTargets {
  const sign3 = sentimentSign3Index(sample.label);
  const sentiment = mapping === 'mmsa3' ? sentimentClass3Index(sample.label, dataset) : sign3;
  const intensity = Math.max(-1, Math.min(1, sample.label / LABEL_SCALE[dataset]));
  const out: ClipTargets = { sentiment, sign3, intensity };
  const emotionCell = extraCell(sample, 'emotion');
  if (emotionCell) {
    const e = normalizeEmotionName(emotionCell);
    if (e) out.emotion = EMOTION_LABELS.indexOf(e);
  }
  for (const m of MODALITIES) {
    const v = sample[UNIMODAL_KEY[m]];
    if (v === undefined) continue;
    out.unimodal ??= {};
    out.unimodal[m] = {
      sentiment: mapping === 'mmsa3' ? sentimentClass3Index(v, dataset) : sentimentSign3Index(v),
      intensity: Math.max(-1, Math.min(1, v / LABEL_SCALE[dataset])),
    };
  }
  const claim = extraCell(sample, 'planted_modality')?.toLowerCase();
  if (claim && (MODALITIES as readonly string[]).includes(claim)) {
    const m = claim as Modality;
    out.plantedClaim = m;
    const uni = MODALITIES.map((x) => sample[UNIMODAL_KEY[x]]);
    const haveUni = uni.some((v) => v !== undefined);
    const onlyPlantedNonZero = MODALITIES.every((x, i) => (x === m ? uni[i] !== 0 : !uni[i]));
    if (sample.label !== 0 && (!haveUni || onlyPlantedNonZero)) out.plantedModality = m;
  }
  return out;
}
