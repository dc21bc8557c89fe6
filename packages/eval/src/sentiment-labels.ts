import { EMOTION_LABELS, SENTIMENT_LABELS, type EmotionLabel, type SentimentLabel } from '@omniaffect/core';
import { f32 } from './numpy-compat';

export type MmsaDatasetName = 'sims2' | 'mosei';

/** Inclusive label range of each dataset's multimodal `label` column (and label_T/A/V). */
export const LABEL_RANGE: Record<MmsaDatasetName, readonly [number, number]> = {
  sims2: [-1, 1],
  mosei: [-3, 3],
};

/**
 * 3-class sentiment exactly as MMSA bins it (indices follow SENTIMENT_LABELS: negative, neutral, positive).
 *
 * - sims2: __eval_sims_regression 3-class after clipping to [−1, 1], edges [−1.01, −0.1, 0.1, 1.01] compared in
 *   float32: negative x ≤ −0.1 (−0.1 itself is negative), neutral −0.1 < x ≤ 0.1, positive x > 0.1.
 * - mosei: MMSA's (computed, unreported) Mult_acc_3, np.round(clip(x, −1, 1)) with half-to-even: negative x < −0.5,
 *   neutral −0.5 ≤ x ≤ 0.5, positive x > 0.5. Note this is not the sign of the label: 0.3333 is neutral here.
 *   For anything compared across datasets use sentimentSign3.
 */
export function sentimentClass3(label: number, dataset: MmsaDatasetName): SentimentLabel {
  return SENTIMENT_LABELS[sentimentClass3Index(label, dataset)]!;
}

export function sentimentClass3Index(label: number, dataset: MmsaDatasetName): 0 | 1 | 2 {
  if (!Number.isFinite(label)) throw new Error(`sentimentClass3: label ${label} is not finite`);
  const x = f32(label);
  if (dataset === 'sims2') {
    const c = Math.min(f32(1), Math.max(f32(-1), x));
    if (c <= f32(-0.1)) return 0;
    if (c <= f32(0.1)) return 1;
    return 2;
  }
  const c = Math.min(1, Math.max(-1, x));
  if (c < -0.5) return 0;
  if (c > 0.5) return 2;
  return 1;
}

/**
 * Sign-3 (<0 / =0 / >0): the one 3-way mapping that treats 0 the same way on CH-SIMS v2 and CMU-MOSEI, so the
 * cross-lingual scores and the trainer's accuracy reward use it. On SIMS v2's 0.2 grid (and its one −0.1 clip)
 * it equals MMSA's 3-class; on MOSEI it equals the dataset's own `annotation` column.
 */
export function sentimentSign3(label: number): SentimentLabel {
  return SENTIMENT_LABELS[sentimentSign3Index(label)]!;
}

export function sentimentSign3Index(label: number): 0 | 1 | 2 {
  if (!Number.isFinite(label)) throw new Error(`sentimentSign3: label ${label} is not finite`);
  return label < 0 ? 0 : label > 0 ? 2 : 1;
}

/** Names (lower-cased, trimmed) that mean a sentiment class, in English and Chinese. */
const SENTIMENT_NAMES: Record<string, SentimentLabel> = {
  negative: 'negative',
  neg: 'negative',
  消极: 'negative',
  负面: 'negative',
  负向: 'negative',
  负: 'negative',
  neutral: 'neutral',
  neu: 'neutral',
  中性: 'neutral',
  中立: 'neutral',
  中: 'neutral',
  positive: 'positive',
  pos: 'positive',
  积极: 'positive',
  正面: 'positive',
  正向: 'positive',
  正: 'positive',
};

/**
 * Emotion names onto EMOTION_LABELS, covering MOSEI's/emotion2vec's spellings and common Chinese words.
 * emotion2vec's `other`/`unknown` deliberately have no entry: they are not one of our seven.
 */
