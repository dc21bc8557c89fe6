import { ProblemError, isDbUnavailableError, problemToGrpc, type Logger, type SubmitRequestWire, type grpc } from '@omniaffect/core';
import type { Orchestrator } from './orchestrator';
import type { WebhookService } from './webhooks';

type Handler<Req> = (call: grpc.ServerUnaryCall<Req, unknown>, cb: grpc.sendUnaryData<unknown>) => void;

/**
 * What a caller may see of a failure: our problems as they are; PostgreSQL out of reach as a generic
 * 'unavailable' (the gateway answers 503, clients retry); anything else as a generic 'internal'. The
 * raw text stays in the log: pg's names hosts, ports, users and SQL.
 */
export function toCallerProblem(err: unknown, log: Logger): ProblemError {
  if (err instanceof ProblemError) return err;
  if (isDbUnavailableError(err)) {
    log.warn({ err: (err as Error).message }, 'database unavailable');
    return new ProblemError('unavailable', 'the video database is unavailable; retry later');
  }
  log.error({ err }, 'orchestrator call failed');
  return new ProblemError('internal', 'internal error in the orchestrator; see its log');
}

function handler(log: Logger) {
  return function handle<Req>(fn: (req: Req) => Promise<unknown>): Handler<Req> {
    return (call, cb) => {
      Promise.resolve()
        .then(() => fn(call.request))
        .then(
          (res) => cb(null, res),
          (err) => cb(problemToGrpc(toCallerProblem(err, log)) as grpc.ServiceError),
        );
    };
  };
}

function parseMetadata(json: string): Record<string, unknown> {
  if (!json) return {};
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new ProblemError('validation', 'metadata must be JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ProblemError('validation', 'metadata must be a JSON object');
  return v as Record<string, unknown>;
}

/** omniaffect.v1.Orchestrator: the gateway's only way into video state. */
export function orchestratorGrpcImpl(o: Orchestrator, w: WebhookService, log: Logger): grpc.UntypedServiceImplementation {
  const handle = handler(log);
  return {
    Submit: handle<SubmitRequestWire>(async (r) => {
      const { doc, created } = await o.submit({
        owner: r.owner,
        videoId: r.videoId,
        idempotencyKey: r.idempotencyKey,
        sourceKind: r.sourceKind === 'url' ? 'url' : 'upload',
        sourcePath: '', // derived from the video id by submit(); what the caller sent is not used
        sourceUrl: r.sourceUrl,
        filename: r.filename,
        contentType: r.contentType,
        sizeBytes: Number(r.sizeBytes) || 0,
        language: r.language || 'auto',
        callbackUrl: r.callbackUrl,
        metadata: parseMetadata(r.metadataJson),
        transcript: r.transcript || undefined,
      });
      return { videoJson: JSON.stringify(doc), created };
    }),
    Get: handle<{ owner: string; id: string }>(async (r) => ({ videoJson: JSON.stringify(await o.get(r.owner, r.id)), created: false })),
    GetResult: handle<{ owner: string; id: string }>(async (r) => ({ json: JSON.stringify(await o.getResult(r.owner, r.id)) })),
    Cancel: handle<{ owner: string; id: string }>(async (r) => ({ videoJson: JSON.stringify(await o.cancel(r.owner, r.id)), created: false })),
    GetFeatures: handle<{ owner: string; id: string }>(async (r) => ({ json: JSON.stringify(await o.features(r.owner, r.id)) })),
    CreateWebhook: handle<{ owner: string; url: string; events: string[] }>(async (r) => ({
      json: JSON.stringify(await w.create(r.owner, r.url, r.events ?? [])),
    })),
    ListWebhooks: handle<{ owner: string }>(async (r) => ({ json: JSON.stringify(await w.list(r.owner)) })),
    DeleteWebhook: handle<{ owner: string; id: string }>(async (r) => {
      await w.remove(r.owner, r.id);
      return { json: '{}' };
    }),
    ListDeliveries: handle<{ owner: string; id: string }>(async (r) => ({ json: JSON.stringify(await w.deliveries(r.owner, r.id)) })),
    ListVideos: handle<{ owner: string; limit: number; before: string }>(async (r) => ({
      json: JSON.stringify(await o.listVideos(r.owner, r.limit ?? 0, r.before ?? '')),
    })),
    AddRating: handle<{ owner: string; id: string; reviewer: string; clarity: number; relevance: number; comment: string; hasComment: boolean }>(async (r) => ({
      // through the same check the gateway applies to the client's body: this is the table's boundary
      json: JSON.stringify(
        await o.addRating(r.owner, r.id, r.reviewer, { clarity: r.clarity, relevance: r.relevance, comment: r.hasComment ? r.comment : null }),
      ),
    })),
    ListRatings: handle<{ owner: string; id: string }>(async (r) => ({ json: JSON.stringify(await o.ratings(r.owner, r.id)) })),
    RatingsSummary: handle<{ owner: string }>(async (r) => ({ json: JSON.stringify(await o.ratingsSummary(r.owner)) })),
    GetMedia: handle<{ owner: string; id: string; signedLink: boolean; fileMissing: boolean }>(async (r) => ({
      json: JSON.stringify(await o.media(r.owner, r.id, r.signedLink === true, r.fileMissing === true)),
    })),
    GetCallbackSecret: handle<{ owner: string }>(async (r) => {
      const secret = w.callbackSecret(r.owner);
      if (!secret)
        throw new ProblemError(
          'not-configured',
          'callbackUrl deliveries are not signed on this deployment: the operator has not set OMNIAFFECT_CALLBACK_SECRET',
        );
      return { json: JSON.stringify({ secret }) };
    }),
  };
}
