import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import {
  ArtifactStore,
  FusionClient,
  ORCHESTRATOR_SERVICE,
  QUEUES,
  Queues,
  createDb,
  grpcClient,
  isDbUnavailableError,
  newWebhookSecret,
  redisConnection,
  stageJobId,
  startGrpcServer,
  unary,
  type Db,
} from '@omniaffect/core';
import { orchestratorGrpcImpl } from '../src/grpc-api';
import { Orchestrator, type SubmitInput } from '../src/orchestrator';
import { WebhookService } from '../src/webhooks';
import { startFusion, testInfra } from './support';

/** Redis and PostgreSQL going away under a running orchestrator: real servers, real ports. */
const infra = testInfra('outages-test');
const { log, metrics } = infra;
const dir = mkdtempSync(path.join(tmpdir(), `oa-outage-${infra.tag}-`));
const store = new ArtifactStore(path.join(dir, 'artifacts'));
let db: Db;
let fusion: Awaited<ReturnType<typeof startFusion>>;
let forgetter: FusionClient;

before(async () => {
  db = await infra.setup();
  fusion = await startFusion(db, log);
  forgetter = new FusionClient(fusion.address);
});

after(async () => {
  forgetter.close();
  await fusion.close();
  await infra.teardown();
  rmSync(dir, { recursive: true, force: true });
});

