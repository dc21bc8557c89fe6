import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as path from 'node:path';
import { repoRoot } from './shared-assets';

/** proto/ at the repository root (or PROTO_DIR in images that copy it elsewhere). */
export function protoDir(): string {
  return process.env.PROTO_DIR ?? path.join(repoRoot(), 'proto');
}

const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };

let cached: grpc.GrpcObject | undefined;
export function loadProtos(): grpc.GrpcObject {
  if (!cached) {
    const def = protoLoader.loadSync(
      ['omniaffect/v1/fusion.proto', 'omniaffect/v1/orchestrator.proto', 'grpc/health/v1/health.proto'],
      { ...LOADER_OPTIONS, includeDirs: [protoDir()] },
    );
    cached = grpc.loadPackageDefinition(def);
  }
  return cached;
}

type ServiceCtor = grpc.ServiceClientConstructor;

function lookup(name: string): ServiceCtor {
  let node: unknown = loadProtos();
  for (const part of name.split('.')) node = (node as Record<string, unknown>)[part];
  if (!node) throw new Error(`gRPC service ${name} not found in proto/`);
  return node as ServiceCtor;
}

export const FUSION_SERVICE = 'omniaffect.v1.Fusion';
export const ORCHESTRATOR_SERVICE = 'omniaffect.v1.Orchestrator';

export interface GrpcServerHandle {
  server: grpc.Server;
  port: number;
  setServing(serving: boolean): void;
  close(): Promise<void>;
}

/**
 * Starts a gRPC server with the given service implementations plus grpc.health.v1.Health. Health
 * reports NOT_SERVING until the caller flips it (after models load, or while draining on shutdown).
 */
export async function startGrpcServer(
  address: string,
  services: { name: string; impl: grpc.UntypedServiceImplementation }[],
): Promise<GrpcServerHandle> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  for (const s of services) server.addService(lookup(s.name).service, s.impl);
  let serving = false;
  const watchers = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  const status = (service: string) =>
    service === '' || services.some((s) => s.name === service) ? (serving ? 'SERVING' : 'NOT_SERVING') : 'SERVICE_UNKNOWN';
  server.addService(lookup('grpc.health.v1.Health').service, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const s = status(call.request.service);
      if (s === 'SERVICE_UNKNOWN') cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      else cb(null, { status: s });
    },
    Watch: (call: grpc.ServerWritableStream<{ service: string }, unknown>) => {
      call.write({ status: status(call.request.service) });
      watchers.add(call);
      call.on('cancelled', () => watchers.delete(call));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    server,
    port,
    setServing(v: boolean) {
      serving = v;
      for (const w of watchers) w.write({ status: v ? 'SERVING' : 'NOT_SERVING' });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const w of watchers) w.end();
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 5000).unref();
      }),
  };
}

export function grpcClient(service: string, address: string): grpc.Client {
  const Ctor = lookup(service);
  return new Ctor(address, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
}

const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED]);

/**
 * Unary call with a deadline on every call; retries (with backoff) only when the caller says the
 * method is idempotent, and only on transport-level failures.
 */
export async function unary<Req, Res>(
  client: grpc.Client,
  method: string,
  request: Req,
  opts: { deadlineMs: number; idempotent: boolean; retries?: number },
): Promise<Res> {
  const attempts = opts.idempotent ? (opts.retries ?? 4) + 1 : 1;
  let lastErr: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await new Promise<Res>((resolve, reject) => {
        const fn = (client as unknown as Record<string, Function>)[method];
        if (!fn) return reject(new Error(`no gRPC method ${method}`));
        fn.call(client, request, { deadline: Date.now() + opts.deadlineMs }, (err: grpc.ServiceError | null, res: Res) =>
          err ? reject(err) : resolve(res),
        );
      });
    } catch (err) {
      lastErr = err;
      const code = (err as grpc.ServiceError).code;
      if (!RETRYABLE.has(code) || i === attempts - 1) break;
      await new Promise((r) => setTimeout(r, Math.min(4000, 200 * 2 ** i)));
    }
  }
  throw lastErr;
}

export async function checkHealth(address: string, service = '', deadlineMs = 2000): Promise<string> {
  const client = grpcClient('grpc.health.v1.Health', address);
  try {
    const res = await unary<{ service: string }, { status: string }>(client, 'Check', { service }, { deadlineMs, idempotent: false });
    return res.status;
  } finally {
    client.close();
  }
}

export { grpc };

import { ProblemError, isProblemSlug } from './problems';

const GRPC_FOR_STATUS: Record<number, grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  401: grpc.status.UNAUTHENTICATED,
  404: grpc.status.NOT_FOUND,
  409: grpc.status.FAILED_PRECONDITION,
  413: grpc.status.INVALID_ARGUMENT,
  415: grpc.status.INVALID_ARGUMENT,
  422: grpc.status.INVALID_ARGUMENT,
  501: grpc.status.UNIMPLEMENTED,
  503: grpc.status.UNAVAILABLE,
};

/** Problems cross gRPC as details = JSON {slug, detail}; the gateway turns them back into problem+json. */
export function problemToGrpc(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof ProblemError) {
    return { code: GRPC_FOR_STATUS[err.status] ?? grpc.status.INTERNAL, details: JSON.stringify({ slug: err.slug, detail: err.detail }) };
  }
  return { code: grpc.status.INTERNAL, details: JSON.stringify({ slug: 'internal', detail: (err as Error)?.message ?? String(err) }) };
}

export function problemFromGrpc(err: unknown): ProblemError {
  const e = err as grpc.ServiceError;
  try {
    const parsed = JSON.parse(e.details) as { slug?: string; detail?: string };
    if (parsed.slug && isProblemSlug(parsed.slug)) return new ProblemError(parsed.slug, parsed.detail ?? '');
  } catch {
    /* not one of ours */
  }
  if (e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED) {
    return new ProblemError('unavailable', `orchestrator unavailable: ${e.details ?? e.message}`);
  }
  return new ProblemError('internal', e.details ?? e.message ?? String(err));
}
