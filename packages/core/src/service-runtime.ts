import type { Redis } from 'ioredis';
import { ConfigError, type BaseConfig } from './config';
import { grpcSecurityFromEnv } from './grpc';
import { createLogger, type Logger } from './logger';
import { ServiceMetrics } from './metrics';
import { startOpsServer, type Readiness } from './ops-server';
import { Queues, redisConnection } from './queues';

export interface ServiceContext {
  log: Logger;
  metrics: ServiceMetrics;
  redis: Redis;
  queues: Queues;
}

export interface ServiceHooks {
  ready: () => Promise<Readiness>;
  /** Stop taking work, finish what is in flight, release resources. */
  close: () => Promise<void>;
}

/**
 * How every service process ends, in one place so supervisors, alerts and runbooks can tell the cases
 * apart (sysexits.h numbers where one fits):
 * - ok (0): a clean shutdown after SIGTERM/SIGINT;
 * - shutdownTimeout (1): in-flight work did not finish within SHUTDOWN_TIMEOUT_MS;
 * - software (70, EX_SOFTWARE): an internal part the process cannot run without died (a model
 *   worker's inference thread, e.g. after an inference timeout); the supervisor restarts it;
 * - config (78, EX_CONFIG): a bad setting; restarting does not help until the setting is fixed.
 */
export const EXIT_CODES = { ok: 0, shutdownTimeout: 1, software: 70, config: 78 } as const;
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** What runService itself needs from a service's config (every service's config spreads baseEnv). */
export type RuntimeConfig = Pick<
  BaseConfig,
  'REDIS_URL' | 'QUEUE_PREFIX' | 'OPS_PORT' | 'OPS_HOST' | 'LOG_LEVEL' | 'JOB_LOCK_MS' | 'JOB_STALLED_INTERVAL_MS' | 'SHUTDOWN_TIMEOUT_MS'
>;

/**
 * The shared life cycle of the non-HTTP services: config validated first (a ConfigError prints its
 * message and exits EXIT_CODES.config), then Redis, the ops server, the service's own setup, and a
 * graceful shutdown on SIGTERM/SIGINT bounded by SHUTDOWN_TIMEOUT_MS (Kubernetes'
 * terminationGracePeriodSeconds must be longer).
 */
export async function runService<C extends RuntimeConfig>(opts: {
  name: string;
  /** Parses the service's config; called once, and the result is handed to setup (ctx.cfg). */
  config: () => C;
  setup: (ctx: ServiceContext & { cfg: C }) => Promise<ServiceHooks>;
}): Promise<void> {
  let cfg: C;
  try {
    cfg = opts.config();
    // The TLS files are read now, so an unreadable certificate stops the start like any bad setting
    // instead of surfacing later as a setup failure that is retried forever.
    grpcSecurityFromEnv();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(EXIT_CODES.config);
    }
    throw err;
  }
  const log = createLogger(opts.name, cfg.LOG_LEVEL);
  const metrics = new ServiceMetrics(opts.name);
  const redis = redisConnection(cfg.REDIS_URL);
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis error'));
  const queues = new Queues(redis, cfg.QUEUE_PREFIX, { lockDurationMs: cfg.JOB_LOCK_MS, stalledIntervalMs: cfg.JOB_STALLED_INTERVAL_MS });
  let hooks: ServiceHooks | null = null;
  let setupError: Error | null = null;
  const ops = await startOpsServer({
    host: cfg.OPS_HOST,
    port: cfg.OPS_PORT,
    metrics,
    ready: async () => {
      if (setupError) return { ok: false, detail: { error: setupError.message } };
      if (!hooks) return { ok: false, detail: { error: 'starting' } };
      if (redis.status !== 'ready') return { ok: false, detail: { error: `redis ${redis.status}` } };
      return hooks.ready();
    },
  });
  log.info({ opsPort: ops.port }, 'ops server listening');
  // A failed setup (PostgreSQL not up yet, a CUDA provider that cannot load) keeps the process up,
  // reports the reason in /readyz and the logs, and is retried with backoff: a dependency that comes
  // back heals the service, and a permanent error stays visible instead of becoming a crash loop.
  let stopping = false;
  for (let attempt = 1; !stopping; attempt++) {
    try {
      hooks = await opts.setup({ log, metrics, redis, queues, cfg });
      setupError = null;
      log.info('service ready');
      break;
    } catch (err) {
      // Configuration does not heal by retrying (a gRPC client or server built during setup validates
      // the security settings again): stop with EX_CONFIG like a bad variable at start.
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
        process.exit(EXIT_CODES.config);
      }
      setupError = err as Error;
      const retryMs = Math.min(60_000, 1000 * 2 ** Math.min(attempt, 6));
      log.error({ err, attempt, retryMs }, 'service setup failed; /readyz reports it; retrying');
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('shutdown timed out');
      process.exit(EXIT_CODES.shutdownTimeout);
    }, cfg.SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    try {
      await hooks?.close();
      await queues.close();
      await ops.close();
      redis.disconnect();
    } finally {
      clearTimeout(timer);
      process.exit(EXIT_CODES.ok);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
