import * as path from 'node:path';
import {
  FUSION_MIGRATIONS,
  FUSION_SERVICE,
  MODALITIES,
  ProblemError,
  buffersOf,
  createDb,
  ensureDatabase,
  isDbUnavailableError,
  isVideoId,
  migrate,
  problemToGrpc,
  startGrpcServer,
  startModelThread,
  type FrameItem,
  type FusionManifest,
  type Logger,
  type Modality,
  type PlannedSegment,
  type SegmentItem,
  type TokenItem,
  type ModelThread,
  type ServiceContext,
  type ServiceHooks,
  type ServiceMetrics,
  type grpc,
} from '@omniaffect/core';
import type { FusionConfig } from './config';
import { EmbeddingStore, float32Bytes, type TensorWriter } from './embedding-store';
import { explain, fuseTimeline, unweighedOf, type ModalitySequence } from '@omniaffect/explain';
import { FeedPool } from './feed-pool';
import { collectSequences } from './fusion-inputs';
import type { FusionRun } from './fusion-thread';

interface Chunk {
  videoId: string;
  modality: string;
  kind: string;
  shape: number[];
  data: Buffer;
  itemsJson: string;
  model: string;
}

interface WireFuseRequest {
  videoId: string;
  present: string[];
  absent: Record<string, string>;
  segments?: { start: number; end: number; speech: boolean; voiceSeconds: number; hasVoiceInfo: boolean }[];
  voice?: { start: number; end: number }[];
  hasVoiceInfo?: boolean;
}

const MAX_PUSH_BYTES = 512 * 1024 * 1024;
const MAX_PUSH_MESSAGE_BYTES = 4 * 1024 * 1024;
/**
 * Fusions at once: each holds a database connection for its snapshot from its first read to its
 * last, and the model thread runs one batch at a time anyway; more would only drain the pool that
 * pushes, Forget and GetFeatures need.
 */
const MAX_CONCURRENT_FUSES = 2;
/** The orchestrator caps the timeline well below this (DEFAULT_TIMELINE_LIMITS.maxSegments); more is a caller's bug. */
const MAX_PLAN_SEGMENTS = 20_000;

/** The plan as the caller sent it, checked: finite, ordered, non-overlapping. */
function checkPlan(plan: PlannedSegment[]): PlannedSegment[] {
  if (plan.length > MAX_PLAN_SEGMENTS) throw new ProblemError('validation', `at most ${MAX_PLAN_SEGMENTS} timeline segments`);
  plan.forEach((s, i) => {
    if (!Number.isFinite(s.start) || !Number.isFinite(s.end) || s.start < 0 || s.end < s.start)
      throw new ProblemError('validation', `timeline segment ${i} has a bad span`);
    if (i > 0 && s.start < plan[i - 1]!.end - 1e-6) throw new ProblemError('validation', `timeline segment ${i} overlaps the one before`);
  });
  return plan;
}

/** One segment spanning every item: what a caller that sends no plan gets (and every short clip). */
function wholeSpan(seqs: Record<Modality, ModalitySequence>): PlannedSegment {
  const times: number[] = [];
  if (seqs.text.present) for (const t of seqs.text.items as TokenItem[]) times.push(t.start, t.end);
  if (seqs.audio.present) for (const a of seqs.audio.items as SegmentItem[]) times.push(a.start, a.end);
  if (seqs.vision.present) for (const f of seqs.vision.items as FrameItem[]) times.push(f.time);
  return { start: 0, end: times.length ? Math.max(...times) : 0, speech: seqs.text.present, voiceSeconds: null };
}
const KIND = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * Ids are the orchestrator's video ids (UUIDs). Anything else is refused before it reaches the store:
 * fusion must not become a place where arbitrary keys (or another format's ids) collect tensors.
 */
function assertVideoId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !isVideoId(id)) throw new ProblemError('validation', 'video_id must be a video id (lowercase UUID)');
}

/** The gRPC error for `err`: our problems as they are; a database outage as 'unavailable'; anything else generic. */
function grpcError(err: unknown, log: Logger, what: string): grpc.ServiceError {
  if (err instanceof ProblemError) return problemToGrpc(err) as grpc.ServiceError;
  log.error({ err }, what);
  // pg's own text names hosts, ports and users: it stays in the log
  const p = isDbUnavailableError(err)
    ? new ProblemError('unavailable', 'the embedding store is unavailable; retry later')
    : new ProblemError('internal', `${what}; see the fusion service log`);
  return problemToGrpc(p) as grpc.ServiceError;
}

