import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { TINY_PACK_FILE, repoRoot } from '@omniaffect/core';
import { buildTinyPack } from '@omniaffect/models';
import { DEFAULT_PORTS, localApiKey, localCallbackSecret, localServiceToken, type StackOptions, type StackPorts } from './stack';

/** `.omniaffect/` at the repository root unless OMNIAFFECT_STATE_DIR says otherwise. */
export function stateDir(): string {
  return path.resolve(process.env.OMNIAFFECT_STATE_DIR ?? path.join(repoRoot(), '.omniaffect'));
}

export interface StackFile {
  pids: Record<string, number>;
  ports: StackPorts;
  gatewayUrl: string;
  apiKeyFile: string;
  logDir: string;
  startedAt: string;
}

export const stackFile = () => path.join(stateDir(), 'stack.json');

export function readStackFile(): StackFile | null {
  return existsSync(stackFile()) ? (JSON.parse(readFileSync(stackFile(), 'utf8')) as StackFile) : null;
}

export function writeStackFile(s: StackFile): void {
  mkdirSync(stateDir(), { recursive: true });
  writeFileSync(stackFile(), JSON.stringify(s, null, 2));
}

/** The tiny model pack is generated on first use when MODEL_DIR is not set (no weights can be downloaded). */
export function ensureModels(env: NodeJS.ProcessEnv): string {
  if (env.MODEL_DIR) return path.resolve(env.MODEL_DIR);
  const dir = path.join(stateDir(), 'models', 'tiny');
  if (!existsSync(path.join(dir, TINY_PACK_FILE))) buildTinyPack(dir);
  return dir;
}

/** Stack options from the environment (`up` honours REDIS_URL, DATABASE_URL, PORT, MODEL_DIR, ARTIFACT_DIR, OMNIAFFECT_API_KEYS, OMNIAFFECT_SERVICE_TOKEN). */
export function localStackOptions(env: NodeJS.ProcessEnv = process.env, ports: StackPorts = portsFromEnv(env)): StackOptions & { apiKeyFile: string | null } {
  const dir = stateDir();
  const keys =
    env.OMNIAFFECT_API_KEYS?.split(',')
      .map((k) => k.trim())
      .filter(Boolean) ?? [];
  let apiKeyFile: string | null = null;
  if (keys.length === 0) {
    const k = localApiKey(dir);
    keys.push(k.key);
    apiKeyFile = k.file;
  }
  const modelDir = ensureModels(env);
  const merged: NodeJS.ProcessEnv = {
    ...env,
    DATABASE_URL: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/omniaffect',
    REDIS_URL: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    ARTIFACT_DIR: path.resolve(env.ARTIFACT_DIR ?? path.join(dir, 'artifacts')),
    MODEL_DIR: modelDir,
    // one multilingual encoder in both text slots: zh and en text features share one space (docs/models.md, cross-lingual)
    ...(env.OMNIAFFECT_TEXT_ENCODER === 'multilingual' ? { TEXT_MODEL_DIR_EN: env.TEXT_MODEL_DIR_ZH ?? path.join(modelDir, 'text-zh') } : {}),
    // A local stack serves the one person who started it: per-key rate limits protect a shared
    // deployment from its tenants and would only slow `eval run` over a dataset here.
    RATE_LIMIT_REQUESTS_PER_MINUTE: env.RATE_LIMIT_REQUESTS_PER_MINUTE ?? '0',
    RATE_LIMIT_SUBMISSIONS_PER_MINUTE: env.RATE_LIMIT_SUBMISSIONS_PER_MINUTE ?? '0',
    OMNIAFFECT_CALLBACK_SECRET: env.OMNIAFFECT_CALLBACK_SECRET ?? localCallbackSecret(dir),
    // Internal gRPC is authenticated locally too: the token is generated once per state dir (mode 0600).
    OMNIAFFECT_SERVICE_TOKEN: env.OMNIAFFECT_SERVICE_TOKEN || localServiceToken(dir),
    PROTO_DIR: env.PROTO_DIR ?? path.join(repoRoot(), 'proto'),
  };
  return { stateDir: dir, env: merged, ports, apiKeys: keys, logDir: path.join(dir, 'logs'), apiKeyFile };
}

/** PORT moves the gateway; ORCHESTRATOR_GRPC_PORT, FUSION_GRPC_PORT and OPS_PORT_BASE move the rest. */
function portsFromEnv(env: NodeJS.ProcessEnv): StackPorts {
  const num = (v: string | undefined, d: number) => (v ? Number(v) : d);
  const base = num(env.OPS_PORT_BASE, DEFAULT_PORTS.ops.orchestrator);
  const ops = Object.fromEntries(Object.keys(DEFAULT_PORTS.ops).map((k, i) => [k, base + i])) as StackPorts['ops'];
  return {
    gateway: num(env.PORT, DEFAULT_PORTS.gateway),
    orchestratorGrpc: num(env.ORCHESTRATOR_GRPC_PORT, DEFAULT_PORTS.orchestratorGrpc),
    fusionGrpc: num(env.FUSION_GRPC_PORT, DEFAULT_PORTS.fusionGrpc),
    ops,
  };
}

/** Gateway URL and API key for client commands: env first, then the running local stack. */
export function clientTarget(): { url: string; key: string } {
  const stack = readStackFile();
  const url = process.env.OMNIAFFECT_URL ?? stack?.gatewayUrl ?? `http://127.0.0.1:${process.env.PORT ?? DEFAULT_PORTS.gateway}`;
  let key = process.env.OMNIAFFECT_API_KEY ?? '';
  if (!key && stack?.apiKeyFile && existsSync(stack.apiKeyFile)) key = readFileSync(stack.apiKeyFile, 'utf8').trim();
  if (!key && existsSync(path.join(stateDir(), 'api-key'))) key = readFileSync(path.join(stateDir(), 'api-key'), 'utf8').trim();
  if (!key) throw new Error('no API key: set OMNIAFFECT_API_KEY (or run `omniaffect up`, which writes one)');
  return { url, key };
}
