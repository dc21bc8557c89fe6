import type { ProblemDocument } from './problems';
import type { Prosody } from './result-schema';
import type { StageName } from './labels';
import type { StageState, VideoStatusName } from './vocabulary';

/** GET /v1/videos/:id */
export interface VideoDocument {
  id: string;
  status: VideoStatusName;
  language: string;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  source: { kind: string; filename: string | null; contentType: string | null; sizeBytes: number | null; url?: string | null };
  metadata: Record<string, unknown>;
  /** fraction of stages finished (done, failed or skipped) */
  progress: number;
  stages: Partial<Record<StageName, { state: StageState; reason: string | null; attempts: number; startedAt: string | null; finishedAt: string | null }>>;
  error: ProblemDocument | null;
  links: { self: string; result: string; report: string; events: string };
}

/**
 * What DELETE /v1/videos/:id answers once the video is erased. Nothing else of the video is kept
 * (the tombstone is id, owner and erasure time); every later call about it answers 'gone' (410) to
 * its owner and 'not-found' to anyone else.
 */
export interface ErasedVideoDocument {
  id: string;
  status: 'erased';
  erasedAt: string;
}

export interface WebhookDocument {
  id: string;
  url: string;
  events: string[];
  createdAt: string;
  /** Only in the response that created it. */
  secret?: string;
}

export interface DeliveryDocument {
  id: string;
  webhookId: string | null;
  videoId: string;
  eventType: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
}

/** One reviewer rating of a video's explanation (POST/GET /v1/videos/:id/ratings). */
export interface RatingDocument {
  id: string;
  videoId: string;
  /** 1–5: how clear the explanation was to the reviewer */
  clarity: number;
  /** 1–5: how much the cited evidence bore on the verdict */
  relevance: number;
  comment: string | null;
  /** `name@version` of the fusion model that made the rated result (models.fusion), so ratings compare model versions */
  fusionModel: string;
  createdAt: string;
}

/** One score's distribution; `histogram[k]` counts the ratings that gave k + 1. */
export interface RatingScoreSummary {
  mean: number;
  median: number;
  histogram: [number, number, number, number, number];
}

/** GET /v1/ratings/summary: the API key's ratings per fusion model version. */
export interface RatingsSummaryDocument {
  models: { fusionModel: string; count: number; clarity: RatingScoreSummary; relevance: RatingScoreSummary }[];
}

/** GET /v1/videos: the key's videos, newest first; `next` is the `before` cursor of the following page. */
export interface VideoListDocument {
  videos: VideoDocument[];
  next: string | null;
}

/**
 * Orchestrator.GetMedia (internal, gateway only): what serving GET /v1/videos/:id/media needs to know. The
 * bytes are read from the artifact store at artifactPaths.source(id), never from a path in this document.
 */
export interface MediaDocument {
  id: string;
  /** the video's owner; the gateway counts a signed link's requests against that key's rate limit */
  owner: string;
  status: VideoStatusName;
  sourceKind: string;
  /** as the upload declared it (unchecked: the gateway serves only audio/* and video/* as such) */
  contentType: string | null;
  /** set once retention erased the raw media (MEDIA_RETENTION_HOURS) */
  mediaErasedAt: string | null;
}

export const WEBHOOK_EVENTS = ['video.succeeded', 'video.failed'] as const;

/** Per-item metadata the workers push with their embeddings (EmbeddingChunk.items_json). */
export interface TokenItem {
  /** the transcript text under the token */
  text: string;
  /** the WordPiece (e.g. `##ing`), when it differs from text */
  piece?: string;
  charStart: number;
  charEnd: number;
  start: number;
  end: number;
}
export interface SegmentItem {
  start: number;
  end: number;
  prosody: Prosody;
}
export interface FrameItem {
  time: number;
  path?: string;
}

export const videoLinks = (id: string) => ({
  self: `/v1/videos/${id}`,
  result: `/v1/videos/${id}/result`,
  report: `/v1/videos/${id}/report`,
  events: `/v1/videos/${id}/events`,
});

/** What the gateway asks the orchestrator to create (Orchestrator.Submit). */
export interface SubmitInput {
  /** hash of the API key that submitted (videos are per key) */
  owner: string;
  /** chosen by the gateway so an upload can be stored under it before the row exists */
  videoId: string;
  idempotencyKey: string;
  sourceKind: 'upload' | 'url';
  /**
   * Ignored by the orchestrator, which derives an upload's path from its video id
   * (artifactPaths.source): a caller must not be able to point a video at another video's file.
   * Kept on the wire for older gateways.
   */
  sourcePath: string;
  sourceUrl: string;
  filename: string;
  contentType: string;
  sizeBytes: number;
  language: string;
  callbackUrl: string;
  metadata: Record<string, unknown>;
  /** a known transcript (research datasets): ASR is skipped and this text is analysed */
  transcript?: string;
}

/** One encoder output as stored by fusion and served by GET /v1/videos/:id/features (decoded). */
export interface EncoderTensor {
  modality: string;
  kind: string;
  shape: number[];
  data: Float32Array;
  items: unknown[];
  model: string | null;
}

/** Orchestrator.Submit on the wire (proto-loader camelCase): metadata travels as JSON text. */
export type SubmitRequestWire = Omit<SubmitInput, 'metadata' | 'sourceKind'> & { sourceKind: string; metadataJson: string };
