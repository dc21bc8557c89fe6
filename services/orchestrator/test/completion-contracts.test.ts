import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Worker } from 'bullmq';
import { ArtifactStore, FusionClient, QUEUES, completionJobId, createLogger, newWebhookSecret, startedJobId, type Db, type StageName } from '@omniaffect/core';
import { Orchestrator } from '../src/orchestrator';
import { WebhookService } from '../src/webhooks';
import { startFusion, testInfra, uploadSubmit } from './support';

/**
 * Completions are parsed against the stage contracts (stage-contracts.ts) where the orchestrator
 * consumes them, on the real completions queue over real Redis and PostgreSQL: one that breaks its
 * contract is a worker's bug, so it fails its stage as model-error at once (no retry), logged with the
 * stage and the field names only; a well-formed one moves the video as before.
 */
const infra = testInfra('orchestrator-contracts');
const { queues, metrics } = infra;
const dir = mkdtempSync(path.join(tmpdir(), `oa-cc-${infra.tag}-`));
const logged: Record<string, unknown>[] = [];
const log = createLogger('orchestrator-contracts', 'info', { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) });
let db: Db;
let orch: Orchestrator;
let fusion: Awaited<ReturnType<typeof startFusion>>;
let client: FusionClient;
let consumer: Worker;

before(async () => {
  db = await infra.setup();
  fusion = await startFusion(db, infra.log);
  client = new FusionClient(fusion.address);
  const webhooks = new WebhookService(
    db,
    queues,
    { allowPrivate: true, callbackSecret: newWebhookSecret(), retryScale: 0.001, timeoutMs: 2000 },
    infra.log,
    metrics,
  );
  orch = new Orchestrator(db, queues, new ArtifactStore(path.join(dir, 'artifacts')), webhooks, log, metrics, client);
  // what orchestrator-service.ts runs: job data goes to onCompletion untyped
  consumer = queues.worker<unknown>(QUEUES.completions, (job) => orch.onCompletion(job.data), { concurrency: 2 });
});

after(async () => {
  await consumer.close();
  client.close();
  await fusion.close();
  await infra.teardown();
  rmSync(dir, { recursive: true, force: true });
});

const SECRET = 'tenant words that must never reach a log';
const MEDIA_AV = { durationSec: 5, hasAudio: true, hasVideo: true, frameCount: 3, formatName: 'mov,mp4,m4a,3gp,3g2,mj2' };

async function submitted(): Promise<string> {
  const id = randomUUID();
  await orch.submit(uploadSubmit('owner-c', id));
  return id;
}

