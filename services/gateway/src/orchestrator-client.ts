import {
  type SubmitInput,
  type SubmitRequestWire,
  ORCHESTRATOR_SERVICE,
  ProblemError,
  grpcClient,
  problemFromGrpc,
  unary,
  type DeliveryDocument,
  type ErasedVideoDocument,
  type MediaDocument,
  type RatingDocument,
  type RatingInput,
  type RatingsSummaryDocument,
  type VideoDocument,
  type VideoListDocument,
  type WebhookDocument,
} from '@omniaffect/core';
import type { grpc } from '@omniaffect/core';

export type { SubmitInput };

interface VideoReply {
  videoJson: string;
  created: boolean;
}
interface DocumentReply {
  json: string;
}

/** Reads need to be quick; Submit waits on a database transaction and may take longer. */
const READ_DEADLINE_MS = 5_000;
const WRITE_DEADLINE_MS = 10_000;

/**
 * The gateway's only door to video and webhook state. Every method takes the owner (API key hash)
 * so the orchestrator scopes what it returns; gRPC failures come back as ProblemErrors.
 */
export class OrchestratorClient {
  private readonly client: grpc.Client;

  constructor(readonly address: string) {
    this.client = grpcClient(ORCHESTRATOR_SERVICE, address);
  }

  close(): void {
    this.client.close();
  }

  /**
   * Retried on transport failures: the gateway chose the video id, so a repeated Submit names the
   * same video and the orchestrator answers it instead of creating a second one.
   */
  async submit(input: SubmitInput): Promise<{ video: VideoDocument; created: boolean }> {
    const reply = await this.call<VideoReply>(
      'Submit',
      {
        owner: input.owner,
        idempotencyKey: input.idempotencyKey,
        sourceKind: input.sourceKind,
        sourcePath: input.sourcePath,
        sourceUrl: input.sourceUrl,
        filename: input.filename,
        contentType: input.contentType,
        sizeBytes: input.sizeBytes,
        language: input.language,
        callbackUrl: input.callbackUrl,
        metadataJson: JSON.stringify(input.metadata),
        videoId: input.videoId,
        transcript: input.transcript ?? '',
      } satisfies SubmitRequestWire,
      WRITE_DEADLINE_MS,
      true,
    );
    return { video: parseJson<VideoDocument>(reply.videoJson, 'Submit'), created: reply.created };
  }

  async features(owner: string, id: string): Promise<unknown> {
    const reply = await this.call<DocumentReply>('GetFeatures', { owner, id }, 30_000, true);
    return parseJson<unknown>(reply.json, 'GetFeatures');
  }

  async get(owner: string, id: string): Promise<VideoDocument> {
    const reply = await this.call<VideoReply>('Get', { owner, id }, READ_DEADLINE_MS, true);
    return parseJson<VideoDocument>(reply.videoJson, 'Get');
  }

  /** The raw result document (or, from a lenient orchestrator, the video document when not succeeded). */
  async getResult(owner: string, id: string): Promise<Record<string, unknown>> {
    const reply = await this.call<DocumentReply>('GetResult', { owner, id }, READ_DEADLINE_MS, true);
    return parseJson<Record<string, unknown>>(reply.json, 'GetResult');
  }

  async cancel(owner: string, id: string): Promise<ErasedVideoDocument> {
    const reply = await this.call<VideoReply>('Cancel', { owner, id }, WRITE_DEADLINE_MS, true);
    return parseJson<ErasedVideoDocument>(reply.videoJson, 'Cancel');
  }

  /** Not retried: a lost reply would leave a second subscription with a secret nobody saw. */
  async createWebhook(owner: string, url: string, events: string[]): Promise<WebhookDocument> {
    const reply = await this.call<DocumentReply>('CreateWebhook', { owner, url, events }, WRITE_DEADLINE_MS, false);
    return parseJson<WebhookDocument>(reply.json, 'CreateWebhook');
  }

  async listWebhooks(owner: string): Promise<WebhookDocument[]> {
    const reply = await this.call<DocumentReply>('ListWebhooks', { owner }, READ_DEADLINE_MS, true);
    return listOf<WebhookDocument>(parseJson<unknown>(reply.json, 'ListWebhooks'), 'webhooks');
  }

