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
 * /metrics, /healthz (process alive) and /readyz (dependencies and models loaded) for services that
 * have no HTTP API of their own. Readiness is a callback so a worker can report e.g. a CUDA load error.
 */
export async function startOpsServer(opts: {
  host: string;
  port: number;
  metrics: ServiceMetrics;
  ready: () => Promise<Readiness>;
}): Promise<OpsServer> {
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
          .end(JSON.stringify({ status: r.ok ? 'ready' : 'not-ready', ...r.detail }));
      } else {
        res.writeHead(404).end();
      }
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err) }));
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
