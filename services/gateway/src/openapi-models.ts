import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';
import { LANGUAGE_OPTIONS, STAGE_STATES, VIDEO_STATUSES, WEBHOOK_EVENTS } from '@omniaffect/core';

/**
 * Classes that exist to describe request and response bodies in the OpenAPI document; the handlers
 * validate bodies themselves and answer problem+json, so these carry no validation logic.
 */
export class VideoLinks {
  @ApiProperty({ example: '/v1/videos/0b7e…' }) self!: string;
  @ApiProperty() result!: string;
  @ApiProperty() report!: string;
  @ApiProperty() events!: string;
}

export class SubmitUrlBody {
  @ApiProperty({ description: 'http(s) URL of the media; must resolve to a public address', example: 'https://example.com/clip.mp4' })
  url!: string;
  @ApiPropertyOptional({ enum: LANGUAGE_OPTIONS, default: 'auto' }) language?: string;
  @ApiPropertyOptional({ description: 'Webhook-style callback for this video only' }) callbackUrl?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'Up to 16 KB of JSON returned with the video' })
  metadata?: Record<string, unknown>;
  @ApiPropertyOptional({
    description:
      'Known transcript (research datasets): ASR is skipped and this text is analysed; `language` then names its language (auto = detected from the script)',
  })
  transcript?: string;
}

export class SubmitUploadBody {
  @ApiProperty({ type: 'string', format: 'binary', description: 'The video or audio file, streamed to storage' }) file!: unknown;
  @ApiPropertyOptional({ enum: LANGUAGE_OPTIONS, default: 'auto' }) language?: string;
  @ApiPropertyOptional() callbackUrl?: string;
  @ApiPropertyOptional({ description: 'JSON object, as a string' }) metadata?: string;
  @ApiPropertyOptional({
    description:
      'Known transcript (research datasets): ASR is skipped and this text is analysed; `language` then names its language (auto = detected from the script)',
  })
  transcript?: string;
}

export class VideoAccepted {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: VIDEO_STATUSES }) status!: string;
  @ApiProperty({ type: VideoLinks }) links!: VideoLinks;
}

/** What DELETE answers: the video is gone, only its tombstone (id, owner, erasure time) is kept. */
export class ErasedVideo {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['erased'] }) status!: string;
  @ApiProperty({ format: 'date-time' }) erasedAt!: string;
}

export class StageProgress {
  @ApiProperty({ enum: STAGE_STATES }) state!: string;
  @ApiProperty({ type: 'string', nullable: true }) reason!: string | null;
  @ApiProperty() attempts!: number;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true }) startedAt!: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true }) finishedAt!: string | null;
}

export class Video {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: VIDEO_STATUSES }) status!: string;
  @ApiProperty({ description: 'Requested or detected language' }) language!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true }) startedAt!: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true }) finishedAt!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) source!: Record<string, unknown>;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata!: Record<string, unknown>;
  @ApiProperty({ minimum: 0, maximum: 1, description: 'Fraction of stages finished' }) progress!: number;
  @ApiProperty({
    type: 'object',
    description: 'Keyed by stage: media, asr, audio-emotion, vision, text, fusion',
    additionalProperties: { $ref: '#/components/schemas/StageProgress' },
  })
  stages!: Record<string, StageProgress>;
  @ApiProperty({ nullable: true, allOf: [{ $ref: '#/components/schemas/Problem' }] }) error!: unknown;
  @ApiProperty({ type: VideoLinks }) links!: VideoLinks;
}

export class CreateWebhookBody {
  @ApiProperty({ example: 'https://example.com/hooks/omniaffect' }) url!: string;
  @ApiProperty({ enum: WEBHOOK_EVENTS, isArray: true, example: [...WEBHOOK_EVENTS] }) events!: string[];
}

