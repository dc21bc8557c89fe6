import { DEFAULT_GRPC_URLS, DEFAULT_PORTS, baseEnv, bool, loadConfig, port, z } from '@omniaffect/core';

const str = () => z.string();

const TWO_GIB = 2 * 1024 * 1024 * 1024;

/** A non-negative integer from the environment; 0 where documented means "off". */
const count = (dflt: number) => z.coerce.number().int().min(0).default(dflt);

export const gatewayEnv = {
  ...baseEnv,
  PORT: port(DEFAULT_PORTS.gateway),
  HOST: str().default('127.0.0.1'),
  ORCHESTRATOR_GRPC_URL: str().min(1).default(DEFAULT_GRPC_URLS.orchestrator),
  OMNIAFFECT_API_KEYS: str()
    .transform((v) =>
      v
        .split(',')
        .map((k) => k.trim())
        .filter((k) => k.length > 0),
    )
    .refine((keys) => keys.length > 0, 'expected at least one comma-separated API key'),
  MAX_UPLOAD_BYTES: str()
    .regex(/^[1-9]\d*$/, 'expected a positive byte count')
    .default(String(TWO_GIB))
    .transform(Number)
    .refine((n) => Number.isSafeInteger(n), 'byte count too large'),
  OMNIAFFECT_INGEST_ALLOW_PRIVATE: bool(false),
  /** A multipart body that sends nothing for this long is abandoned with a 400 (slow-client defence). */
  UPLOAD_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /**
   * Requests per API key per minute, counted in Redis (REDIS_URL, keys under QUEUE_PREFIX) so the
   * limit holds across gateway replicas. 0 turns the limit off.
   */
  RATE_LIMIT_REQUESTS_PER_MINUTE: count(600),
  /** Video submissions (POST /v1/videos) per API key per minute, on top of the request limit. 0 = off. */
  RATE_LIMIT_SUBMISSIONS_PER_MINUTE: count(30),
  /** Open event streams per API key, and in total, on one gateway replica. 0 = no cap. */
  SSE_MAX_STREAMS_PER_KEY: count(10),
  SSE_MAX_STREAMS: count(1000),
  /**
   * Signs media links (GET /v1/videos/:id/media?exp=&sig=) that work without an API key, e.g. in a
   * report's <video> tag. Every replica needs the same value; unset = a random secret per process.
   */
  MEDIA_LINK_SECRET: str().min(32, 'expected at least 32 characters (e.g. openssl rand -base64 32)').optional(),
  /** Absolute origin the gateway is reached at (behind a proxy); makes the Location header absolute. */
  PUBLIC_BASE_URL: str()
    .url()
    .transform((v) => v.replace(/\/+$/, ''))
    .optional(),
};

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadConfig('gateway', gatewayEnv, env);
}
