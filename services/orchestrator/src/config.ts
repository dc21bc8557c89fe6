import { z } from 'zod';
import { baseEnv, bool, loadConfig, port } from '@omniaffect/core';

export const orchestratorEnv = {
  ...baseEnv,
  OPS_PORT: port(9101),
  GRPC_PORT: port(50051),
  GRPC_HOST: z.string().default('127.0.0.1'),
  FUSION_GRPC_URL: z.string().default('127.0.0.1:50052'),
  OMNIAFFECT_WEBHOOK_ALLOW_PRIVATE: bool(false),
  OMNIAFFECT_CALLBACK_SECRET: z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, 'must look like whsec_<base64>').optional(),
  WEBHOOK_RETRY_SCALE: z.coerce.number().positive().max(1).default(1),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  /** Raw media (source, audio, frames) of finished videos is erased after this many hours; 0 keeps it. */
  MEDIA_RETENTION_HOURS: z.coerce.number().min(0).default(24),
  COMPLETION_CONCURRENCY: z.coerce.number().int().min(1).default(8),
};

export const loadOrchestratorConfig = (env = process.env) => loadConfig('orchestrator', orchestratorEnv, env);
export type OrchestratorConfig = ReturnType<typeof loadOrchestratorConfig>;
