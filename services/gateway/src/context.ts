import type { ArtifactStore, Logger, ServiceMetrics, redisConnection } from '@omniaffect/core';
import type { GatewayConfig } from './config';
import type { OrchestratorClient } from './orchestrator-client';
import type { ApiKeys } from './auth';
import type { RateLimiter } from './rate-limit';
import type { StreamSlots } from './video-events';

/** Everything the controllers share, built once in createGatewayApp and injected under GATEWAY. */
export interface GatewayContext {
  config: GatewayConfig;
  orchestrator: OrchestratorClient;
  store: ArtifactStore;
  metrics: ServiceMetrics;
  log: Logger;
  apiKeys: ApiKeys;
  /** Only the rate limiter's counters live here; the gateway keeps no other state in Redis. */
  redis: ReturnType<typeof redisConnection>;
  rateLimiter: RateLimiter;
  streams: StreamSlots;
  /** How often the events stream polls the orchestrator, and how often it sends a keep-alive comment. */
  ssePollMs: number;
  sseHeartbeatMs: number;
  /** Signs and checks media links (media-link.ts): MEDIA_LINK_SECRET, or a random one for this process. */
  mediaLinkSecret: string;
}

export const GATEWAY = Symbol('GATEWAY_CONTEXT');
