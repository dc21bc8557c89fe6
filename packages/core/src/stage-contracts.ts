import { z } from 'zod';
import { LANGUAGE_OPTIONS, MODALITIES, STAGES, SUPPORTED_LANGUAGES, TERMINAL_STAGE_STATES, type StageName } from './vocabulary';

/**
 * The contracts between stages, as zod schemas: what each stage writes to the artifact store, what it
 * reports in its StageCompletion (`output`), and the queue payloads themselves. One declaration per
 * shape; the TypeScript types are inferred from the schemas, so a type and its runtime check cannot
 * drift apart.
 *
 * Where they are parsed: a worker reading another stage's artifact (asr, audio-emotion and vision
 * read media.json, text reads asr.json), runStageWorker on the job it is handed and on the handler's
 * output before reporting it, and the orchestrator on the completions it receives. A value that fails
 * to parse is a bug in the writer, not bad user input, so it is never a ProblemError blamed on the
 * file: inside a worker it is a retryable error (ending as model-error after the attempts); a
 * completion the orchestrator receives broken fails that stage at once with model-error, since
 * re-sending the same report cannot fix it.
 *
 * Artifacts are read leniently (unknown keys are dropped, not refused): during a rolling upgrade a
 * newer writer may add a field an older reader does not know.
 */

const nonNegative = z.number().min(0);

// ------------------------------------------------------------------------------------- shared parts

/** A model entry as a stage reports it; lands in the result's `models` (open record there too). */
export const ModelEntrySchema = z
  .object({
    name: z.string(),
    provider: z.string().optional(),
    /** Set when the model is generated (tiny pack, stand-in pack): the result must say so. */
    standIn: z.enum(['tiny', 'stand-in']).optional(),
  })
  .passthrough();
export type ModelEntry = z.infer<typeof ModelEntrySchema>;

export const ProsodySchema = z.object({
  f0MeanHz: z.number().nullable(),
  f0StdHz: z.number().nullable(),
  f0MinHz: z.number().nullable(),
  f0MaxHz: z.number().nullable(),
  energyDb: z.number().nullable(),
  voicedRatio: z.number(),
  rateProxy: z.number().nullable(),
});

/** Per-item metadata pushed with embeddings (EmbeddingChunk.items_json); see TokenItem & co. in api-types. */
export const TokenItemSchema = z.object({
  text: z.string(),
  piece: z.string().optional(),
  charStart: z.number().int(),
  charEnd: z.number().int(),
  start: z.number(),
  end: z.number(),
});
export const SegmentItemSchema = z.object({ start: z.number(), end: z.number(), prosody: ProsodySchema });
export const FrameItemSchema = z.object({ time: z.number(), path: z.string().optional() });

// ------------------------------------------------------------------------------------- queue payloads

/**
 * Artifact-store paths (relative to ARTIFACT_DIR) a stage reads, by role. Which are set depends on
 * the stage: media gets `source` and/or `url`; the others `media` and `audio`; text also `asr`; asr
 * also `transcript` when the submission carried one. Extra keys are kept (older orchestrators).
 */
export const StageInputsSchema = z
  .object({
    source: z.string().optional(),
    /** the submission's source URL (media downloads it); never logged unredacted */
    url: z.string().optional(),
    media: z.string().optional(),
    audio: z.string().optional(),
    asr: z.string().optional(),
    transcript: z.string().optional(),
  })
  .catchall(z.string());

/** Jobs reference artifacts by path; they never carry media or tensors. */
export const StageJobSchema = z.object({
  videoId: z.string().min(1),
  stage: z.enum(STAGES),
  language: z.enum(LANGUAGE_OPTIONS),
  inputs: StageInputsSchema,
  enqueuedAt: z.number(),
});
export type StageJobPayload = z.infer<typeof StageJobSchema>;

export const StageProblemSchema = z.object({ type: z.string(), detail: z.string() });

/** The final report of one stage run (a job on the completions queue, id completionJobId). */
export const StageCompletionSchema = z.object({
  videoId: z.string().min(1),
  stage: z.enum(STAGES),
  outcome: z.enum(TERMINAL_STAGE_STATES),
  /** Small JSON summary (the stage's *Output schema below); large outputs live in the artifact store. */
  output: z.record(z.unknown()).optional(),
  /** Problem slug + human text when failed or skipped. */
  problem: StageProblemSchema.optional(),
  startedAt: z.number(),
  finishedAt: z.number(),
  attempts: z.number().int().min(1),
});
export type StageCompletionPayload = z.infer<typeof StageCompletionSchema>;

/** The advisory report that a run began (startedJobId): losing one loses nothing. */
export const StageStartedSchema = z.object({
  videoId: z.string().min(1),
  stage: z.enum(STAGES),
  outcome: z.literal('started'),
  startedAt: z.number(),
  attempts: z.number().int().min(1),
});
export type StageStartedPayload = z.infer<typeof StageStartedSchema>;