/** omniaffect.v1.Fusion over a model thread and the shared embedding store. */
export class FusionService {
  private model: ModelThread<FusionManifest> | null = null;
  manifest: FusionManifest | null = null;

  constructor(
    private readonly store: EmbeddingStore,
    private readonly log: Logger,
    private readonly metrics: ServiceMetrics,
    private readonly opts: { modelDir: string; provider: string; intraOpThreads: number },
  ) {}

  private fusing = 0;
  private readonly waiting: (() => void)[] = [];

  /** Runs `fn` once fewer than MAX_CONCURRENT_FUSES fusions are running; later ones wait in order. */
  private async inSlot<T>(fn: () => Promise<T>): Promise<T> {
    while (this.fusing >= MAX_CONCURRENT_FUSES) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.fusing++;
    try {
      return await fn();
    } finally {
      this.fusing--;
      this.waiting.shift()?.();
    }
  }

  /** Set when the model thread died: Fuse cannot be served any more (the process exits then, like a model worker). */
  get threadDead(): Error | null {
    return this.model?.dead ?? null;
  }

  /**
   * Starts the model thread and loads fusion.onnx in it (startModelThread, the model workers' life
   * cycle: a failed load closes the thread and throws; a thread that dies after it exits the process).
   */
  async load(): Promise<void> {
    this.model = await startModelThread<FusionManifest>({ threadFile: path.join(__dirname, 'fusion-thread.js'), data: { ...this.opts }, log: this.log });
    this.manifest = this.model.loaded;
    this.log.info({ model: this.manifest.name, version: this.manifest.version, dims: this.manifest.dims }, 'fusion model loaded');
  }

  async fuse(
    videoId: string,
    present: string[],
    absent: Record<string, string>,
    plan: PlannedSegment[] = [],
    voice: { start: number; end: number }[] | null = null,
  ): Promise<string> {
    assertVideoId(videoId);
    const unknown = present.filter((m) => !(MODALITIES as readonly string[]).includes(m));
    if (unknown.length) throw new ProblemError('validation', `unknown modalities: ${unknown.join(', ')}`);
    const segments = checkPlan(plan);
    if (!this.model || !this.manifest) throw new ProblemError('unavailable', 'fusion model not loaded');
    if (await this.store.isForgotten(videoId)) throw new ProblemError('gone', `video ${videoId} was erased`);
    const manifest = this.manifest;
    // One snapshot for the whole fusion: the timeline reads each modality's rows a window at a time
    // (readRows), so fusion never holds a long video's embeddings at once.
    const part = await this.inSlot(() =>
      this.store.snapshot(async (reader) => {
        const stored = await reader.meta(videoId);
        const seqs = collectSequences(stored, new Set(present), manifest.dims);
        const missing = present.filter((m) => !seqs[m as keyof typeof seqs]?.present);
        for (const m of missing) absent[m] = `${m} finished but pushed no embeddings`;
        if (!MODALITIES.some((m) => seqs[m].present)) {
          throw new ProblemError('nothing-to-analyse', `nothing to analyse: ${MODALITIES.map((m) => `${m}: ${absent[m] ?? 'absent'}`).join('; ')}`);
        }
        const unweighed = unweighedOf(manifest);
        const pool = new FeedPool();
        const fused = await fuseTimeline({
          seqs,
          plan: segments.length ? segments : [wholeSpan(seqs)],
          absent,
          unweighed,
          voice,
          readRows: (m, from, to) => reader.rows(videoId, seqs[m].stored!, from, to, pool.allocate),
          recycle: (rows) => pool.give([rows.buffer as ArrayBuffer]),
          allocate: pool.allocate,
          run: async (feeds, rows) => {
            // Moved, not copied, to the model thread, and back when it is done with them.
            const { outputs, ms, spent } = await this.model!.thread.call<FusionRun>('run', [feeds], buffersOf(Object.values(feeds)));
            pool.give(spent);
            this.metrics.inferenceSeconds.observe({ model: 'fusion' }, ms / 1000);
            this.metrics.batchSize.observe({ model: 'fusion' }, rows);
            return outputs;
          },
        });
        return explain({ fused, seqs, manifest, unweighed }, absent);
      }),
    );
    return JSON.stringify(part);
  }

