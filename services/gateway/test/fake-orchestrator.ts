import { randomBytes, randomUUID } from 'node:crypto';
import {
  ORCHESTRATOR_SERVICE,
  ProblemError,
  callbackSecretFor,
  grpc,
  problemDocument,
  problemToGrpc,
  startGrpcServer,
  videoLinks,
  type AnalysisResult,
  type SubmitRequestWire,
  type DeliveryDocument,
  type GrpcServerHandle,
  type ProblemSlug,
  type VideoDocument,
  type VideoStatusName,
  type WebhookDocument,
} from '@omniaffect/core';

/** The SubmitRequest as grpc-js/proto-loader hands it to the server (camelCase, int64 as number). */
export type SubmitRequest = SubmitRequestWire;

interface StoredVideo {
  owner: string;
  doc: VideoDocument;
  result: AnalysisResult | null;
}

type Callback = grpc.sendUnaryData<unknown>;
type Call<T> = grpc.ServerUnaryCall<T, unknown>;

/**
 * An in-memory Orchestrator behind a real gRPC server: the gateway talks to it over the same
 * transport and wire contract as to the real one. Tests drive state through setStatus/setResult.
 */
export class FakeOrchestrator {
  readonly videos = new Map<string, StoredVideo>();
  readonly submits: SubmitRequest[] = [];
  readonly webhooks = new Map<string, { owner: string; doc: WebhookDocument }>();
  readonly deliveries: DeliveryDocument[] = [];
  /** Videos erased by Cancel (or erase()): their tombstones answer every call with 'gone'. */
  readonly erased = new Set<string>();
  /** Method name → the error every call of it answers with, until cleared (see failWith). */
  private readonly failures = new Map<string, unknown>();
  /** Number of Get calls, so a test can wait for the events stream to poll. */
  gets = 0;
  /** The operator's OMNIAFFECT_CALLBACK_SECRET as the real orchestrator would hold it; null = not set. */
  callbackOperatorSecret: string | null = 'whsec_b3BlcmF0b3Itc2VjcmV0LWZvci10ZXN0cw==';
  private readonly idempotency = new Map<string, string>();
  private handle!: GrpcServerHandle;

  static async start(): Promise<FakeOrchestrator> {
    const fake = new FakeOrchestrator();
    fake.handle = await startGrpcServer('127.0.0.1:0', [{ name: ORCHESTRATOR_SERVICE, impl: fake.impl() }]);
    fake.handle.setServing(true);
    return fake;
  }

  get address(): string {
    return `127.0.0.1:${this.handle.port}`;
  }

