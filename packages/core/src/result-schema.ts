import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { EMOTION_LABELS, MODALITIES, SENTIMENT_LABELS, STAGES, type Language } from './labels';

/**
 * THE result document: its JSON Schema (published at GET /v1/schemas/result.json and in the OpenAPI
 * document) and its TypeScript type. Times are seconds from the start of the video.
 */
export const DISCLAIMER =
  'OmniAffect reports how emotion is expressed and would likely be perceived by an observer (words, voice, face); ' +
  'it does not measure what a person actually feels. Do not use it to make decisions about individuals.';

export interface Prosody {
  f0MeanHz: number | null;
  f0StdHz: number | null;
  f0MinHz: number | null;
  f0MaxHz: number | null;
  energyDb: number | null;
  voicedRatio: number;
  rateProxy: number | null;
}

export interface ModalityReport {
  present: boolean;
  contribution: number;
  reason?: string;
}

export interface DecisionStep {
  step: number;
  description: string;
  [k: string]: unknown;
}

/**
 * What every evidence item carries: `weight` is the model's attention on the item; `deletionDrop` is
 * how much the predicted sentiment's probability falls when this item alone is masked and the fusion
 * model re-run; `verified` is true only when that drop is positive. Lists are ranked by the drop.
 * `segment` is the index in `timeline` the item was checked in.
 */
export interface EvidenceCheck {
  weight: number;
  deletionDrop: number;
  verified: boolean;
  segment?: number;
}
export type WordEvidence = { text: string; start: number; end: number; charStart: number; charEnd: number } & EvidenceCheck;
export type AudioEvidence = { start: number; end: number; prosody: Prosody } & EvidenceCheck;
export type FrameEvidence = { time: number; path?: string } & EvidenceCheck;
export interface Evidence {
  words: WordEvidence[];
  audioSegments: AudioEvidence[];
  frames: FrameEvidence[];
}

/**
 * ERASER-style faithfulness of the verified evidence (DeYoung et al. 2020): with R the verified items,
 * comprehensiveness = p(ŷ | all) − p(ŷ | all without R), sufficiency = p(ŷ | all) − p(ŷ | R alone).
 * Both null (with `reason`) when nothing was verified.
 */
export interface Faithfulness {
  comprehensiveness: number | null;
  sufficiency: number | null;
  /** how many items R holds */
  items: number;
  reason?: string;
}

export type SentimentReport = { label: (typeof SENTIMENT_LABELS)[number]; probabilities: Record<(typeof SENTIMENT_LABELS)[number], number>; intensity: number };
export type EmotionReport = { label: (typeof EMOTION_LABELS)[number]; probabilities: Record<(typeof EMOTION_LABELS)[number], number> };

/** One stretch of the emotion timeline, fused from what falls inside it. */
export interface TimelineSegment {
  start: number;
  end: number;
  /** the segment holds speech (transcript or VAD voice) */
  speech: boolean;
  sentiment: SentimentReport;
  emotion: EmotionReport;
  modalities: Record<(typeof MODALITIES)[number], ModalityReport>;
  evidence: Evidence;
  faithfulness: Faithfulness;
  /** this segment's weight in the top-level verdict (duration × confidence, normalised); 0 when nothing in it could be read */
  verdictWeight: number;
  decisionPath: DecisionStep[];
}

export interface AnalysisResult {
  id: string;
  status: 'succeeded';
  language: Language | null;
  sentiment: SentimentReport;
  emotion: EmotionReport;
  modalities: Record<(typeof MODALITIES)[number], ModalityReport>;
  evidence: Evidence;
  faithfulness: Faithfulness;
  timeline: TimelineSegment[];
  decisionPath: DecisionStep[];
  transcript: {
    language: Language | null;
    languageProbability?: number;
    text: string;
    segments: { start: number; end: number; text: string }[];
  };
  models: Record<string, { name: string; version?: string; provider?: string; [k: string]: unknown }>;
  timings: Partial<Record<(typeof STAGES)[number], { seconds: number }>> & { totalSeconds?: number };
  disclaimer: string;
}

