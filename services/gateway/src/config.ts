import { baseEnv, bool, loadConfig, port, z } from '@omniaffect/core';

const str = () => z.string();

const TWO_GIB = 2 * 1024 * 1024 * 1024;

export const gatewayEnv = {
  ...baseEnv,
  PORT: port(8080),
  HOST: str().default('127.0.0.1'),
  ORCHESTRATOR_GRPC_URL: str().min(1).default('127.0.0.1:50051'),
  OMNIAFFECT_API_KEYS: str()
    .transform((v) => v.split(',').map((k) => k.trim()).filter((k) => k.length > 0))
    .refine((keys) => keys.length > 0, 'expected at least one comma-separated API key'),
  MAX_UPLOAD_BYTES: str()
    .regex(/^[1-9]\d*$/, 'expected a positive byte count')
    .default(String(TWO_GIB))
    .transform(Number)
    .refine((n) => Number.isSafeInteger(n), 'byte count too large'),
  OMNIAFFECT_INGEST_ALLOW_PRIVATE: bool(false),
  /** Absolute origin the gateway is reached at (behind a proxy); makes the Location header absolute. */
  PUBLIC_BASE_URL: str().url().transform((v) => v.replace(/\/+$/, '')).optional(),
};

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadConfig('gateway', gatewayEnv, env);
}
