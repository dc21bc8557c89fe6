import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, grpcSecurityIssues } from './config';
import { repoRoot } from './shared-assets';

/** proto/ at the repository root (or PROTO_DIR in images that copy it elsewhere). */
export function protoDir(): string {
  return process.env.PROTO_DIR ?? path.join(repoRoot(), 'proto');
}

const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };

let cached: grpc.GrpcObject | undefined;
export function loadProtos(): grpc.GrpcObject {
  if (!cached) {
    const def = protoLoader.loadSync(['omniaffect/v1/fusion.proto', 'omniaffect/v1/orchestrator.proto', 'grpc/health/v1/health.proto'], {
      ...LOADER_OPTIONS,
      includeDirs: [protoDir()],
    });
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

/**
 * How internal gRPC is protected. Every service reads the same environment (see config.ts):
 * - OMNIAFFECT_SERVICE_TOKEN: every call carries `authorization: Bearer <token>`, every server checks
 *   it in constant time and answers UNAUTHENTICATED otherwise. Callers are the gateway, the
 *   orchestrator and the workers; anything else that can reach a port (another tenant's pod, a
 *   compromised sidecar) cannot name another tenant's owner or paths without it.
 * - GRPC_TLS_CERT / GRPC_TLS_KEY / GRPC_TLS_CA: mTLS on top. Servers require a client certificate
 *   signed by the CA; clients verify the server's against the same CA. Without TLS the token crosses
 *   the network in clear, so NetworkPolicies (k8s/base/network-policies.yaml) are the other half.
 * - OMNIAFFECT_INSECURE_GRPC=true with no token: no check at all, for a one-person dev box.
 * Services refuse to start with neither a token nor the opt-in (loadConfig). Code that uses these
 * functions without going through a service's start (tests, scripts) gets a random token of its own
 * process instead of an open server: its own clients work, everybody else is refused.
 */
export interface GrpcSecurity {
  /** null: no token is sent or checked (explicit insecure opt-in) */
  token: string | null;
  tls: { cert: Buffer; key: Buffer; ca: Buffer; serverName?: string } | null;
}

const PROCESS_TOKEN = randomBytes(32).toString('base64url');
const AUTH_HEADER = 'authorization';
/** Paths that answer without a token: see the interceptor. */
const OPEN_PREFIX = '/grpc.health.v1.Health/';

export function grpcSecurityFromEnv(env: NodeJS.ProcessEnv = process.env): GrpcSecurity {
  const issues = grpcSecurityIssues(env).filter((i) => !i.startsWith('OMNIAFFECT_SERVICE_TOKEN'));
  if (issues.length) throw new ConfigError('grpc', issues);
  const insecure = ['true', '1', 'yes'].includes(env.OMNIAFFECT_INSECURE_GRPC ?? '');
  const token = env.OMNIAFFECT_SERVICE_TOKEN || (insecure ? null : PROCESS_TOKEN);
  let tls: GrpcSecurity['tls'] = null;
  if (env.GRPC_TLS_CERT && env.GRPC_TLS_KEY && env.GRPC_TLS_CA) {
    const read = (name: 'GRPC_TLS_CERT' | 'GRPC_TLS_KEY' | 'GRPC_TLS_CA'): Buffer => {
      try {
        return readFileSync(env[name]!);
      } catch (err) {
        // The path is configuration, not a secret; the file's content never appears here.
        throw new ConfigError('grpc', [`${name}: cannot read ${env[name]} (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
      }
    };
    tls = { cert: read('GRPC_TLS_CERT'), key: read('GRPC_TLS_KEY'), ca: read('GRPC_TLS_CA'), serverName: env.GRPC_TLS_SERVER_NAME || undefined };
  }
  return { token, tls };
}

/** Digests first, so the comparison takes the same time whatever the length or content of the guess. */
function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Rejects a call before its handler runs. grpc.health.v1.Health stays open: it answers only
 * SERVING/NOT_SERVING, holds no tenant data, and probes (grpc_health_probe, Kubernetes' grpc probes,
 * load balancers) cannot add call metadata. Under mTLS it still needs a client certificate, since
 * that is checked when the connection is made, before any call.
 */
function authInterceptor(token: string): grpc.ServerInterceptor {
  return (method, call) => {
    if (method.path.startsWith(OPEN_PREFIX)) return new grpc.ServerInterceptingCall(call);
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, nextMd) => {
            const presented = metadata.get(AUTH_HEADER)[0];
            const ok = typeof presented === 'string' && presented.startsWith('Bearer ') && tokenMatches(presented.slice(7), token);
            if (!ok) {
              call.sendStatus({ code: grpc.status.UNAUTHENTICATED, details: 'missing or invalid service token' });
              return;
            }
            // The token has done its job; handlers never see it (nor log it).
            metadata.remove(AUTH_HEADER);
            nextMd(metadata);
          },
        });
      },
    });
  };
}

function tokenClientInterceptor(token: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        metadata.set(AUTH_HEADER, `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}

export interface GrpcServerHandle {
  server: grpc.Server;
  port: number;
  setServing(serving: boolean): void;
  close(): Promise<void>;
}

/**
 * Largest request message a server takes. Requests are small: pushes come in 1 MiB chunks, and the
 * largest message is a push's first, which carries the video's item list (~2 MB for 2 hours of
 * speech). grpc-js reads up to 16 messages of a stream ahead of a handler that has paused it, so
 * this also bounds what one client stream can make a server hold (128 MiB, not 1 GiB at 64 MiB).
 */
export const SERVER_MAX_RECEIVE_BYTES = 8 * 1024 * 1024;

/**
 * Starts a gRPC server with the given service implementations plus grpc.health.v1.Health. Health
 * reports NOT_SERVING until the caller flips it (after models load, or while draining on shutdown).
 */
export async function startGrpcServer(
  address: string,
  services: { name: string; impl: grpc.UntypedServiceImplementation }[],
  opts: { security?: GrpcSecurity } = {},
): Promise<GrpcServerHandle> {
  const security = opts.security ?? grpcSecurityFromEnv();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': SERVER_MAX_RECEIVE_BYTES,
    interceptors: security.token ? [authInterceptor(security.token)] : [],
  });
  for (const s of services) server.addService(lookup(s.name).service, s.impl);
  let serving = false;
  const watchers = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  const status = (service: string) => (service === '' || services.some((s) => s.name === service) ? (serving ? 'SERVING' : 'NOT_SERVING') : 'SERVICE_UNKNOWN');
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
    server.bindAsync(address, serverCredentials(security), (err, p) => (err ? reject(err) : resolve(p))),
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

function serverCredentials(security: GrpcSecurity): grpc.ServerCredentials {
  if (!security.tls) return grpc.ServerCredentials.createInsecure();
  // true: a client without a certificate from our CA is refused during the handshake.
  return grpc.ServerCredentials.createSsl(security.tls.ca, [{ cert_chain: security.tls.cert, private_key: security.tls.key }], true);
}

export function grpcClient(service: string, address: string, opts: { security?: GrpcSecurity } = {}): grpc.Client {
  const security = opts.security ?? grpcSecurityFromEnv();
  const Ctor = lookup(service);
  const tls = security.tls;
  const credentials = tls ? grpc.credentials.createSsl(tls.ca, tls.key, tls.cert) : grpc.credentials.createInsecure();
  return new Ctor(address, credentials, {
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    ...(tls?.serverName ? { 'grpc.ssl_target_name_override': tls.serverName } : {}),
    // An interceptor, not CallCredentials: grpc-js refuses to attach call credentials to a
    // plaintext channel, and the token must work with and without TLS.
    ...(security.token ? { interceptors: [tokenClientInterceptor(security.token)] } : {}),
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
        fn.call(client, request, { deadline: Date.now() + opts.deadlineMs }, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)));
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

export async function checkHealth(address: string, service = '', deadlineMs = 2000, security?: GrpcSecurity): Promise<string> {
  const client = grpcClient('grpc.health.v1.Health', address, { security });
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
  // 410 and 429 must not map to a code unary() retries (RESOURCE_EXHAUSTED is): a refusal is final.
  410: grpc.status.NOT_FOUND,
  429: grpc.status.FAILED_PRECONDITION,
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
