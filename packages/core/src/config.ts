import { z } from 'zod';

/** Re-exported so every service declares its variables with the same zod as loadConfig. */
export { z };

/**
 * Configuration comes from environment variables only, validated once at start. A bad value stops the
 * service with one message naming every offending variable, instead of failing later mid-request.
 */
export class ConfigError extends Error {
  constructor(
    public readonly service: string,
    public readonly issues: string[],
  ) {
    super(`${service}: invalid configuration:\n  - ${issues.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export const bool = (dflt: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(dflt ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const port = (dflt: number) => z.coerce.number().int().min(0).max(65535).default(dflt);

/** Variables every service reads. */
export const baseEnv = {
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/omniaffect'),
  ARTIFACT_DIR: z.string().min(1).default('./artifacts'),
  /** BullMQ key prefix; lets several stacks (or test runs) share one Redis. */
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).default('omniaffect'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Where /metrics, /healthz and /readyz are served for non-HTTP services (0 = pick a free port). */
  OPS_PORT: port(0),
  OPS_HOST: z.string().default('127.0.0.1'),
  /** BullMQ job lock; a killed worker's job is picked up again after about lock + stalled interval. */
  JOB_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
  JOB_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).default(5_000),
};

/** Variables of the services that run an ONNX model. */
export const modelWorkerEnv = {
  MODEL_DIR: z.string().min(1).default('./models/tiny'),
  /** `cpu`, `cuda` or `cuda:<device id>`. */
  EXECUTION_PROVIDER: z.string().regex(/^(cpu|cuda(:\d+)?)$/, 'expected cpu, cuda or cuda:<id>').default('cpu'),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  BATCH_MAX: z.coerce.number().int().min(1).max(256).default(8),
  BATCH_WAIT_MS: z.coerce.number().int().min(0).max(10_000).default(10),
  FUSION_GRPC_URL: z.string().default('127.0.0.1:50052'),
  INTRA_OP_THREADS: z.coerce.number().int().min(0).max(256).default(0),
  /** One model call longer than this (a hung GPU run) kills the inference thread and the worker. 0 = no limit. */
  INFERENCE_TIMEOUT_MS: z.coerce.number().int().min(0).default(15 * 60_000),
};

export function loadConfig<T extends z.ZodRawShape>(
  service: string,
  shape: T,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<T>> {
  const parsed = z.object(shape).safeParse(env);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => {
    const key = i.path.join('.');
    const got = env[key];
    return `${key}: ${i.message}${got === undefined ? ' (not set)' : ` (got ${JSON.stringify(got)})`}`;
  });
  throw new ConfigError(service, issues);
}