/** Anything found on the completions queue. */
export const StageReportSchema = z.union([StageStartedSchema, StageCompletionSchema]);
export type StageReport = z.infer<typeof StageReportSchema>;

// -------------------------------------------------------------------------------------------- media

/** `videos/<id>/media.json`: written once by the media stage (the claim; see media-stage.ts). */
export const MediaArtifactSchema = z.object({
  /** null when neither the container nor the decoded audio gave a duration (NaN before JSON). */
  durationSec: z.number().nullable(),
  formatName: z.string(),
  hasAudio: z.boolean(),
  hasVideo: z.boolean(),
  /** artifact path of the 16 kHz mono float WAV, null without an audio stream */
  audio: z.string().nullable(),
  /** artifact paths of the sampled frames, `time` in seconds from the start */
  frames: z.array(z.object({ path: z.string(), time: nonNegative })),
  /**
   * artifact path of the same frames as one stream of binary PPM (P6) images, in order: the RGB vision
   * reads without decoding JPEG; null or absent (older artifacts) = vision decodes the JPEGs
   */
  pixels: z.string().nullable().optional(),
  /** ffprobe's description (ProbeResult), kept for diagnosis; no stage reads it */
  probe: z.unknown(),
});
export type MediaArtifact = z.infer<typeof MediaArtifactSchema>;

/** What the media stage reports; the orchestrator skips asr/audio-emotion/vision from it. */
export const MediaOutputSchema = z.object({
  durationSec: z.number().nullable(),
  hasAudio: z.boolean(),
  hasVideo: z.boolean(),
  frameCount: z.number().int().min(0),
  formatName: z.string(),
});
export type MediaOutput = z.infer<typeof MediaOutputSchema>;

// ---------------------------------------------------------------------------------------------- asr

/** `videos/<id>/provided-transcript.json`: a transcript that came with the submission (the orchestrator writes it). */
export const ProvidedTranscriptSchema = z.object({
  text: z.string(),
  /** the submission's language option (`auto` lets the script decide) */
  language: z.string(),
});
export type ProvidedTranscript = z.infer<typeof ProvidedTranscriptSchema>;

export const TranscriptSegmentSchema = z.object({
  start: z.number(),
  end: z.number(),
  text: z.string(),
  /** where the segment sits in the transcript's `text`, so the text stage can time its tokens */
  charStart: z.number().int().min(0),
  charEnd: z.number().int().min(0),
});
export type TranscriptSegment = z.infer<typeof TranscriptSegmentSchema>;

/** A stretch of the audio that holds a voice (seconds from the start). */
export const SpeechRegionSchema = z.object({ start: nonNegative, end: nonNegative });
export type SpeechRegionItem = z.infer<typeof SpeechRegionSchema>;

/** Where the voice is, by the voice-activity model (Silero VAD) the asr stage runs before Whisper. */
export const SpeechActivitySchema = z.object({
  regions: z.array(SpeechRegionSchema),
  /** fraction of the audio inside a region */
  speechRatio: z.number().min(0).max(1),
  /** audio length the regions were found in */
  durationSec: nonNegative,
  model: z.string(),
});
export type SpeechActivity = z.infer<typeof SpeechActivitySchema>;

/** `videos/<id>/asr.json`: the transcript (Whisper's, or the provided one). */
export const AsrArtifactSchema = z.object({
  language: z.enum(SUPPORTED_LANGUAGES),
  languageProbability: z.number(),
  /** Whisper's top language token overall; `{ id: -1, code: 'provided' }` for a provided transcript */
  topLanguage: z.object({ id: z.number().int(), code: z.string() }),
  /** the top language is neither zh nor en: text is not analysed */
  languageOutOfScope: z.boolean(),
  noSpeechProbability: z.number(),
  text: z.string(),
  segments: z.array(TranscriptSegmentSchema),
  /** absent in artifacts written before voice-activity detection existed (then: unknown, not "no voice") */
  speech: SpeechActivitySchema.optional(),
});
export type AsrArtifact = z.infer<typeof AsrArtifactSchema>;

export const AsrOutputSchema = z.object({
  hasSpeech: z.boolean(),
  /** seconds of voice the VAD found (absent for artifacts written before it existed) */
  voiceSeconds: nonNegative.optional(),
  language: z.enum(SUPPORTED_LANGUAGES),
  languageProbability: z.number(),
  segments: z.number().int().min(0),
  /** Set when text must not run although there is speech (language out of scope): the skip reason. */
  skipText: z.string().optional(),
  model: ModelEntrySchema,
});
export type AsrOutput = z.infer<typeof AsrOutputSchema>;

// ------------------------------------------------------------------------------------ audio-emotion

