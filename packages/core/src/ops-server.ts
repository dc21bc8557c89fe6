import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServiceMetrics } from './metrics';

export interface Readiness {
  ok: boolean;
  detail?: Record<string, unknown>;
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Absolute filesystem paths in text shown to whoever can reach an ops port, shortened to their last
 * component: `…/libonnxruntime_providers_cuda.so` still tells an operator which library failed to
 * load, while the install layout (home directories, ARTIFACT_DIR, node_modules store) stays private.
 */
export function scrubPaths(text: string): string {
  return text
    .replace(/(^|[\s'"`(=:,[])\/(?:[^\s'"`()<>:,\]/]+\/)*([^\s'"`()<>:,\]/]+)/g, (_m, pre: string, last: string) => `${pre}…/${last}`)
    .replace(/(^|[\s'"`(=:,[])[A-Za-z]:\\(?:[^\s'"`()<>:,\\]+\\)*([^\s'"`()<>:,\\]+)/g, (_m, pre: string, last: string) => `${pre}…\\${last}`);
}

/** scrubPaths on every string of a readiness document. */
function scrubDeep(value: unknown): unknown {
  if (typeof value === 'string') return scrubPaths(value);
  if (Array.isArray(value)) return value.map(scrubDeep);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubDeep(v)]));
  return value;
}

/**
 * /metrics, /healthz (process alive) and /readyz (dependencies and models loaded) for services that
 * have no HTTP API of their own. Readiness is a callback so a worker can report e.g. a CUDA load error.
 * These ports answer without authentication (kubelet probes and Prometheus carry none), so they must
 * stay cluster-internal: k8s/base/network-policies.yaml admits them only from the monitoring
 * namespace and the kubelet, and what they say is scrubbed of filesystem paths.
 */
export async function startOpsServer(opts: { host: string; port: number; metrics: ServiceMetrics; ready: () => Promise<Readiness> }): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    void handle(req, res);
  });
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      if (req.url === '/metrics') {
        const body = await opts.metrics.render();
        res.writeHead(200, { 'content-type': opts.metrics.registry.contentType }).end(body);
      } else if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      } else if (req.url === '/readyz') {
        const r = await opts.ready();
        res
          .writeHead(r.ok ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: r.ok ? 'ready' : 'not-ready', pid: process.pid, ...(scrubDeep(r.detail ?? {}) as Record<string, unknown>) }));
      } else {
        res.writeHead(404).end();
      }
    } catch {
      // An exception here is ours (a metrics collector, a readiness callback): its text is for logs, not for callers.
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'internal error' }));
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