export class Webhook {
  @ApiProperty() id!: string;
  @ApiProperty() url!: string;
  @ApiProperty({ enum: WEBHOOK_EVENTS, isArray: true }) events!: string[];
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class CreatedWebhook extends Webhook {
  @ApiProperty({ description: 'Standard Webhooks signing secret (whsec_…); shown only in this response', example: 'whsec_…' })
  secret!: string;
}

export class CallbackSecret {
  @ApiProperty({
    description: 'Standard Webhooks secret (whsec_…) that signs deliveries to the callbackUrl of videos submitted with this API key',
    example: 'whsec_…',
  })
  secret!: string;
}

export class WebhookList {
  @ApiProperty({ type: Webhook, isArray: true }) webhooks!: Webhook[];
}

export class Delivery {
  @ApiProperty() id!: string;
  @ApiProperty({ type: 'string', nullable: true }) webhookId!: string | null;
  @ApiProperty() videoId!: string;
  @ApiProperty({ enum: WEBHOOK_EVENTS }) eventType!: string;
  @ApiProperty({ enum: ['pending', 'succeeded', 'failed'] }) status!: string;
  @ApiProperty() attempts!: number;
  @ApiProperty({ type: 'integer', nullable: true }) lastStatus!: number | null;
  @ApiProperty({ type: 'string', nullable: true }) lastError!: string | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true }) nextAttemptAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class DeliveryList {
  @ApiProperty({ type: Delivery, isArray: true }) deliveries!: Delivery[];
}

export class VideoList {
  @ApiProperty({ type: Video, isArray: true, description: 'Newest first; each as GET /v1/videos/{id} answers it' }) videos!: Video[];
  @ApiProperty({ type: 'string', nullable: true, description: 'Pass as `before` for the next page; null on the last page' }) next!: string | null;
}

export class RatingBody {
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 5, description: 'How clear the explanation was' }) clarity!: number;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 5, description: 'How much the cited evidence bore on the verdict' }) relevance!: number;
  @ApiPropertyOptional({ type: 'string', nullable: true, maxLength: 2000, description: 'Free text, at most 2000 characters' }) comment?: string | null;
}

export class Rating {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) videoId!: string;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 5 }) clarity!: number;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 5 }) relevance!: number;
  @ApiProperty({ type: 'string', nullable: true }) comment!: string | null;
  @ApiProperty({ description: 'name@version of the fusion model whose result was rated (models.fusion)', example: 'omniaffect-policy@3' })
  fusionModel!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class RatingList {
  @ApiProperty({ type: Rating, isArray: true, description: 'Newest first' }) ratings!: Rating[];
}

export class RatingScores {
  @ApiProperty() mean!: number;
  @ApiProperty() median!: number;
  @ApiProperty({ type: 'integer', isArray: true, minItems: 5, maxItems: 5, description: 'How many ratings gave 1, 2, 3, 4, 5' }) histogram!: number[];
}

export class ModelRatings {
  @ApiProperty({ example: 'omniaffect-policy@3' }) fusionModel!: string;
  @ApiProperty({ type: 'integer' }) count!: number;
  @ApiProperty({ type: RatingScores }) clarity!: RatingScores;
  @ApiProperty({ type: RatingScores }) relevance!: RatingScores;
}

export class RatingsSummary {
  @ApiProperty({ type: ModelRatings, isArray: true, description: 'One entry per fusion model version, over the ratings of this API key’s videos' })
  models!: ModelRatings[];
}

export const PROBLEM_SCHEMA = {
  type: 'object',
  description: 'RFC 9457 problem details; `type` ends in a stable slug (e.g. url-not-allowed, not-ready)',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', format: 'uri', example: 'https://omniaffect.dev/problems/not-found' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
  },
  additionalProperties: true,
};

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (validation, unsupported-language)',
  401: 'Missing or invalid API key (unauthorized)',
  404: 'No such resource for this API key (not-found)',
  409: 'The result is not ready yet (not-ready)',
  410: 'The video was erased; only a tombstone is left (gone)',
  413: 'Upload or body too large (payload-too-large)',
  415: 'Not an audio or video file (unsupported-content-type)',
  416: 'The Range starts past the end of the media (range-not-satisfiable); Content-Range gives its size',
  422: 'URL not allowed, or the video failed (url-not-allowed, unsupported-media, no-audio-track, too-long …)',
  429: 'Too many requests or open event streams for this API key (rate-limited); see Retry-After and RateLimit-*',
  500: 'Internal error (internal); the detail names a request id to quote',
  501: 'The operator has not enabled this feature (not-configured)',
  503: 'The orchestrator or its database is unavailable (unavailable); retry after Retry-After seconds',
};

/** Documents problem+json answers for the given statuses (401 is implied by bearer auth on every route). */
export const ApiProblems = (...statuses: number[]) =>
  applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      }),
    ),
  );
