/** Label vocabularies shared by every service, the trainer and the evaluator. Order is part of the contract. */
export const SENTIMENT_LABELS = ['negative', 'neutral', 'positive'] as const;
export type SentimentLabel = (typeof SENTIMENT_LABELS)[number];

export const EMOTION_LABELS = ['happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised', 'neutral'] as const;
export type EmotionLabel = (typeof EMOTION_LABELS)[number];

/**
 * Each emotion's everyday word in the supported languages: the zero-shot fusion's prompt words and
 * the stand-in SigLIP text tower's vocabulary. zh 平静 ("calm") stands for neutral.
 */
export const EMOTION_WORDS: Readonly<Record<EmotionLabel, { en: string; zh: string }>> = {
  happy: { en: 'happy', zh: '快乐' },
  sad: { en: 'sad', zh: '悲伤' },
  angry: { en: 'angry', zh: '生气' },
  fearful: { en: 'fearful', zh: '恐惧' },
  disgusted: { en: 'disgusted', zh: '厌恶' },
  surprised: { en: 'surprised', zh: '惊讶' },
  neutral: { en: 'neutral', zh: '平静' },
};

// Stages, modalities and languages live in vocabulary.ts; re-exported here so imports of ./labels keep working.
export { MODALITIES, STAGES, SUPPORTED_LANGUAGES, type Language, type Modality, type StageName } from './vocabulary';
import { SUPPORTED_LANGUAGES } from './vocabulary';

/**
 * @deprecated The name said two things (supported languages vs. what a submission may ask for):
 * use SUPPORTED_LANGUAGES, or LANGUAGE_OPTIONS for the list with `auto`.
 */
export const LANGUAGES = SUPPORTED_LANGUAGES;