/** `videos/<id>/audio-emotion.json`; `dim`/`model` let a re-run answer without inference. */
export const AudioEmotionArtifactSchema = z.object({
  segments: z.array(SegmentItemSchema),
  emotion: z.object({ labels: z.array(z.string()), probabilities: z.array(z.number()) }).nullable(),
  prosody: ProsodySchema,
  normalisation: z.string(),
  dim: z.number().int().optional(),
  model: ModelEntrySchema.optional(),
});
export type AudioEmotionArtifact = z.infer<typeof AudioEmotionArtifactSchema>;

export const AudioEmotionOutputSchema = z.object({
  segments: z.number().int().min(0),
  dim: z.number().int().nullable(),
  /** the utterance-level top emotion of the speech-emotion head, when the model has one */
  speechEmotion: z.string().nullable(),
  model: ModelEntrySchema,
});
export type AudioEmotionOutput = z.infer<typeof AudioEmotionOutputSchema>;

// ------------------------------------------------------------------------------------------ vision

/** Vision writes no artifact file: its frame embeddings (FrameItem items) go to fusion. */
export const VisionOutputSchema = z.object({
  frames: z.number().int().min(0),
  dim: z.number().int().min(0),
  model: ModelEntrySchema,
});
export type VisionOutput = z.infer<typeof VisionOutputSchema>;

// -------------------------------------------------------------------------------------------- text

/** Text writes no artifact file either: its token embeddings (TokenItem items) go to fusion. */
export const TextOutputSchema = z.object({
  tokens: z.number().int().min(0),
  /** word pieces left out of the pushed sequence by TEXT_MAX_TOKENS (the pooled embedding covers them) */
  tokensDropped: z.number().int().min(1).optional(),
  windows: z.number().int().min(0),
  /** the encoder's entry, plus which language slot ran and why a fallback was taken */
  model: ModelEntrySchema.and(
    z.object({
      language: z.string(),
      slot: z.string(),
      fallbackReason: z.string().optional(),
      tokenizerDrift: z.unknown().optional(),
    }),
  ),
});
export type TextOutput = z.infer<typeof TextOutputSchema>;

// ------------------------------------------------------------------------------------------ fusion

/** What the fusion stage records: which modalities were fused, and the fusion model. */
export const FusionOutputSchema = z.object({
  present: z.array(z.enum(MODALITIES)),
  model: ModelEntrySchema.optional(),
});
export type FusionOutput = z.infer<typeof FusionOutputSchema>;

// ---------------------------------------------------------------------------------------- registry

/** The `output` each stage reports with outcome `done` (and may report with `skipped`). */
export const STAGE_OUTPUT_SCHEMAS = {
  media: MediaOutputSchema,
  asr: AsrOutputSchema,
  'audio-emotion': AudioEmotionOutputSchema,
  vision: VisionOutputSchema,
  text: TextOutputSchema,
  fusion: FusionOutputSchema,
} as const satisfies Record<StageName, z.ZodObject<z.ZodRawShape>>;
export type StageOutputs = { [S in StageName]: z.infer<(typeof STAGE_OUTPUT_SCHEMAS)[S]> };

/** The JSON artifact each stage writes as `videos/<id>/<stage>.json` (vision, text and fusion write none). */
export const STAGE_ARTIFACT_SCHEMAS = {
  media: MediaArtifactSchema,
  asr: AsrArtifactSchema,
  'audio-emotion': AudioEmotionArtifactSchema,
} as const;

/** A contract broken by our own code: retryable, and never shown to the client as the file's fault. */
export class ContractError extends Error {
  constructor(
    readonly what: string,
    readonly issues: string[],
  ) {
    super(`${what} does not match its contract: ${issues.join('; ')}`);
    this.name = 'ContractError';
  }
}

/** Parses `value` or throws a ContractError naming each offending field (never the values: transcripts are the tenant's). */
export function parseContract<T extends z.ZodTypeAny>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data as z.infer<T>;
  throw new ContractError(
    what,
    r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message.replace(/,? received '.*'$/, '')}`),
  );
}

/** The stage's output checked against STAGE_OUTPUT_SCHEMAS; strict at the top level so an undeclared field is caught in tests. */
export function parseStageOutput<S extends StageName>(stage: S, output: unknown): StageOutputs[S] {
  return parseContract(STAGE_OUTPUT_SCHEMAS[stage].strict(), output, `the ${stage} stage's output`) as StageOutputs[S];
}

/**
 * An artifact path the dispatcher must have given this stage. Its absence is a bug in the
 * orchestrator (a plain, retryable error that ends as model-error), never the user's file.
 */
export function requiredInput(job: StageJobPayload, name: string): string {
  const p = job.inputs[name];
  if (typeof p !== 'string' || p.length === 0) throw new Error(`the ${job.stage} job for ${job.videoId} carries no "${name}" input`);
  return p;
}