  /** GetFeatures: the stored tensors as pushed (GET /v1/videos/:id/features is served from this). */
  async features(videoId: unknown): Promise<{ modality: string; kind: string; shape: number[]; data: Buffer; itemsJson: string; model: string }[]> {
    assertVideoId(videoId);
    if (await this.store.isForgotten(videoId)) throw new ProblemError('gone', `video ${videoId} was erased`);
    return (await this.store.rows(videoId)).map((r) => ({
      modality: r.modality,
      kind: r.kind,
      shape: r.shape,
      data: r.data,
      itemsJson: JSON.stringify(r.items),
      model: r.model ?? '',
    }));
  }

  /**
   * One PushEmbeddings stream into the store as it arrives: each chunk is written before the next is
   * read (the stream is paused meanwhile, so HTTP/2 flow control holds the sender back), so a push
   * costs fusion about a chunk of memory whatever the tensor's size. Answered exactly once; a push
   * that fails, is refused or is cancelled leaves nothing stored.
   */
  private receivePush(call: grpc.ServerReadableStream<Chunk, unknown>, cb: grpc.sendUnaryData<unknown>): void {
    let head: Chunk | null = null;
    let items: unknown[] = [];
    let writer: TensorWriter | null = null;
    let expected = 0;
    let settled = false;
    let chain: Promise<void> = Promise.resolve();
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      cb(grpcError(err, this.log, 'push failed'));
      void writer?.abort();
    };
    const take = async (c: Chunk): Promise<void> => {
      if (!head) {
        // Refused on the first chunk: nothing of a bad or erased id's tensor is even stored.
        assertVideoId(c.videoId);
        if (!(MODALITIES as readonly string[]).includes(c.modality)) throw new ProblemError('validation', `modality must be one of ${MODALITIES.join(', ')}`);
        if (!KIND.test(c.kind)) throw new ProblemError('validation', 'kind must be a short lowercase name');
        if (!Array.isArray(c.shape) || c.shape.length < 1 || c.shape.length > 4 || !c.shape.every((d) => Number.isInteger(d) && d >= 0)) {
          throw new ProblemError('validation', 'shape must have 1 to 4 non-negative dimensions');
        }
        expected = float32Bytes(c.shape);
        if (expected > MAX_PUSH_BYTES) throw new ProblemError('payload-too-large', 'embedding push exceeds 512 MiB');
        try {
          items = c.itemsJson ? (JSON.parse(c.itemsJson) as unknown[]) : [];
        } catch {
          throw new ProblemError('validation', 'items_json is not JSON');
        }
        if (!Array.isArray(items)) throw new ProblemError('validation', 'items_json must be a JSON array');
        head = c;
        writer = this.store.writer(c.videoId, c.modality, c.kind);
      } else if (c.videoId && (c.videoId !== head.videoId || c.modality !== head.modality || c.kind !== head.kind)) {
        throw new ProblemError('validation', 'one PushEmbeddings stream must carry one (video, modality, kind)');
      }
      const w = writer!;
      // FusionPushClient sends 1 MiB; far larger messages are a client holding fusion's memory hostage
      if (c.data.length > MAX_PUSH_MESSAGE_BYTES)
        throw new ProblemError('validation', `a push message carries at most ${MAX_PUSH_MESSAGE_BYTES} bytes of data`);
      if (w.bytes + c.data.length > expected) {
        throw new ProblemError('validation', `pushed more than the ${expected} bytes of shape [${head.shape}]`);
      }
      await w.write(c.data);
    };
    const finish = async () => {
      if (!head || !writer) throw new ProblemError('validation', 'empty push');
      const h = head as Chunk;
      const w = writer as TensorWriter;
      if (w.bytes !== expected) throw new ProblemError('validation', `pushed ${w.bytes} bytes for shape [${h.shape}] (expected ${expected})`);
      await w.commit({ shape: h.shape, items, model: h.model || null });
      return { videoId: h.videoId, items: h.shape[0] ?? 0, bytes: expected };
    };
    // Steps run one after another; none may end as an unhandled rejection (that stops the process).
    const enqueue = (step: () => Promise<void> | void) => {
      chain = chain.then(step).catch((err: unknown) => this.log.error({ err }, 'push handling failed'));
    };
    call.on('data', (c: Chunk) => {
      if (settled) return;
      call.pause();
      enqueue(async () => {
        try {
          await take(c);
        } catch (err) {
          fail(err); // what the client still sends is drained and ignored
        } finally {
          call.resume();
        }
      });
    });
    call.on('end', () =>
      enqueue(async () => {
        if (settled) return;
        try {
          const ack = await finish();
          settled = true;
          cb(null, ack);
        } catch (err) {
          fail(err);
        }
      }),
    );
    // a client that goes away mid-push: what it wrote is dropped once the write in flight is done
    const gone = (reason: string) =>
      enqueue(() => {
        if (settled) return;
        settled = true;
        this.log.warn({ videoId: head?.videoId, reason }, 'push stream ended early');
        return writer?.abort();
      });
    call.on('cancelled', () => gone('cancelled'));
    call.on('error', (err) => gone(err.message));
  }

  grpcImpl(): grpc.UntypedServiceImplementation {
    return {
      PushEmbeddings: (call: grpc.ServerReadableStream<Chunk, unknown>, cb: grpc.sendUnaryData<unknown>) => this.receivePush(call, cb),
      Fuse: (call: grpc.ServerUnaryCall<WireFuseRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const plan = (call.request.segments ?? []).map((s) => ({
          start: s.start,
          end: s.end,
          speech: Boolean(s.speech),
          voiceSeconds: s.hasVoiceInfo ? s.voiceSeconds : null,
        }));
        Promise.resolve()
          .then(() =>
            this.fuse(
              call.request.videoId,
              call.request.present ?? [],
              { ...(call.request.absent ?? {}) },
              plan,
              call.request.hasVoiceInfo ? (call.request.voice ?? []) : null,
            ),
          )
          .then(
            (json) => cb(null, { fusionJson: json }),
            (err) => cb(grpcError(err, this.log.child({ videoId: call.request.videoId }), 'fuse failed')),
          );
      },
      GetFeatures: (call: grpc.ServerUnaryCall<{ videoId: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        this.features(call.request.videoId).then(
          (tensors) => cb(null, { tensors }),
          (err) => cb(grpcError(err, this.log.child({ videoId: call.request.videoId }), 'get features failed')),
        );
      },
      Forget: (call: grpc.ServerUnaryCall<{ videoId: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        Promise.resolve()
          .then(() => {
            assertVideoId(call.request.videoId);
            return this.store.forget(call.request.videoId);
          })
          .then(
            (removed) => cb(null, { removed }),
            (err) => cb(grpcError(err, this.log.child({ videoId: call.request.videoId }), 'forget failed')),
          );
      },
    };
  }

  async close(): Promise<void> {
    await this.model?.close();
  }
}

/**
 * Wires fusion from its parsed config: its own tables migrated (FUSION_MIGRATIONS; it reads no
 * other service's), the model thread loaded, the gRPC server started. Called by runService, which
 * retries it on failure: whatever one attempt opened is released before it throws.
 */
export async function startFusion(cfg: FusionConfig, { log, metrics }: ServiceContext): Promise<ServiceHooks> {
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL);
  const service = new FusionService(new EmbeddingStore(db), log, metrics, {
    modelDir: cfg.FUSION_MODEL_DIR ?? path.join(cfg.MODEL_DIR, 'fusion'),
    provider: cfg.EXECUTION_PROVIDER,
    intraOpThreads: cfg.INTRA_OP_THREADS,
  });
  // setup is retried on failure (runService): release what this attempt opened
  const fail = async (err: unknown): Promise<never> => {
    await service.close().catch(() => undefined);
    await db.end().catch(() => undefined);
    throw err;
  };
  const applied = await migrate(db, FUSION_MIGRATIONS).catch(fail);
  if (applied.length) log.info({ applied }, 'migrations applied');
  // A thread that dies during load is this attempt's failure (retried); after it, Fuse could never be
  // served again and the process exits (EXIT_CODES.software), like a model worker.
  await service.load().catch(fail);
  const server = await startGrpcServer(`${cfg.GRPC_HOST}:${cfg.GRPC_PORT}`, [{ name: FUSION_SERVICE, impl: service.grpcImpl() }]);
  server.setServing(true);
  log.info({ port: server.port }, 'fusion gRPC listening');
  return {
    ready: async () => ({ ok: !service.threadDead, detail: { grpcPort: server.port, model: service.manifest?.name } }),
    close: async () => {
      server.setServing(false);
      await server.close();
      await service.close();
      await db.end();
    },
  };
}
