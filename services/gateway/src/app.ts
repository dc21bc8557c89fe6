import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Inject, Injectable, Module, type BeforeApplicationShutdown, type DynamicModule, type LoggerService, type OnApplicationShutdown } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ArtifactStore, ServiceMetrics, createLogger, redisConnection, type Logger } from '@omniaffect/core';
import type { NextFunction, Request, Response } from 'express';
import { ApiKeys, AuthGuard } from './auth';
import type { GatewayConfig } from './config';
import { ConsoleController } from './console/console.controller';
import { GATEWAY, type GatewayContext } from './context';
import { MediaController } from './media.controller';
import { resolveMediaLinkSecret } from './media-link';
import { buildOpenApi } from './openapi';
import { OpenApiHolder, OpsController } from './ops.controller';
import { OrchestratorClient } from './orchestrator-client';
import { ProblemFilter } from './problem.filter';
import { RateLimitGuard, RateLimiter } from './rate-limit';
import { RatingsController } from './ratings.controller';
import { VideoListController } from './video-list.controller';
import { StreamSlots, openStreams } from './video-events';
import { VideosController } from './videos.controller';
import { CallbackSecretController, WebhooksController } from './webhooks.controller';

export interface GatewayAppOptions {
  /** Poll interval of the events stream (default 1000 ms). */
  ssePollMs?: number;
  /** Keep-alive comment interval of the events stream (default 15000 ms). */
  sseHeartbeatMs?: number;
  logger?: Logger;
}

/** Small on purpose: JSON bodies carry a URL and options; media travels as multipart, streamed. */
const JSON_BODY_LIMIT = '64kb';

@Injectable()
class Lifecycle implements BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(@Inject(GATEWAY) private readonly ctx: GatewayContext) {}

  /** Event streams never end on their own; end them so the HTTP server can finish closing. */
  beforeApplicationShutdown(): void {
    for (const res of openStreams) res.end();
    openStreams.clear();
  }

  /** Runs after the HTTP server has closed and in-flight requests are done. */
  onApplicationShutdown(): void {
    this.ctx.orchestrator.close();
    this.ctx.redis.disconnect();
  }
}

@Module({})
class GatewayModule {
  static with(ctx: GatewayContext): DynamicModule {
    return {
      module: GatewayModule,
      controllers: [
        VideoListController,
        VideosController,
        MediaController,
        RatingsController,
        WebhooksController,
        CallbackSecretController,
        OpsController,
        ConsoleController,
      ],
      providers: [
        { provide: GATEWAY, useValue: ctx },
        { provide: OpenApiHolder, useValue: new OpenApiHolder() },
        Lifecycle,
        // Order matters: Nest runs global guards in this order, and the limiter counts per API key.
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
      ],
    };
  }
}

/** Builds and starts the gateway on config.HOST:config.PORT (0 picks a free port; see gatewayPort). */
export async function createGatewayApp(config: GatewayConfig, options: GatewayAppOptions = {}): Promise<NestExpressApplication> {
  const log = options.logger ?? createLogger('gateway', config.LOG_LEVEL);
  const redis = redisConnection(config.REDIS_URL);
  // ioredis reconnects by itself; without a listener every failed attempt would print a stack.
  redis.on('error', (err: Error) => log.debug({ err: err.message }, 'redis connection error'));
  const ctx: GatewayContext = {
    config,
    orchestrator: new OrchestratorClient(config.ORCHESTRATOR_GRPC_URL),
    store: new ArtifactStore(config.ARTIFACT_DIR),
    metrics: new ServiceMetrics('gateway'),
    log,
    apiKeys: new ApiKeys(config.OMNIAFFECT_API_KEYS),
    redis,
    rateLimiter: new RateLimiter(redis, config.QUEUE_PREFIX, log),
    streams: new StreamSlots(config.SSE_MAX_STREAMS_PER_KEY, config.SSE_MAX_STREAMS),
    ssePollMs: options.ssePollMs ?? 1000,
    sseHeartbeatMs: options.sseHeartbeatMs ?? 15_000,
    mediaLinkSecret: resolveMediaLinkSecret(config.MEDIA_LINK_SECRET, log),
  };
  try {
    const app = await NestFactory.create<NestExpressApplication>(GatewayModule.with(ctx), {
      bodyParser: false,
      logger: nestLogger(log),
      abortOnError: false,
    });
    app.disable('x-powered-by');
    app.set('trust proxy', false);
    app.use(observe(ctx));
    app.useBodyParser('json', { limit: JSON_BODY_LIMIT, type: ['application/json', 'application/*+json'] });
    app.useGlobalFilters(new ProblemFilter(log));
    app.get(OpenApiHolder).document = buildOpenApi(app);
    // Limits should hold from the first request, but a Redis that is down must not keep the API
    // from starting (the limiter fails open): wait a little, not forever.
    await redisReady(redis, REDIS_START_WAIT_MS);
    await app.listen(config.PORT, config.HOST);
    log.info({ port: gatewayPort(app), host: config.HOST, orchestrator: config.ORCHESTRATOR_GRPC_URL }, 'gateway listening');
    return app;
  } catch (err) {
    ctx.orchestrator.close();
    redis.disconnect();
    throw err;
  }
}

const REDIS_START_WAIT_MS = 2000;

function redisReady(redis: GatewayContext['redis'], ms: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    redis.once('ready', done);
  });
}

export function gatewayPort(app: NestExpressApplication): number {
  return (app.getHttpServer().address() as AddressInfo).port;
}

/**
 * Request id (from X-Request-Id when sane, else new), one structured log line per request with the
 * video id when the route has one, and the request-duration histogram keyed by route template.
 */
function observe(ctx: GatewayContext) {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.headers['x-request-id'];
    const reqId = typeof incoming === 'string' && /^[\w.:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    req.headers['x-request-id'] = reqId;
    res.setHeader('X-Request-Id', reqId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // The route template, never the URL: query strings carry pre-signed credentials and tokens.
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      ctx.metrics.httpRequests.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      const quiet = route === '/metrics' || route === '/healthz' || route === '/readyz';
      ctx.log[quiet ? 'debug' : 'info'](
        { reqId, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000), videoId: res.locals.videoId },
        'request',
      );
    });
    next();
  };
}

/** Nest's own messages (route mapping, bootstrap errors) go through the same JSON logger. */
function nestLogger(log: Logger): LoggerService {
  const fmt = (message: unknown, params: unknown[]) => {
    const context = params.length > 0 && typeof params[params.length - 1] === 'string' ? params[params.length - 1] : undefined;
    return [{ context }, typeof message === 'string' ? message : JSON.stringify(message)] as const;
  };
  return {
    log: (m, ...p) => log.debug(...fmt(m, p)),
    error: (m, ...p) => log.error(...fmt(m, p)),
    warn: (m, ...p) => log.warn(...fmt(m, p)),
    debug: (m, ...p) => log.trace(...fmt(m, p)),
    verbose: (m, ...p) => log.trace(...fmt(m, p)),
  };
}
