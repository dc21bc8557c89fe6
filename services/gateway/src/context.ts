import type { ArtifactStore, Logger, ServiceMetrics } from '@omniaffect/core';
import type { GatewayConfig } from './config';
import type { OrchestratorClient } from './orchestrator-client';
import type { ApiKeys } from './auth';

/** Everything the controllers share, built once in createGatewayApp and injected under GATEWAY. */
export interface GatewayContext {
  config: GatewayConfig;
  orchestrator: OrchestratorClient;
  store: ArtifactStore;
  metrics: ServiceMetrics;
  log: Logger;
  apiKeys: ApiKeys;
  /** How often the events stream polls the orchestrator, and how often it sends a keep-alive comment. */
  ssePollMs: number;
  sseHeartbeatMs: number;
}

export const GATEWAY = Symbol('GATEWAY_CONTEXT');