const prob = { type: 'number', minimum: 0, maximum: 1 };
const time = { type: 'number', minimum: 0 };
const probMap = (keys: readonly string[]) => ({
  type: 'object',
  required: [...keys],
  additionalProperties: false,
  properties: Object.fromEntries(keys.map((k) => [k, prob])),
});
const nullableNumber = { type: ['number', 'null'] };
const check = {
  weight: prob,
  deletionDrop: { type: 'number', minimum: -1, maximum: 1 },
  verified: { type: 'boolean' },
  segment: { type: 'integer', minimum: 0 },
};
const checkRequired = ['weight', 'deletionDrop', 'verified'];
const sentimentSchema = {
  type: 'object',
  required: ['label', 'probabilities', 'intensity'],
  additionalProperties: false,
  properties: {
    label: { enum: [...SENTIMENT_LABELS] },
    probabilities: probMap(SENTIMENT_LABELS),
    intensity: { type: 'number', minimum: -1, maximum: 1 },
  },
};
const emotionSchema = {
  type: 'object',
  required: ['label', 'probabilities'],
  additionalProperties: false,
  properties: { label: { enum: [...EMOTION_LABELS] }, probabilities: probMap(EMOTION_LABELS) },
};
const modalitiesSchema = {
  type: 'object',
  required: [...MODALITIES],
  additionalProperties: false,
  properties: Object.fromEntries(
    MODALITIES.map((m) => [
      m,
      {
        type: 'object',
        required: ['present', 'contribution'],
        additionalProperties: false,
        properties: { present: { type: 'boolean' }, contribution: prob, reason: { type: 'string' } },
      },
    ]),
  ),
};
const prosodySchema = {
  type: 'object',
  required: ['f0MeanHz', 'f0StdHz', 'f0MinHz', 'f0MaxHz', 'energyDb', 'voicedRatio', 'rateProxy'],
  additionalProperties: false,
  properties: {
    f0MeanHz: nullableNumber,
    f0StdHz: nullableNumber,
    f0MinHz: nullableNumber,
    f0MaxHz: nullableNumber,
    energyDb: nullableNumber,
    voicedRatio: prob,
    rateProxy: nullableNumber,
  },
};
const evidenceSchema = {
  type: 'object',
  required: ['words', 'audioSegments', 'frames'],
  additionalProperties: false,
  properties: {
    words: {
      type: 'array',
      items: {
        type: 'object',
        required: ['text', 'start', 'end', 'charStart', 'charEnd', ...checkRequired],
        additionalProperties: false,
        properties: {
          text: { type: 'string' },
          start: time,
          end: time,
          charStart: { type: 'integer', minimum: 0 },
          charEnd: { type: 'integer', minimum: 0 },
          ...check,
        },
      },
    },
    audioSegments: {
      type: 'array',
      items: {
        type: 'object',
        required: ['start', 'end', 'prosody', ...checkRequired],
        additionalProperties: false,
        properties: { start: time, end: time, prosody: prosodySchema, ...check },
      },
    },
    frames: {
      type: 'array',
      items: {
        type: 'object',
        required: ['time', ...checkRequired],
        additionalProperties: false,
        properties: { time, path: { type: 'string' }, ...check },
      },
    },
  },
};
const faithfulnessSchema = {
  type: 'object',
  required: ['comprehensiveness', 'sufficiency', 'items'],
  additionalProperties: false,
  properties: {
    comprehensiveness: { type: ['number', 'null'], minimum: -1, maximum: 1 },
    sufficiency: { type: ['number', 'null'], minimum: -1, maximum: 1 },
    items: { type: 'integer', minimum: 0 },
    reason: { type: 'string' },
  },
};
const decisionPathSchema = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    required: ['step', 'description'],
    properties: { step: { type: 'integer', minimum: 1 }, description: { type: 'string', minLength: 1 } },
  },
};

export const RESULT_SCHEMA = {
  $id: 'https://omniaffect.dev/schemas/result.json',
  title: 'OmniAffect analysis result',
  type: 'object',
  required: [
    'id',
    'status',
    'language',
    'sentiment',
    'emotion',
    'modalities',
    'evidence',
    'faithfulness',
    'timeline',
    'decisionPath',
    'transcript',
    'models',
    'timings',
    'disclaimer',
  ],
  additionalProperties: false,
  properties: {
    id: { type: 'string', minLength: 1 },
    status: { const: 'succeeded' },
    language: { enum: ['zh', 'en', null] },
    sentiment: sentimentSchema,
    emotion: emotionSchema,
    modalities: modalitiesSchema,
    evidence: evidenceSchema,
    faithfulness: faithfulnessSchema,
    timeline: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['start', 'end', 'speech', 'sentiment', 'emotion', 'modalities', 'evidence', 'faithfulness', 'verdictWeight', 'decisionPath'],
        additionalProperties: false,
        properties: {
          start: time,
          end: time,
          speech: { type: 'boolean' },
          sentiment: sentimentSchema,
          emotion: emotionSchema,
          modalities: modalitiesSchema,
          evidence: evidenceSchema,
          faithfulness: faithfulnessSchema,
          verdictWeight: prob,
          decisionPath: decisionPathSchema,
        },
      },
    },
    decisionPath: decisionPathSchema,
    transcript: {
      type: 'object',
      required: ['language', 'text', 'segments'],
      additionalProperties: false,
      properties: {
        language: { enum: ['zh', 'en', null] },
        languageProbability: prob,
        text: { type: 'string' },
        segments: {
          type: 'array',
          items: {
            type: 'object',
            required: ['start', 'end', 'text'],
            additionalProperties: false,
            properties: { start: time, end: time, text: { type: 'string' } },
          },
        },
      },
    },
    models: {
      type: 'object',
      additionalProperties: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
    },
    timings: {
      type: 'object',
      properties: Object.fromEntries(STAGES.map((s) => [s, { type: 'object', required: ['seconds'], properties: { seconds: time } }])),
    },
    disclaimer: { type: 'string', minLength: 20 },
  },
} as const;

