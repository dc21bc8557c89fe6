import { z } from 'zod';
import { DEFAULT_GRPC_URLS } from './vocabulary';

/** Re-exported so every service declares its variables with the same zod as loadConfig. */
export { z };

/**
 * Configuration comes from environment variables only, validated once at start. A bad value stops the
 * service with one message naming every offending variable and what is wrong with it, instead of
 * failing later mid-request. The message never repeats a value: REDIS_URL, DATABASE_URL, API keys and
 * tokens carry credentials, and this message goes to logs and crash reports that more people read
 * than the Secret it came from. Naming the variable is enough to find it.
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

/** MAX_JOB_CRASHES' default; also what runStageWorker assumes when its caller passes none. */
export const DEFAULT_MAX_JOB_CRASHES = 2;

/** STARTED_REPORT_DELAY_MS' default; also what runStageWorker assumes when its caller passes none. */
export const DEFAULT_STARTED_REPORT_DELAY_MS = 250;

/** Variables every service reads. */
export const baseEnv = {
  /**
   * Every Redis client (BullMQ queues, workers, the orchestrator's own reads) comes from this URL via
   * redisConnection(). An ACL user and password go in the userinfo (redis://user:password@host:6379/0,
   * password URL-encoded; redis://:password@host for requirepass), rediss:// switches to TLS. The
   * user needs the stack's QUEUE_PREFIX keys (~<prefix>:*), channels (&*) and BullMQ's commands
   * (+@all is simplest; see packages/core/test/redis-acl.test.ts for a working grant).
   */
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/omniaffect'),
  ARTIFACT_DIR: z.string().min(1).default('./artifacts'),
  /** BullMQ key prefix; lets several stacks (or test runs) share one Redis. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('omniaffect'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Where /metrics, /healthz and /readyz are served for non-HTTP services (0 = pick a free port). */
  OPS_PORT: port(0),
  OPS_HOST: z.string().default('127.0.0.1'),
  /** BullMQ job lock; a killed worker's job is picked up again after about lock + stalled interval. */
  JOB_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
  JOB_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).default(5_000),
  /**
   * Shared secret every internal gRPC call carries (`authorization: Bearer …`) and every gRPC server
   * checks. Required unless OMNIAFFECT_INSECURE_GRPC=true; 32+ characters (e.g. `openssl rand -hex 32`).
   */
  OMNIAFFECT_SERVICE_TOKEN: z.string().min(32, 'expected at least 32 characters (e.g. openssl rand -hex 32)').optional(),
  /** Explicit opt-out of gRPC service authentication (a single-user dev box); never in a cluster. */
  OMNIAFFECT_INSECURE_GRPC: bool(false),
  /** mTLS for internal gRPC: PEM files. All three or none; servers then require a client certificate signed by the CA. */
  GRPC_TLS_CERT: z.string().min(1).optional(),
  GRPC_TLS_KEY: z.string().min(1).optional(),
  GRPC_TLS_CA: z.string().min(1).optional(),
  /** The name clients expect in the servers' certificate when it differs from the dialled host. */
  GRPC_TLS_SERVER_NAME: z.string().min(1).optional(),
  /**
   * How many worker processes one job may take down (a poison input that hangs or crashes inference)
   * before it fails for good instead of being handed to the next worker.
   */
  MAX_JOB_CRASHES: z.coerce.number().int().min(1).max(20).default(DEFAULT_MAX_JOB_CRASHES),
  /**
   * How long a stage run lasts before it tells the orchestrator it is running (the advisory "started"
   * report). Shorter runs go from pending to done: on a short clip those reports were half of the
   * orchestrator's transactions. 0 reports every run at once.
   */
  STARTED_REPORT_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(DEFAULT_STARTED_REPORT_DELAY_MS),
  /**
   * How long a SIGTERM/SIGINT waits for in-flight work before the process exits anyway
   * (EXIT_CODES.shutdownTimeout). Kubernetes' terminationGracePeriodSeconds must be longer.
   */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(25_000),
};
export type BaseConfig = z.infer<z.ZodObject<typeof baseEnv>>;

