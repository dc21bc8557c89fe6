import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import { newWebhookSecret, repoRoot } from '@omniaffect/core';
import { buildTinyPack } from '@omniaffect/models';
import { GatewayClient, Stack, randomPorts } from '@omniaffect/cli';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from './private-infra';

/**
 * A whole stack on a Redis and a PostgreSQL of its own (see private-infra.ts), for tests that restart
 * them; the shared startTestStack() runs on the machine's Redis/PostgreSQL, which other test files use
 * at the same time. Optionally the artifact dir is a small tmpfs, so "disk full" can be real.
 */
export interface PrivateStack {
  stack: Stack;
  client: GatewayClient;
  apiKey: string;
  db: Pool;
  redis: PrivateRedis;
  postgres: PrivatePostgres;
  dir: string;
  artifactDir: string;
  /** null when the artifact dir is a tmpfs of that many bytes; otherwise why it could not be mounted. */
  tmpfsRefused: string | null;
  logs(lines?: number): string;
  teardown(): Promise<void>;
}

export async function startPrivateStack(opts: { tmpfsBytes?: number; env?: NodeJS.ProcessEnv } = {}): Promise<PrivateStack> {
  const tag = randomBytes(4).toString('hex');
  const dir = mkdtempSync(path.join(os.tmpdir(), `oa-priv-${tag}-`));
  const modelDir = path.join(dir, 'models');
  buildTinyPack(modelDir);
  const artifactDir = path.join(dir, 'artifacts');
  mkdirSync(artifactDir, { recursive: true });
  let tmpfsRefused: string | null = 'not asked for';
  if (opts.tmpfsBytes) {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${opts.tmpfsBytes},mode=0777`, `oa-artifacts-${tag}`, artifactDir], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      tmpfsRefused = null;
    } catch (err) {
      tmpfsRefused = ((err as { stderr?: Buffer }).stderr?.toString() || (err as Error).message).trim();
    }
  }
  // PostgreSQL runs as its own user (see private-infra.ts), which must be able to reach its data dir
  chmodSync(dir, 0o755);
  const unmount = () => {
    if (tmpfsRefused !== null) return;
    try {
      execFileSync('umount', [artifactDir], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', artifactDir], { stdio: 'ignore' });
    }
  };
  let redis: PrivateRedis | null = null;
  let postgres: PrivatePostgres;
  try {
    redis = await startPrivateRedis(path.join(dir, 'redis'));
    postgres = await startPrivatePostgres(path.join(dir, 'pg'));
  } catch (err) {
    await redis?.stop();
    unmount();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const infra = { redis, postgres };
  const databaseUrl = postgres.url('omniaffect_fault');
  const apiKey = `test_${randomBytes(16).toString('hex')}`;
  const ports = await randomPorts();
  const stack = new Stack({
    stateDir: dir,
    logDir: path.join(dir, 'logs'),
    ports,
    apiKeys: [apiKey],
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      REDIS_URL: infra.redis.url,
      QUEUE_PREFIX: `fault${tag}`,
      ARTIFACT_DIR: artifactDir,
      MODEL_DIR: modelDir,
      PROTO_DIR: path.join(repoRoot(), 'proto'),
      OMNIAFFECT_WEBHOOK_ALLOW_PRIVATE: 'true',
      OMNIAFFECT_INGEST_ALLOW_PRIVATE: 'true',
      OMNIAFFECT_CALLBACK_SECRET: newWebhookSecret(),
      WEBHOOK_RETRY_SCALE: '0.001',
      RECONCILE_INTERVAL_MS: '2000',
      JOB_LOCK_MS: '4000',
      JOB_STALLED_INTERVAL_MS: '1000',
      WORKER_CONCURRENCY: '2',
      LOG_LEVEL: 'info',
      ...opts.env,
    },
  });
  const db = new Pool({ connectionString: databaseUrl, max: 3 });
  // a restart of PostgreSQL ends idle connections: the pool must not crash the test process over it
  db.on('error', () => undefined);
  const teardown = async () => {
    await stack.stop(10_000).catch(() => undefined);
    await db.end().catch(() => undefined);
    await infra.postgres.stop().catch(() => undefined);
    await infra.redis.stop().catch(() => undefined);
    unmount();
    if (!process.env.KEEP_E2E) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await stack.start(120_000);
  } catch (err) {
    await teardown();
    throw err;
  }
  const logs = (lines = 15) =>
    readdirSync(path.join(dir, 'logs'))
      .map(
        (f) =>
          `--- ${f}\n${readFileSync(path.join(dir, 'logs', f), 'utf8')
            .split('\n')
            .slice(-lines)
            .join('\n')}`,
      )
      .join('\n');
  return {
    stack,
    client: new GatewayClient(stack.gatewayUrl, apiKey),
    apiKey,
    db,
    redis: infra.redis,
    postgres: infra.postgres,
    dir,
    artifactDir,
    tmpfsRefused,
    logs,
    teardown,
  };
}