  setServing(serving: boolean): void {
    this.handle.setServing(serving);
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  setStatus(id: string, status: VideoStatusName, error?: { slug: ProblemSlug; detail: string }): void {
    const v = this.videos.get(id);
    if (!v) throw new Error(`no video ${id}`);
    v.doc = {
      ...v.doc,
      status,
      updatedAt: new Date().toISOString(),
      progress: status === 'succeeded' ? 1 : v.doc.progress,
      error: error ? problemDocument(error.slug, error.detail) : null,
    };
  }

  /** Leaves only the tombstone, as the real orchestrator does on DELETE. */
  erase(id: string): void {
    if (!this.videos.has(id)) throw new Error(`no video ${id}`);
    this.erased.add(id);
  }

  /**
   * Makes every call of `method` fail with `err` (null clears it): a ProblemError crosses gRPC as a
   * problem; a plain Error as the real orchestrator sends an unexpected one (slug internal with the raw
   * message, e.g. a PostgreSQL outage); a {code, details} object as a bare gRPC status.
   */
  failWith(method: string, err: unknown): void {
    if (err === null) this.failures.delete(method);
    else this.failures.set(method, err);
  }

  setResult(id: string, result: AnalysisResult): void {
    const v = this.videos.get(id);
    if (!v) throw new Error(`no video ${id}`);
    v.result = { ...result, id };
    this.setStatus(id, 'succeeded');
  }

  private impl(): grpc.UntypedServiceImplementation {
    const failures = this.failures;
    const wrap =
      <T>(method: string, fn: (req: T) => unknown) =>
      (call: Call<T>, cb: Callback) => {
        const injected = failures.get(method);
        if (injected !== undefined) {
          const isStatus = typeof injected === 'object' && injected !== null && 'code' in injected && !(injected instanceof Error);
          cb(isStatus ? (injected as Partial<grpc.StatusObject>) : problemToGrpc(injected));
          return;
        }
        try {
          cb(null, fn(call.request));
        } catch (err) {
          cb(problemToGrpc(err));
        }
      };
    const impl: Record<string, (req: never) => unknown> = {
      Submit: (req: SubmitRequest) => this.submit(req),
      Get: (req: { owner: string; id: string }) => ({ videoJson: JSON.stringify(this.video(req.owner, req.id).doc), created: false }),
      GetResult: (req: { owner: string; id: string }) => this.getResult(req.owner, req.id),
      GetFeatures: (req: { owner: string; id: string }) => {
        this.video(req.owner, req.id);
        return { json: JSON.stringify({ id: req.id, modalities: {} }) };
      },
      // DELETE works in every status and leaves a tombstone; a second DELETE finds only that.
      Cancel: (req: { owner: string; id: string }) => {
        const v = this.video(req.owner, req.id);
        if (v.doc.status === 'queued' || v.doc.status === 'processing') this.setStatus(req.id, 'canceled');
        this.erased.add(req.id);
        // the real orchestrator's answer (ErasedVideoDocument): the video document itself is gone
        return { videoJson: JSON.stringify({ id: req.id, status: 'erased', erasedAt: new Date().toISOString() }), created: false };
      },
      CreateWebhook: (req: { owner: string; url: string; events: string[] }) => {
        const doc: WebhookDocument = {
          id: randomUUID(),
          url: req.url,
          events: req.events,
          createdAt: new Date().toISOString(),
          secret: `whsec_${randomBytes(32).toString('base64')}`,
        };
        this.webhooks.set(doc.id, { owner: req.owner, doc });
        return { json: JSON.stringify(doc) };
      },
      ListWebhooks: (req: { owner: string }) => ({
        // Deliberately includes the secret: the gateway must not pass it on.
        json: JSON.stringify([...this.webhooks.values()].filter((w) => w.owner === req.owner).map((w) => w.doc)),
      }),
      DeleteWebhook: (req: { owner: string; id: string }) => {
        this.webhook(req.owner, req.id);
        this.webhooks.delete(req.id);
        return { json: '{}' };
      },
      GetCallbackSecret: (req: { owner: string }) => {
        if (!this.callbackOperatorSecret) throw new ProblemError('not-configured', 'no OMNIAFFECT_CALLBACK_SECRET');
        return { json: JSON.stringify({ secret: callbackSecretFor(this.callbackOperatorSecret, req.owner) }) };
      },
      ListDeliveries: (req: { owner: string; id: string }) => {
        this.webhook(req.owner, req.id);
        return { json: JSON.stringify(this.deliveries.filter((d) => d.webhookId === req.id)) };
      },
    };
    return Object.fromEntries(Object.entries(impl).map(([method, fn]) => [method, wrap(method, fn as (req: unknown) => unknown)]));
  }

  private submit(req: SubmitRequest): { videoJson: string; created: boolean } {
    this.submits.push(req);
    const idemKey = req.idempotencyKey ? `${req.owner}:${req.idempotencyKey}` : '';
    const existing = idemKey ? this.idempotency.get(idemKey) : undefined;
    if (existing) return { videoJson: JSON.stringify(this.videos.get(existing)!.doc), created: false };
    if (!req.videoId) throw new ProblemError('validation', 'video_id is required');
    const now = new Date().toISOString();
    const doc: VideoDocument = {
      id: req.videoId,
      status: 'queued',
      language: req.language,
      createdAt: now,
      updatedAt: now,
      startedAt: null,
      finishedAt: null,
      source: {
        kind: req.sourceKind,
        filename: req.filename || null,
        contentType: req.contentType || null,
        sizeBytes: req.sizeBytes || null,
        url: req.sourceUrl || null,
      },
      metadata: JSON.parse(req.metadataJson || '{}') as Record<string, unknown>,
      progress: 0,
      stages: {},
      error: null,
      links: videoLinks(req.videoId),
    };
    this.videos.set(doc.id, { owner: req.owner, doc, result: null });
    if (idemKey) this.idempotency.set(idemKey, doc.id);
    return { videoJson: JSON.stringify(doc), created: true };
  }

  private getResult(owner: string, id: string): { json: string } {
    const v = this.video(owner, id);
    if (v.doc.status === 'succeeded' && v.result) return { json: JSON.stringify(v.result) };
    if (v.doc.status === 'failed' && v.doc.error) {
      const slug = v.doc.error.type.split('/').pop() as ProblemSlug;
      throw new ProblemError(slug, v.doc.error.detail ?? '');
    }
    throw new ProblemError('not-ready', `the video is ${v.doc.status}`);
  }

  private video(owner: string, id: string): StoredVideo {
    this.gets += 1;
    const v = this.videos.get(id);
    if (!v || v.owner !== owner) throw new ProblemError('not-found', `no video ${id}`);
    // Only the owner learns that the video existed; to anyone else a tombstone is not found.
    if (this.erased.has(id)) throw new ProblemError('gone', `video ${id} was erased`);
    return v;
  }

  private webhook(owner: string, id: string): WebhookDocument {
    const w = this.webhooks.get(id);
    if (!w || w.owner !== owner) throw new ProblemError('not-found', `no webhook ${id}`);
    return w.doc;
  }
}
