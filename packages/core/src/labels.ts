/** Label vocabularies shared by every service, the trainer and the evaluator. Order is part of the contract. */
export const SENTIMENT_LABELS = ['negative', 'neutral', 'positive'] as const;
export type SentimentLabel = (typeof SENTIMENT_LABELS)[number];

export const EMOTION_LABELS = ['happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised', 'neutral'] as const;
export type EmotionLabel = (typeof EMOTION_LABELS)[number];

/** Modality order used in every tensor that has a modality axis (fusion inputs, weights, masks). */
export const MODALITIES = ['text', 'audio', 'vision'] as const;
export type Modality = (typeof MODALITIES)[number];

export const STAGES = ['media', 'asr', 'audio-emotion', 'vision', 'text', 'fusion'] as const;
export type StageName = (typeof STAGES)[number];

export const LANGUAGES = ['zh', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
