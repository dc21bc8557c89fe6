import { z } from 'zod';
import { DEFAULT_GRPC_URLS, DEFAULT_PORTS, baseEnv, bool, loadConfig, port } from '@omniaffect/core';

export const orchestratorEnv = {
  ...baseEnv,
  OPS_PORT: port(DEFAULT_PORTS.ops.orchestrator),
  GRPC_PORT: port(DEFAULT_PORTS.orchestratorGrpc),
  GRPC_HOST: z.string().default('127.0.0.1'),
  FUSION_GRPC_URL: z.string().default(DEFAULT_GRPC_URLS.fusion),
  OMNIAFFECT_WEBHOOK_ALLOW_PRIVATE: bool(false),
  OMNIAFFECT_CALLBACK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]+$/, 'must look like whsec_<base64>')
    .optional(),
  WEBHOOK_RETRY_SCALE: z.coerce.number().positive().max(1).default(1),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).default(30_000),
  /** Raw media (source, audio, frames) of finished videos is erased after this many hours; 0 keeps it. */
  MEDIA_RETENTION_HOURS: z.coerce.number().min(0).default(24),
  COMPLETION_CONCURRENCY: z.coerce.number().int().min(1).default(8),
  /**
   * Per API key quotas, enforced in Submit (and CreateWebhook) under a per-key lock; 0 = no limit.
   * Unfinished = queued or processing.
   */
  QUOTA_MAX_ACTIVE_VIDEOS: z.coerce.number().int().min(0).default(100),
  /**
   * Media hours a key may submit per rolling 24 h: the durations the media stage measured, plus
   * QUOTA_UNPROBED_VIDEO_SECONDS for each unfinished video whose duration is not known yet.
   */
  QUOTA_MAX_MEDIA_HOURS_PER_DAY: z.coerce.number().min(0).default(500),
  /**
   * What an unprobed video counts for. Conservative on purpose: the media stage accepts up to its
   * MEDIA_MAX_DURATION_SEC (7200 by default), and a few-KB file can declare that much, so anything
   * lower lets a key queue more hours than its quota before the first probe runs. Keep it equal to
   * the media workers' MEDIA_MAX_DURATION_SEC.
   */
  QUOTA_UNPROBED_VIDEO_SECONDS: z.coerce.number().min(0).default(7200),
  QUOTA_MAX_WEBHOOKS: z.coerce.number().int().min(0).default(25),
  /**
   * How long Submit waits for the first enqueue after committing: past it (Redis down or slow) Submit
   * still answers success and the reconciler enqueues once Redis is back.
   */
  SUBMIT_ENQUEUE_TIMEOUT_MS: z.coerce.number().int().min(50).default(2_000),
  /**
   * How long DELETE waits for the clean-up outside PostgreSQL (Redis jobs, artifact store, fusion's
   * Forget) before answering; the erasure itself is committed first, the reconciler finishes the rest.
   */
  ERASE_TIMEOUT_MS: z.coerce.number().int().min(50).default(4_000),
  /**
   * A videos/<id>/ directory without a video row (an upload whose Submit never committed, a killed
   * upload's .part, a late write for an erased video), or a stale .tmp-/.part- file, is removed once
   * nothing in it has changed for this long. Longer than any Submit could take after its upload ends.
   */
  ORPHAN_GRACE_MINUTES: z.coerce.number().min(1).default(60),
  ORPHAN_SWEEP_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(10 * 60_000),
};

export const loadOrchestratorConfig = (env = process.env) => loadConfig('orchestrator', orchestratorEnv, env);
export type OrchestratorConfig = ReturnType<typeof loadOrchestratorConfig>;