/** Variables of the services that run an ONNX model. */
export const modelWorkerEnv = {
  MODEL_DIR: z.string().min(1).default('./models/tiny'),
  /** `cpu`, `cuda` or `cuda:<device id>`. */
  EXECUTION_PROVIDER: z
    .string()
    .regex(/^(cpu|cuda(:\d+)?)$/, 'expected cpu, cuda or cuda:<id>')
    .default('cpu'),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  BATCH_MAX: z.coerce.number().int().min(1).max(256).default(8),
  BATCH_WAIT_MS: z.coerce.number().int().min(0).max(10_000).default(10),
  FUSION_GRPC_URL: z.string().default(DEFAULT_GRPC_URLS.fusion),
  INTRA_OP_THREADS: z.coerce.number().int().min(0).max(256).default(0),
  /** One model call longer than this (a hung GPU run) kills the inference thread and the worker. 0 = no limit. */
  INFERENCE_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(15 * 60_000),
};

export type ModelWorkerBaseConfig = z.infer<z.ZodObject<typeof baseEnv & typeof modelWorkerEnv>>;

export function loadConfig<T extends z.ZodRawShape>(service: string, shape: T, env: NodeJS.ProcessEnv = process.env): z.infer<z.ZodObject<T>> {
  const parsed = z.object(shape).safeParse(env);
  const issues = parsed.success ? [] : parsed.error.issues.map((i) => describeIssue(i, env));
  // The gRPC security settings are checked only when the process's own environment is being loaded,
  // i.e. when a service starts: tests and tools that build a config from an explicit object are not
  // a deployment, and grpc.ts still never runs open for them (see grpcSecurityFromEnv).
  if ('OMNIAFFECT_SERVICE_TOKEN' in shape && env === process.env) issues.push(...grpcSecurityIssues(env));
  if (issues.length === 0 && parsed.success) return parsed.data;
  throw new ConfigError(service, issues);
}

/** The variable, what is wrong, and whether it was set at all; never its value (see ConfigError). */
function describeIssue(i: z.ZodIssue, env: NodeJS.ProcessEnv): string {
  const key = i.path.join('.');
  const got = env[key];
  // zod's own enum message ends in "received 'value'": rebuild it from the options alone.
  let message = i.code === z.ZodIssueCode.invalid_enum_value ? `expected one of ${i.options.join(', ')}` : i.message;
  // A refine() message written elsewhere could still quote the input; short values are left alone
  // because blanking "0" or "on" would mangle the words around them, and they are no secret.
  if (got && got.length >= 4) message = message.split(got).join('<value>');
  const state = got === undefined ? 'not set' : got === '' ? 'set but empty' : 'value not shown';
  return `${key}: ${message} (${state})`;
}

/**
 * What is missing for internal gRPC to be authenticated: a service token, or an explicit insecure
 * opt-in; and TLS files that come as a complete set.
 */
export function grpcSecurityIssues(env: NodeJS.ProcessEnv): string[] {
  const issues: string[] = [];
  const insecure = ['true', '1', 'yes'].includes(env.OMNIAFFECT_INSECURE_GRPC ?? '');
  if (!env.OMNIAFFECT_SERVICE_TOKEN && !insecure) {
    issues.push(
      'OMNIAFFECT_SERVICE_TOKEN: not set; every service needs the same token to call the others over gRPC ' +
        '(generate one with `openssl rand -hex 32`), or set OMNIAFFECT_INSECURE_GRPC=true to run without service authentication',
    );
  }
  const tls = (['GRPC_TLS_CERT', 'GRPC_TLS_KEY', 'GRPC_TLS_CA'] as const).filter((k) => env[k]);
  if (tls.length > 0 && tls.length < 3) {
    const missing = ['GRPC_TLS_CERT', 'GRPC_TLS_KEY', 'GRPC_TLS_CA'].filter((k) => !env[k]);
    issues.push(`${missing.join(', ')}: not set; mTLS needs GRPC_TLS_CERT, GRPC_TLS_KEY and GRPC_TLS_CA together`);
  }
  return issues;
}