let validator: ValidateFunction | undefined;

/** Schema validation plus the invariants JSON Schema cannot say (contributions sum to 1 over present). */
export function validateResult(doc: unknown): { ok: boolean; errors: string[] } {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    validator = ajv.compile(RESULT_SCHEMA);
  }
  const errors: string[] = [];
  if (!validator(doc)) {
    for (const e of validator.errors ?? []) errors.push(`${e.instancePath || '/'} ${e.message}`);
    return { ok: false, errors };
  }
  const r = doc as AnalysisResult;
  checkPart('', r, errors);
  r.timeline.forEach((seg, i) => {
    checkPart(`/timeline/${i}`, seg, errors);
    if (seg.end < seg.start) errors.push(`/timeline/${i} ends before it starts`);
    const prev = r.timeline[i - 1];
    if (prev && Math.abs(prev.end - seg.start) > 1e-3) errors.push(`/timeline/${i} does not start where /timeline/${i - 1} ends`);
  });
  if (r.timeline.length && r.timeline[0]!.start > 1e-3) errors.push('/timeline does not start at 0');
  const weights = r.timeline.reduce((a, seg) => a + seg.verdictWeight, 0);
  if (weights > 0 && Math.abs(weights - 1) > 1e-3) errors.push(`/timeline verdict weights sum to ${weights}`);
  return { ok: errors.length === 0, errors };
}

/** The invariants shared by the whole result and each timeline segment. */
function checkPart(at: string, r: Pick<AnalysisResult, 'sentiment' | 'emotion' | 'modalities' | 'evidence'>, errors: string[]): void {
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  if (Math.abs(sum(r.sentiment.probabilities) - 1) > 1e-3) errors.push(`${at}/sentiment/probabilities do not sum to 1`);
  if (Math.abs(sum(r.emotion.probabilities) - 1) > 1e-3) errors.push(`${at}/emotion/probabilities do not sum to 1`);
  // A present modality the fusion model does not weigh at all (e.g. text under a zero-shot fusion with
  // no trained text head) says so with contribution 0 and a reason; the weighed ones share 1 between
  // them. With none weighed the verdict is the model's prior, and nothing is owed.
  const present = MODALITIES.filter((m) => r.modalities[m].present);
  const weighed = present.filter((m) => !(r.modalities[m].contribution === 0 && r.modalities[m].reason));
  const contrib = weighed.reduce((a, m) => a + r.modalities[m].contribution, 0);
  if (weighed.length > 0 && Math.abs(contrib - 1) > 1e-3) errors.push(`${at}/modalities contributions of present modalities sum to ${contrib}`);
  for (const m of MODALITIES) {
    if (!r.modalities[m].present && r.modalities[m].contribution !== 0) errors.push(`${at}/modalities/${m} absent but contributes`);
    if (!r.modalities[m].present && !r.modalities[m].reason) errors.push(`${at}/modalities/${m} absent without a reason`);
  }
  for (const w of r.evidence.words) if (w.charEnd < w.charStart || w.end < w.start) errors.push(`${at}/evidence/words has a reversed span`);
  for (const s of r.evidence.audioSegments) if (s.end < s.start) errors.push(`${at}/evidence/audioSegments has a reversed span`);
  const items: EvidenceCheck[] = [...r.evidence.words, ...r.evidence.audioSegments, ...r.evidence.frames];
  for (const e of items) if (e.verified !== e.deletionDrop > 0) errors.push(`${at}/evidence: verified must be true exactly when deletionDrop > 0`);
}