/** Puts a report on the completions queue as a worker does and waits until the consumer has finished with it. */
async function report(
  id: string,
  stage: StageName,
  body: Record<string, unknown>,
  jobId = completionJobId(id, stage),
): Promise<{ state: string; attemptsMade: number }> {
  const q = queues.get(QUEUES.completions);
  await q.add(`${stage}:${String(body.outcome)}`, { videoId: id, stage, startedAt: Date.now(), finishedAt: Date.now(), attempts: 1, ...body }, { jobId });
  const end = Date.now() + 15_000;
  for (;;) {
    const job = await q.getJob(jobId);
    const state = job ? await job.getState() : 'missing';
    if (job && (state === 'completed' || state === 'failed' || state === 'delayed')) {
      // `job` was read before getState(): it may predate the finish, so read the counters afresh
      const settled = await q.getJob(jobId);
      return { state, attemptsMade: settled?.attemptsMade ?? -1 };
    }
    if (Date.now() > end) throw new Error(`completion ${jobId} not consumed (${state})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const stageRow = async (id: string, stage: StageName) =>
  (
    await db.query<{ state: string; reason: string | null; output: unknown }>('SELECT state, reason, output FROM stages WHERE video_id = $1 AND name = $2', [
      id,
      stage,
    ])
  ).rows[0];

/** The stage's run as stored: its state, attempt count and time stamps. */
const stageRun = async (id: string, stage: StageName) =>
  (
    await db.query<{ state: string; attempts: number; started_at: Date | null; finished_at: Date | null }>(
      'SELECT state, attempts, started_at, finished_at FROM stages WHERE video_id = $1 AND name = $2',
      [id, stage],
    )
  ).rows[0];

test('a completion whose output breaks its contract fails the stage as model-error, at once, naming fields but no values', async () => {
  const id = await submitted();
  assert.equal((await report(id, 'media', { outcome: 'done', output: MEDIA_AV })).state, 'completed');
  logged.length = 0;
  // vision without `dim`, and a model entry whose name is not a string (the tenant's words, say)
  const consumed = await report(id, 'vision', { outcome: 'done', output: { frames: 3, model: { name: [SECRET] } } });
  assert.deepEqual(consumed, { state: 'completed', attemptsMade: 1 }, 'handled in one attempt: not retried, not left failed for the reconciler');

  const doc = await orch.get('owner-c', id);
  assert.equal(doc.status, 'failed');
  assert.equal(doc.error?.type, 'https://omniaffect.dev/problems/model-error');
  assert.equal(doc.error?.detail, 'the vision worker reported a malformed completion (fields: output.dim, output.model.name)');
  assert.equal((await stageRow(id, 'vision'))?.state, 'failed');
  assert.equal((await stageRow(id, 'vision'))?.output, null, 'nothing of the malformed output is stored');

  const line = logged.find((l) => l.msg === 'stage report breaks its contract');
  assert.ok(line, 'logged');
  assert.equal(line.level, 50, 'at error level');
  assert.equal(line.stage, 'vision');
  assert.equal(line.videoId, id);
  assert.deepEqual(line.fields, ['output.dim', 'output.model.name']);
  assert.ok(!JSON.stringify(logged).includes(SECRET), 'no value reaches the log');
  assert.ok(!JSON.stringify(doc).includes(SECRET), 'nor the video document');
});

test('a done completion without an output, or with a broken envelope, fails its stage the same way', async () => {
  const noOutput = await submitted();
  await report(noOutput, 'media', { outcome: 'done' });
  const a = await orch.get('owner-c', noOutput);
  assert.equal(a.status, 'failed');
  assert.equal(a.error?.detail, 'the media worker reported a malformed completion (fields: output)');

  const badEnvelope = await submitted();
  await report(badEnvelope, 'media', { outcome: 'done', output: MEDIA_AV, attempts: 0, finishedAt: 'later' });
  const b = await orch.get('owner-c', badEnvelope);
  assert.equal(b.status, 'failed');
  assert.equal(b.error?.type, 'https://omniaffect.dev/problems/model-error');
  assert.equal(b.error?.detail, 'the media worker reported a malformed completion (fields: finishedAt, attempts)');
});

test('reports that cannot be pinned on a stage, and broken "started" reports, are logged and dropped', async () => {
  const id = await submitted();
  logged.length = 0;
  // advisory: the stage's completion still decides
  assert.equal((await report(id, 'media', { outcome: 'started', attempts: -1 }, startedJobId(id, 'media', 1))).state, 'completed');
  assert.equal((await orch.get('owner-c', id)).status, 'queued');
  // no stage to fail
  const q = queues.get(QUEUES.completions);
  await q.add('junk', { videoId: id, stage: 'telepathy', outcome: 'done' }, { jobId: `${id}.junk` });
  const end = Date.now() + 15_000;
  while ((await (await q.getJob(`${id}.junk`))?.getState()) !== 'completed') {
    if (Date.now() > end) throw new Error('junk report not consumed');
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.equal((await orch.get('owner-c', id)).status, 'queued');
  const lines = logged.filter((l) => l.msg === 'stage report breaks its contract');
  assert.deepEqual(
    lines.map((l) => [l.level, l.stage, l.report, l.fields]),
    [
      [50, 'media', 'started', ['attempts']],
      [50, null, 'completion', ['stage', 'startedAt', 'finishedAt', 'attempts']],
    ],
  );
  // the video still runs: a well-formed completion moves it
  await report(id, 'media', { outcome: 'done', output: MEDIA_AV });
  assert.equal((await orch.get('owner-c', id)).status, 'processing');
});

test('well-formed completions still move the video, and their output is stored as the worker sent it', async () => {
  const id = await submitted();
  await report(id, 'media', { outcome: 'started' }, startedJobId(id, 'media', 1));
  assert.equal((await stageRow(id, 'media'))?.state, 'running');
  await report(id, 'media', { outcome: 'done', output: MEDIA_AV });
  // a newer worker may add a field during a rolling upgrade: accepted, and kept
  const vision = { frames: 3, dim: 4, model: { name: 'siglip', provider: 'cpu', revision: 'r2' }, framesDropped: 0 };
  await report(id, 'vision', { outcome: 'done', output: vision });
  await report(id, 'audio-emotion', { outcome: 'skipped', problem: { type: 'no-audio-track', detail: 'audio track shorter than 25 ms' } });
  await report(id, 'asr', {
    outcome: 'done',
    output: { hasSpeech: false, language: 'en', languageProbability: 0.5, segments: 0, model: { name: 'whisper-tiny' } },
  });
  const doc = await orch.get('owner-c', id);
  assert.equal(doc.status, 'processing');
  assert.equal(doc.error, null);
  assert.equal((await stageRow(id, 'vision'))?.state, 'done');
  assert.deepEqual((await stageRow(id, 'vision'))?.output, vision);
  assert.deepEqual(await stageRow(id, 'audio-emotion'), { state: 'skipped', reason: 'audio track shorter than 25 ms', output: null });
  assert.deepEqual(await stageRow(id, 'text'), { state: 'skipped', reason: 'no speech detected', output: null });
  assert.equal((await stageRow(id, 'asr'))?.state, 'done');
  // every stage but fusion is finished: fusion is queued, as before
  assert.ok(await queues.get(QUEUES.fusion).getJob(`${id}.fusion`));
});

test('a completion with no started report before it (a short run) stamps the stage with the run it reports, never later than its finish', async () => {
  const id = await submitted();
  const ranFrom = Date.now() - 120;
  await report(id, 'media', { outcome: 'done', output: MEDIA_AV, startedAt: ranFrom, attempts: 2 });
  const row = await stageRun(id, 'media');
  assert.equal(row?.state, 'done');
  assert.equal(row?.attempts, 2, 'the completion carries the attempt count');
  assert.ok(row?.started_at && row.finished_at);
  assert.ok(Math.abs(row.started_at.getTime() - ranFrom) < 5, `${row.started_at.toISOString()} vs ${new Date(ranFrom).toISOString()}`);
  assert.ok(row.started_at.getTime() <= row.finished_at.getTime());
  // a worker clock ahead of the database's: the start is capped at the finish, never after it
  await report(id, 'vision', { outcome: 'done', output: { frames: 3, dim: 4, model: { name: 'siglip', provider: 'cpu' } }, startedAt: Date.now() + 60_000 });
  const ahead = await stageRun(id, 'vision');
  assert.ok(ahead?.started_at && ahead.finished_at && ahead.started_at.getTime() <= ahead.finished_at.getTime());
  // a stage that did report started keeps the server's stamp from then
  await report(id, 'asr', { outcome: 'started' }, startedJobId(id, 'asr', 1));
  const stamped = (await stageRun(id, 'asr'))!.started_at!.getTime();
  await report(id, 'asr', {
    outcome: 'done',
    output: { hasSpeech: false, language: 'en', languageProbability: 0.5, segments: 0, model: { name: 'whisper-tiny' } },
    startedAt: stamped - 10_000,
  });
  assert.equal((await stageRun(id, 'asr'))!.started_at!.getTime(), stamped);
});