  async deleteWebhook(owner: string, id: string): Promise<void> {
    await this.call<DocumentReply>('DeleteWebhook', { owner, id }, WRITE_DEADLINE_MS, true);
  }

  async listDeliveries(owner: string, id: string): Promise<DeliveryDocument[]> {
    const reply = await this.call<DocumentReply>('ListDeliveries', { owner, id }, READ_DEADLINE_MS, true);
    return listOf<DeliveryDocument>(parseJson<unknown>(reply.json, 'ListDeliveries'), 'deliveries');
  }

  async callbackSecret(owner: string): Promise<string> {
    const reply = await this.call<DocumentReply>('GetCallbackSecret', { owner }, READ_DEADLINE_MS, true);
    const { secret } = parseJson<{ secret?: unknown }>(reply.json, 'GetCallbackSecret');
    if (typeof secret !== 'string') throw new ProblemError('internal', 'GetCallbackSecret answered without a secret');
    return secret;
  }

  /** `before` is the previous page's `next` cursor, passed through as the orchestrator made it. */
  async listVideos(owner: string, limit: number, before: string): Promise<VideoListDocument> {
    const reply = await this.call<DocumentReply>('ListVideos', { owner, limit, before }, READ_DEADLINE_MS, true);
    const doc = parseJson<Partial<VideoListDocument>>(reply.json, 'ListVideos');
    return { videos: listOf<VideoDocument>(doc, 'videos'), next: typeof doc.next === 'string' ? doc.next : null };
  }

  /** Not retried: a lost reply would store the rating twice. */
  async addRating(owner: string, id: string, reviewer: string, rating: RatingInput): Promise<RatingDocument> {
    const reply = await this.call<DocumentReply>(
      'AddRating',
      {
        owner,
        id,
        reviewer,
        clarity: rating.clarity,
        relevance: rating.relevance,
        comment: rating.comment ?? '',
        hasComment: rating.comment !== null,
      },
      WRITE_DEADLINE_MS,
      false,
    );
    return parseJson<RatingDocument>(reply.json, 'AddRating');
  }

  async listRatings(owner: string, id: string): Promise<RatingDocument[]> {
    const reply = await this.call<DocumentReply>('ListRatings', { owner, id }, READ_DEADLINE_MS, true);
    return listOf<RatingDocument>(parseJson<unknown>(reply.json, 'ListRatings'), 'ratings');
  }

  async ratingsSummary(owner: string): Promise<RatingsSummaryDocument> {
    const reply = await this.call<DocumentReply>('RatingsSummary', { owner }, READ_DEADLINE_MS, true);
    return { models: listOf<RatingsSummaryDocument['models'][number]>(parseJson<unknown>(reply.json, 'RatingsSummary'), 'models') };
  }

  /**
   * What serving the video's media needs. `signedLink`: the caller presented a media link this gateway
   * signed and verified, which stands for the owner; `owner` is then empty. `fileMissing`: asked again
   * after the file was not found, to learn whether retention has just erased it.
   */
  async media(owner: string, id: string, signedLink: boolean, fileMissing = false): Promise<MediaDocument> {
    const reply = await this.call<DocumentReply>('GetMedia', { owner, id, signedLink, fileMissing }, READ_DEADLINE_MS, true);
    return parseJson<MediaDocument>(reply.json, 'GetMedia');
  }

  private async call<Res>(method: string, request: object, deadlineMs: number, idempotent: boolean): Promise<Res> {
    try {
      return await unary<object, Res>(this.client, method, request, { deadlineMs, idempotent, retries: 2 });
    } catch (err) {
      throw err instanceof ProblemError ? err : problemFromGrpc(err);
    }
  }
}

function parseJson<T>(text: string, method: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ProblemError('internal', `orchestrator ${method} returned invalid JSON`);
  }
}

function listOf<T>(value: unknown, key: string): T[] {
  if (Array.isArray(value)) return value as T[];
  const inner = (value as Record<string, unknown> | null)?.[key];
  if (Array.isArray(inner)) return inner as T[];
  throw new ProblemError('internal', `orchestrator returned no ${key} list`);
}
