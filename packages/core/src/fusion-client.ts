import type * as grpcTypes from '@grpc/grpc-js';
import { FUSION_SERVICE, grpcClient, unary } from './grpc';
import { ProblemError, isProblemSlug, type ProblemSlug } from './problems';

export interface EmbeddingPush {
  videoId: string;
  modality: 'text' | 'audio' | 'vision';
  kind: string;
  /** [items, dim] for sequences, [dim] for vectors */
  shape: number[];
  data: Float32Array;
  items: unknown[];
  model: string;
}

const CHUNK_BYTES = 1024 * 1024;

/** Workers push their encoder outputs to fusion over a client-streaming gRPC call, in ≤1 MiB chunks. */
export class FusionPushClient {
  private readonly client: grpcTypes.Client;
  constructor(
    address: string,
    private readonly deadlineMs = 60_000,
  ) {
    this.client = grpcClient(FUSION_SERVICE, address);
  }

  push(p: EmbeddingPush): Promise<{ items: number; bytes: number }> {
    const bytes = Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength);
    return new Promise((resolve, reject) => {
      const call = (this.client as unknown as { PushEmbeddings: Function }).PushEmbeddings(
        { deadline: Date.now() + this.deadlineMs },
        (err: grpcTypes.ServiceError | null, ack: { items: number; bytes: number }) => (err ? reject(err) : resolve(ack)),
      ) as grpcTypes.ClientWritableStream<unknown>;
      call.on('error', () => undefined);
      let offset = 0;
      let first = true;
      do {
        const slice = bytes.subarray(offset, offset + CHUNK_BYTES);
        call.write(
          first
            ? { videoId: p.videoId, modality: p.modality, kind: p.kind, shape: p.shape, data: slice, itemsJson: JSON.stringify(p.items), model: p.model }
            : { data: slice },
        );
        first = false;
        offset += CHUNK_BYTES;
      } while (offset < bytes.length);
      call.end();
    });
  }

  /**
   * Idempotent by construction (a replayed push replaces the stored tensor), so transient failures
   * retry. A refusal that no retry can change (the video was erased: 'gone'; a malformed push) comes
   * back as a ProblemError, which fails the stage at once instead of after all its job attempts.
   */
  async pushWithRetry(p: EmbeddingPush, attempts = 4): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        await this.push(p);
        return;
      } catch (err) {
        const refusal = permanentRefusal(err);
        if (refusal) throw refusal;
        const code = (err as grpcTypes.ServiceError).code;
        // 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED
        if (i >= attempts - 1 || (code !== 14 && code !== 4)) throw err;
        await new Promise((r) => setTimeout(r, 250 * 2 ** i));
      }
    }
  }

  close(): void {
    this.client.close();
  }
}

const PERMANENT: ReadonlySet<ProblemSlug> = new Set<ProblemSlug>(['gone', 'validation', 'payload-too-large']);

/** fusion's problem (details = JSON {slug, detail}) when it is one that retrying cannot change. */
function permanentRefusal(err: unknown): ProblemError | null {
  try {
    const parsed = JSON.parse((err as grpcTypes.ServiceError).details ?? '') as { slug?: string; detail?: string };
    if (parsed.slug && isProblemSlug(parsed.slug) && PERMANENT.has(parsed.slug)) return new ProblemError(parsed.slug, parsed.detail ?? parsed.slug);
  } catch {
    /* not one of ours: a transport error */
  }
  return null;
}

/** One stored tensor as fusion's GetFeatures returns it (the GET /features document's element). */
export interface StoredFeature {
  modality: string;
  kind: string;
  shape: number[];
  /** little-endian float32, row-major */
  data: Buffer;
  items: unknown[];
  model: string | null;
}

/** What Fuse is asked: which modalities finished with output and why the others are absent. */
export interface FuseRequest {
  videoId: string;
  present: string[];
  absent: Record<string, string>;
  language: string;
  /** the timeline's cut (planTimeline); empty or absent = one segment over all the items */
  segments?: { start: number; end: number; speech: boolean; voiceSeconds: number | null }[];
  /** the VAD's voiced stretches; null or absent = no VAD ran */
  voice?: { start: number; end: number }[] | null;
}

/**
 * The orchestrator's client of fusion, the only owner of the embeddings: Fuse (the fusion stage),
 * GetFeatures (GET /features) and Forget (erasure: drops a video's embeddings and records the id, so
 * a push still in flight from a worker that held the job is refused afterwards).
 */
export class FusionClient {
  private readonly client: grpcTypes.Client;
  constructor(
    address: string,
    private readonly deadlineMs = 10_000,
  ) {
    this.client = grpcClient(FUSION_SERVICE, address);
  }

  /** Idempotent (forgetting twice is forgetting), so transport failures are retried. */
  async forget(videoId: string): Promise<number> {
    const res = await unary<{ videoId: string }, { removed: number }>(
      this.client,
      'Forget',
      { videoId },
      { deadlineMs: this.deadlineMs, idempotent: true, retries: 2 },
    );
    return res.removed;
  }

  /** A pure read, so transport failures are retried. */
  async features(videoId: string): Promise<StoredFeature[]> {
    const res = await unary<
      { videoId: string },
      { tensors: { modality: string; kind: string; shape: number[]; data: Buffer; itemsJson: string; model: string }[] }
    >(this.client, 'GetFeatures', { videoId }, { deadlineMs: this.deadlineMs, idempotent: true, retries: 2 });
    return (res.tensors ?? []).map((t) => ({
      modality: t.modality,
      kind: t.kind,
      shape: t.shape,
      data: t.data,
      items: t.itemsJson ? (JSON.parse(t.itemsJson) as unknown[]) : [],
      model: t.model || null,
    }));
  }

  /** The fusion part of a result as JSON (see the orchestrator's result-builder); a pure read of stored embeddings. */
  async fuse(req: FuseRequest, deadlineMs = 60_000): Promise<string> {
    const wire = {
      ...req,
      segments: (req.segments ?? []).map((s) => ({
        start: s.start,
        end: s.end,
        speech: s.speech,
        voiceSeconds: s.voiceSeconds ?? 0,
        hasVoiceInfo: s.voiceSeconds !== null,
      })),
      voice: req.voice ?? [],
      hasVoiceInfo: Array.isArray(req.voice),
    };
    const res = await unary<typeof wire, { fusionJson: string }>(this.client, 'Fuse', wire, { deadlineMs, idempotent: true });
    return res.fusionJson;
  }

  close(): void {
    this.client.close();
  }
}