const EMOTION_NAMES: Record<string, EmotionLabel> = {
  happy: 'happy',
  happiness: 'happy',
  joy: 'happy',
  joyful: 'happy',
  开心: 'happy',
  高兴: 'happy',
  快乐: 'happy',
  喜悦: 'happy',
  愉快: 'happy',
  快樂: 'happy',
  開心: 'happy',
  sad: 'sad',
  sadness: 'sad',
  难过: 'sad',
  伤心: 'sad',
  悲伤: 'sad',
  难受: 'sad',
  難過: 'sad',
  傷心: 'sad',
  悲傷: 'sad',
  angry: 'angry',
  anger: 'angry',
  mad: 'angry',
  生气: 'angry',
  愤怒: 'angry',
  恼火: 'angry',
  生氣: 'angry',
  憤怒: 'angry',
  fearful: 'fearful',
  fear: 'fearful',
  afraid: 'fearful',
  scared: 'fearful',
  害怕: 'fearful',
  恐惧: 'fearful',
  恐懼: 'fearful',
  disgusted: 'disgusted',
  disgust: 'disgusted',
  厌恶: 'disgusted',
  恶心: 'disgusted',
  厭惡: 'disgusted',
  噁心: 'disgusted',
  surprised: 'surprised',
  surprise: 'surprised',
  惊讶: 'surprised',
  吃惊: 'surprised',
  惊奇: 'surprised',
  驚訝: 'surprised',
  neutral: 'neutral',
  中性: 'neutral',
  平静: 'neutral',
  平靜: 'neutral',
};

export function normalizeSentimentName(name: string): SentimentLabel | null {
  return SENTIMENT_NAMES[name.trim().toLowerCase()] ?? null;
}

export function normalizeEmotionName(name: string): EmotionLabel | null {
  return EMOTION_NAMES[name.trim().toLowerCase()] ?? null;
}

export type UnifiedLabel = { kind: 'sentiment'; label: SentimentLabel; index: number } | { kind: 'emotion'; label: EmotionLabel; index: number };

export interface UnifiedLabelOptions {
  /** Needed for numeric labels only if `mapping` is 'mmsa3'. */
  dataset?: MmsaDatasetName;
  /** Which vocabulary a bare name belongs to; 'neutral'/'中性' exist in both, so default 'sentiment' for those. */
  kind?: 'sentiment' | 'emotion';
  /** Numeric labels: 'sign3' (default, cross-dataset) or 'mmsa3' (sentimentClass3 of `dataset`). */
  mapping?: 'sign3' | 'mmsa3';
}

/**
 * Maps a dataset label (a number from either dataset, an `annotation` such as "Positive", or a sentiment/emotion
 * name in English or Chinese) onto the shared vocabularies of @omniaffect/core. Returns null when the value has
 * no place there (e.g. emotion2vec's "other"), so the caller can decide rather than guess.
 */
export function toUnifiedLabel(raw: number | string, options: UnifiedLabelOptions = {}): UnifiedLabel | null {
  const numeric = typeof raw === 'number' ? raw : raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : null;
  if (numeric !== null) {
    if (options.kind === 'emotion') return null;
    let index: number;
    if (options.mapping === 'mmsa3') {
      if (!options.dataset) throw new Error("toUnifiedLabel: mapping 'mmsa3' needs a dataset");
      index = sentimentClass3Index(numeric, options.dataset);
    } else {
      index = sentimentSign3Index(numeric);
    }
    return { kind: 'sentiment', label: SENTIMENT_LABELS[index]!, index };
  }
  const name = String(raw);
  const sentiment = normalizeSentimentName(name);
  const emotion = normalizeEmotionName(name);
  const wantEmotion = options.kind === 'emotion' || (options.kind === undefined && emotion !== null && sentiment === null);
  if (wantEmotion) {
    return emotion ? { kind: 'emotion', label: emotion, index: EMOTION_LABELS.indexOf(emotion) } : null;
  }
  return sentiment ? { kind: 'sentiment', label: sentiment, index: SENTIMENT_LABELS.indexOf(sentiment) } : null;
}

/** The trainer's accuracy check: both sides normalised the same way, then compared; false when either has no mapping. */
export function sameUnifiedLabel(a: number | string, b: number | string, options: UnifiedLabelOptions = {}): boolean {
  const x = toUnifiedLabel(a, options);
  const y = toUnifiedLabel(b, options);
  return x !== null && y !== null && x.kind === y.kind && x.label === y.label;
}
