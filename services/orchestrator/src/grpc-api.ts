import { ProblemError, problemToGrpc, type SubmitRequestWire, type grpc } from '@omniaffect/core';
import type { Orchestrator } from './orchestrator';
import type { WebhookService } from './webhooks';

type Handler<Req> = (call: grpc.ServerUnaryCall<Req, unknown>, cb: grpc.sendUnaryData<unknown>) => void;

function handle<Req>(fn: (req: Req) => Promise<unknown>): Handler<Req> {
  return (call, cb) => {
    fn(call.request).then(
      (res) => cb(null, res),
      (err) => cb(problemToGrpc(err) as grpc.ServiceError),
    );
  };
}


/** omniaffect.v1.Orchestrator: the gateway's only way into video state. */
export function orchestratorGrpcImpl(o: Orchestrator, w: WebhookService): grpc.UntypedServiceImplementation {
  return {
    Submit: handle<SubmitRequestWire>(async (r) => {
      const { doc, created } = await o.submit({
        owner: r.owner,
        videoId: r.videoId,
        idempotencyKey: r.idempotencyKey,
        sourceKind: r.sourceKind === 'url' ? 'url' : 'upload',
        sourcePath: r.sourcePath,
        sourceUrl: r.sourceUrl,
        filename: r.filename,
        contentType: r.contentType,
        sizeBytes: Number(r.sizeBytes) || 0,
        language: r.language || 'auto',
        callbackUrl: r.callbackUrl,
        metadata: r.metadataJson ? (JSON.parse(r.metadataJson) as Record<string, unknown>) : {},
        transcript: r.transcript || undefined,
      });
      return { videoJson: JSON.stringify(doc), created };
    }),
    Get: handle<{ owner: string; id: string }>(async (r) => ({ videoJson: JSON.stringify(await o.get(r.owner, r.id)), created: false })),
    GetResult: handle<{ owner: string; id: string }>(async (r) => ({ json: JSON.stringify(await o.getResult(r.owner, r.id)) })),
    Cancel: handle<{ owner: string; id: string }>(async (r) => ({ videoJson: JSON.stringify(await o.cancel(r.owner, r.id)), created: false })),
    GetFeatures: handle<{ owner: string; id: string }>(async (r) => ({ json: JSON.stringify(await o.features(r.owner, r.id)) })),
    CreateWebhook: handle<{ owner: string; url: string; events: string[] }>(async (r) => ({ json: JSON.stringify(await w.create(r.owner, r.url, r.events ?? [])) })),
    ListWebhooks: handle<{ owner: string }>(async (r) => ({ json: JSON.stringify(await w.list(r.owner)) })),
    DeleteWebhook: handle<{ owner: string; id: string }>(async (r) => {
      await w.remove(r.owner, r.id);
      return { json: '{}' };
    }),
    ListDeliveries: handle<{ owner: string; id: string }>(async (r) => ({ json: JSON.stringify(await w.deliveries(r.owner, r.id)) })),
    GetCallbackSecret: handle<{ owner: string }>(async (r) => {
      const secret = w.callbackSecret(r.owner);
      if (!secret) throw new ProblemError('not-configured', 'callbackUrl deliveries are not signed on this deployment: the operator has not set OMNIAFFECT_CALLBACK_SECRET');
      return { json: JSON.stringify({ secret }) };
    }),
  };
}
