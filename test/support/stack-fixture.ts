import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import { Queues, newWebhookSecret, redisConnection, repoRoot } from '@omniaffect/core';
import { buildTinyPack } from '@omniaffect/models';
import { GatewayClient, Stack, randomPorts } from '@omniaffect/cli';

export interface TestStack {
  stack: Stack;
  client: GatewayClient;
  apiKey: string;
  /** A second tenant's key, for checks that one key cannot see or forge another's work. */
  otherApiKey: string;
  databaseUrl: string;
  db: Pool;
  /** The stack's BullMQ queues, for tests that must see a job's state without the status lag. */
  queues: Queues;
  dir: string;
  modelDir: string;
  logs(): string;
  teardown(): Promise<void>;
}

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A whole OmniAffect stack for one test file: the real services as child processes against the
 * machine's real Redis and PostgreSQL, isolated by a fresh database, a fresh BullMQ prefix, a temp
 * artifact dir and random ports, so test files can run side by side.
 */
export async function startTestStack(extraEnv: NodeJS.ProcessEnv = {}): Promise<TestStack> {
  const tag = randomBytes(4).toString('hex');
  const dir = mkdtempSync(path.join(os.tmpdir(), `oa-e2e-${tag}-`));
  const modelDir = path.join(dir, 'models');
  buildTinyPack(modelDir);
  const dbName = `oa_e2e_${tag}`;
  const databaseUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`);
  const apiKey = `test_${randomBytes(16).toString('hex')}`;
  const otherApiKey = `test_${randomBytes(16).toString('hex')}`;
  const ports = await randomPorts();
  const stack = new Stack({
    stateDir: dir,
    logDir: path.join(dir, 'logs'),
    ports,
    apiKeys: [apiKey, otherApiKey],
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: `e2e${tag}`,
      ARTIFACT_DIR: path.join(dir, 'artifacts'),
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
      // e2e files push dozens of clips through one key; the limiter has its own tests (services/gateway/test/limits)
      RATE_LIMIT_REQUESTS_PER_MINUTE: '0',
      RATE_LIMIT_SUBMISSIONS_PER_MINUTE: '0',
      ...extraEnv,
    },
  });
  await stack.start(120_000);
  const db = new Pool({ connectionString: databaseUrl, max: 2 });
  const redis = redisConnection(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const queues = new Queues(redis, `e2e${tag}`);
  const logs = () =>
    readdirSync(path.join(dir, 'logs'))
      .map(
        (f) =>
          `--- ${f}\n${readFileSync(path.join(dir, 'logs', f), 'utf8')
            .split('\n')
            .slice(-15)
            .join('\n')}`,
      )
      .join('\n');
  const watchdog = watchForStuckVideos(db, queues, () => `${serviceExits(stack)}\n${logs()}`);
  // A service that dies on its own is not restarted here (Kubernetes would): say so at once, with its
  // last lines, instead of leaving the videos it held to time out in silence. A test's own kill is a signal.
  let stopping = false;
  for (const h of stack.handles.values()) {
    h.child.once('exit', (code) => {
      if (!stopping && code !== null && code !== 0) console.log(`SERVICE EXITED: ${h.name} with code ${code}\n${logs()}`);
    });
  }
  return {
    stack,
    client: new GatewayClient(stack.gatewayUrl, apiKey),
    apiKey,
    otherApiKey,
    databaseUrl,
    db,
    queues,
    dir,
    modelDir,
    logs,
    async teardown() {
      clearInterval(watchdog);
      stopping = true;
      await stack.stop(10_000);
      await queues.close();
      redis.disconnect();
      await db.end();
      const admin = new Pool({ connectionString: ADMIN_URL, max: 1 });
      await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
      await admin.end();
      if (!process.env.KEEP_E2E) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Which of the stack's services are no longer running, and how they ended. */
function serviceExits(stack: Stack): string {
  const gone = stack.exited();
  return gone.length ? `exited: ${gone.map((h) => `${h.name} (${h.child.signalCode ?? `code ${h.child.exitCode}`})`).join(', ')}` : 'every service is running';
}

/** A video open this long in a test stack of tiny models is stuck, not slow (clips take seconds). */
const STUCK_AFTER_S = 150;

/**
 * Prints, once per stack, what a stuck video waits on: its stages, the queues' job counts and the
 * services' last log lines. A CI run keeps only the test output, and a test that merely times out
 * says nothing about which worker held the video; this says it while the stack is still up.
 */
function watchForStuckVideos(db: Pool, queues: Queues, logs: () => string): NodeJS.Timeout {
  let reported = false;
  const timer = setInterval(() => {
    if (reported) return;
    void (async () => {
      const stuck = await db.query<{ id: string; status: string; age: number }>(
        `SELECT id, status, extract(epoch FROM now() - created_at)::int AS age FROM videos
          WHERE status IN ('queued','processing') AND created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT 3`,
        [STUCK_AFTER_S],
      );
      if (stuck.rowCount === 0 || reported) return;
      reported = true;
      const stages = await db.query(
        `SELECT video_id, name, state, attempts, started_at, finished_at, reason FROM stages WHERE video_id = ANY($1) ORDER BY video_id, name`,
        [stuck.rows.map((r) => r.id)],
      );
      console.log(
        [
          `STUCK VIDEOS (open for more than ${STUCK_AFTER_S} s): ${JSON.stringify(stuck.rows)}`,
          `stages: ${JSON.stringify(stages.rows)}`,
          `queues: ${JSON.stringify(await queues.depths())}`,
          logs(),
        ].join('\n'),
      );
    })().catch((err: Error) => console.log(`stuck-video watchdog: ${err.message}`));
  }, 15_000);
  timer.unref();
  return timer;
}

/**
 * A stack started while `prepare` runs (ffmpeg writing a dataset, say): both must succeed, and a stack
 * whose preparation failed is torn down before the error is thrown.
 */
export async function startTestStackWhile(prepare: Promise<unknown>, extraEnv: NodeJS.ProcessEnv = {}): Promise<TestStack> {
  const [p, st] = await Promise.allSettled([prepare, startTestStack(extraEnv)]);
  if (p.status === 'rejected') {
    if (st.status === 'fulfilled') await st.value.teardown();
    throw p.reason;
  }
  if (st.status === 'rejected') throw st.reason;
  return st.value;
}

/** Wall time of named steps, for the timing line an e2e file prints at the end. */
export function stopwatch(): { ms: Record<string, number>; timed<T>(name: string, f: () => Promise<T>): Promise<T> } {
  const ms: Record<string, number> = {};
  return {
    ms,
    async timed(name, f) {
      const t = Date.now();
      try {
        return await f();
      } finally {
        ms[name] = Date.now() - t;
      }
    },
  };
}