function input(over: Partial<SubmitInput> = {}): SubmitInput {
  return {
    owner: 'owner-outage',
    videoId: randomUUID(),
    idempotencyKey: '',
    sourceKind: 'upload',
    sourcePath: '',
    sourceUrl: '',
    filename: 'clip.mp4',
    contentType: 'video/mp4',
    sizeBytes: 10,
    language: 'auto',
    callbackUrl: '',
    metadata: {},
    ...over,
  };
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function waitFor(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('Redis down during Submit: Submit answers at once, and the video is enqueued once Redis is back', async () => {
  const port = await freePort();
  const connection = redisConnection(`redis://127.0.0.1:${port}`);
  connection.on('error', () => undefined); // ECONNREFUSED until the server starts: expected here
  const queues = new Queues(connection, `oato${infra.tag}`);
  for (const q of Object.values(QUEUES)) queues.get(q).on('error', () => undefined);
  const webhooks = new WebhookService(db, queues, { allowPrivate: true, callbackSecret: newWebhookSecret(), retryScale: 0.001, timeoutMs: 2000 }, log, metrics);
  const orch = new Orchestrator(db, queues, store, webhooks, log, metrics, forgetter, { submitEnqueueTimeoutMs: 300 });
  let redis: ChildProcess | undefined;
  try {
    const inp = input();
    const t0 = Date.now();
    const { doc, created } = await orch.submit(inp);
    const ms = Date.now() - t0;
    assert.equal(created, true);
    assert.equal(doc.status, 'queued');
    assert.ok(ms < 3000, `Submit took ${ms} ms with Redis down`);
    assert.equal((await db.query('SELECT 1 FROM videos WHERE id = $1', [inp.videoId])).rowCount, 1, 'committed');

    // Redis comes back (a real redis-server on the port the orchestrator was pointed at)
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitFor(async () => (await connection.ping()) === 'PONG', 15_000, 'redis to accept connections');
    await orch.reconciler.reconcile();
    const job = await queues.get(QUEUES.media).getJob(stageJobId(inp.videoId, 'media'));
    assert.ok(job, 'the reconciler enqueued the media job');
    assert.equal(job.data.videoId, inp.videoId);
    // and a Submit with Redis up enqueues directly, as before
    const next = input();
    await orch.submit(next);
    assert.ok(await queues.get(QUEUES.media).getJob(stageJobId(next.videoId, 'media')));
  } finally {
    await queues.close().catch(() => undefined);
    connection.disconnect();
    if (redis?.pid) process.kill(redis.pid, 'SIGKILL');
  }
});

const slugAndDetail = async (client: ReturnType<typeof grpcClient>, method: string, req: object) => {
  try {
    await unary(client, method, req, { deadlineMs: 15_000, idempotent: false });
    return { slug: 'ok', detail: '' };
  } catch (err) {
    return JSON.parse((err as { details: string }).details) as { slug: string; detail: string };
  }
};

test("PostgreSQL unreachable: every orchestrator call answers 'unavailable' with a generic text", async () => {
  const port = await freePort();
  const deadDb = createDb(`postgres://postgres@127.0.0.1:${port}/omniaffect`, 2);
  const webhooks = new WebhookService(
    deadDb,
    infra.queues,
    { allowPrivate: true, callbackSecret: null, retryScale: 1, timeoutMs: 2000, maxPerOwner: 5 },
    log,
    metrics,
  );
  const orch = new Orchestrator(deadDb, infra.queues, store, webhooks, log, metrics, forgetter);
  const server = await startGrpcServer('127.0.0.1:0', [{ name: ORCHESTRATOR_SERVICE, impl: orchestratorGrpcImpl(orch, webhooks, log) }]);
  server.setServing(true);
  const client = grpcClient(ORCHESTRATOR_SERVICE, `127.0.0.1:${server.port}`);
  try {
    const id = randomUUID();
    const calls: [string, object][] = [
      ['Submit', { owner: 'o', videoId: id, sourceKind: 'upload', language: 'auto', metadataJson: '{}' }],
      ['Get', { owner: 'o', id }],
      ['GetResult', { owner: 'o', id }],
      ['GetFeatures', { owner: 'o', id }],
      ['Cancel', { owner: 'o', id }],
      ['CreateWebhook', { owner: 'o', url: 'https://example.com/h', events: [] }],
      ['ListWebhooks', { owner: 'o' }],
      ['ListDeliveries', { owner: 'o', id: 'wh_x' }],
    ];
    for (const [method, req] of calls) {
      const p = await slugAndDetail(client, method, req);
      assert.equal(p.slug, 'unavailable', `${method}: ${JSON.stringify(p)}`);
      assert.doesNotMatch(p.detail, /ECONNREFUSED|127\.0\.0\.1|postgres|\d{4,5}/, `${method} leaks the pg error: ${p.detail}`);
    }
  } finally {
    client.close();
    await server.close();
    await deadDb.end();
  }
});

test('the outage classifier: real pg errors of a server going away are unavailable, a bad query is not', async () => {
  const victim = new Pool({ connectionString: infra.url, max: 1 });
  const admin = new Pool({ connectionString: infra.url, max: 1 });
  try {
    // 57P01: the backend is terminated mid-query (a restart or failover does this to every session)
    const c = await victim.connect();
    c.on('error', () => undefined);
    const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const sleeping = c.query('SELECT pg_sleep(30)').then(
      () => null,
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 200));
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    const terminated = await sleeping;
    assert.equal((terminated as { code?: string }).code, '57P01');
    assert.equal(isDbUnavailableError(terminated), true);
    // the same session afterwards: pg's "Connection terminated" family, no code
    const after = await c.query('SELECT 1').then(
      () => null,
      (e: unknown) => e,
    );
    c.release(true);
    assert.ok(after, 'a query on the dead session fails');
    assert.equal(isDbUnavailableError(after), true, String((after as Error).message));
    // refused connection
    const refused = await new Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/x', max: 1 }).query('SELECT 1').then(
      () => null,
      (e: unknown) => e,
    );
    assert.equal(isDbUnavailableError(refused), true);
    // errors of the query itself are not outages
    const syntax = await admin.query('SELEC 1').then(
      () => null,
      (e: unknown) => e,
    );
    assert.equal(isDbUnavailableError(syntax), false);
    const unique = await admin
      .query(`INSERT INTO videos (id, owner, status, source_kind) VALUES ('x','o','queued','upload'), ('x','o','queued','upload')`)
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.equal(isDbUnavailableError(unique), false);
  } finally {
    await victim.end();
    await admin.end();
  }
});
