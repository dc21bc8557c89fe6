import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { UnrecoverableError } from 'bullmq';
import {
  ArtifactStore,
  FusionClient,
  FusionPushClient,
  artifactPaths,
  QUEUES,
  STAGE_QUEUES,
  completionJobId,
  newWebhookSecret,
  stageJobId,
  type Db,
  type StageCompletion,
  type StageJob,
  type StageName,
} from '@omniaffect/core';
import { Orchestrator, type SubmitInput } from '../src/orchestrator';
import { WebhookService } from '../src/webhooks';
import { startFusion, testInfra } from './support';

const infra = testInfra('orchestrator-test');
const { queues, log, metrics } = infra;
const dir = mkdtempSync(path.join(tmpdir(), `oa-orch-${infra.tag}-`));
let db: Db;
let webhooks: WebhookService;
let orch: Orchestrator;
let fusion: Awaited<ReturnType<typeof startFusion>>;
let forgetter: FusionClient;

before(async () => {
  db = await infra.setup();
  fusion = await startFusion(db, log);
  forgetter = new FusionClient(fusion.address);
  webhooks = new WebhookService(db, queues, { allowPrivate: true, callbackSecret: newWebhookSecret(), retryScale: 0.001, timeoutMs: 2000 }, log, metrics);
  orch = new Orchestrator(db, queues, new ArtifactStore(path.join(dir, 'artifacts')), webhooks, log, metrics, forgetter);
});

after(async () => {
  forgetter.close();
  await fusion.close();
  await infra.teardown();
  rmSync(dir, { recursive: true, force: true });
});

function input(over: Partial<SubmitInput> = {}): SubmitInput {
  const videoId = randomUUID();
  return {
    owner: 'owner-1',
    videoId,
    idempotencyKey: '',
    sourceKind: 'upload',
    sourcePath: `videos/${videoId}/source`,
    sourceUrl: '',
    filename: 'clip.mp4',
    contentType: 'video/mp4',
    sizeBytes: 1234,
    language: 'auto',
    callbackUrl: '',
    metadata: { k: 'v' },
    ...over,
  };
}

// The outputs the real workers report (media-stage.ts summary(), asr-stage.ts output, model stages' outputs).
const MEDIA_AV = { durationSec: 5, hasAudio: true, hasVideo: true, frameCount: 3, formatName: 'mov,mp4,m4a,3gp,3g2,mj2' };
const MEDIA_NO_AUDIO = { durationSec: 4, hasAudio: false, hasVideo: true, frameCount: 2, formatName: 'mov,mp4,m4a,3gp,3g2,mj2' };
const ASR_EN = { hasSpeech: true, language: 'en', languageProbability: 0.93, segments: 2, model: { name: 'whisper-tiny', provider: 'cpu' } };
const model = (name: string) => ({ model: { name, provider: 'cpu' } });

const completion = (videoId: string, stage: StageName, outcome: StageCompletion['outcome'] | 'started', extra: Partial<StageCompletion> = {}) =>
  ({ videoId, stage, outcome, startedAt: Date.now(), finishedAt: Date.now(), attempts: 1, ...extra }) as StageCompletion;

/** The completions a healthy audio+video clip produces, in an order workers could produce them. */
function happyPath(id: string): StageCompletion[] {
  return [
    completion(id, 'media', 'started'),
    completion(id, 'media', 'done', { output: MEDIA_AV }),
    completion(id, 'asr', 'started'),
    completion(id, 'vision', 'started'),
    completion(id, 'audio-emotion', 'started'),
    completion(id, 'asr', 'done', { output: ASR_EN }),
    completion(id, 'vision', 'done', { output: { frames: 3, dim: 4, ...model('siglip') } }),
    completion(id, 'text', 'started'),
    completion(id, 'audio-emotion', 'done', { output: { segments: 2, dim: 4, speechEmotion: null, ...model('emotion2vec') } }),
    completion(id, 'text', 'done', { output: { tokens: 7, windows: 1, model: { name: 'bert', provider: 'cpu', language: 'en', slot: 'en' } } }),
  ];
}

async function stageRows(id: string) {
  const r = await db.query<{ name: string; state: string; reason: string | null; output: unknown; attempts: number }>(
    'SELECT name, state, reason, output, attempts FROM stages WHERE video_id = $1 ORDER BY name',
    [id],
  );
  return r.rows;
}
const status = async (id: string) => (await db.query<{ status: string }>('SELECT status FROM videos WHERE id = $1', [id])).rows[0]?.status;
const jobOf = (id: string, stage: StageName) => queues.get(STAGE_QUEUES[stage]).getJob(stageJobId(id, stage));
const deliveries = async (id: string) =>
  (
    await db.query<{ id: string; target_url: string; event_type: string; status: string; webhook_id: string | null }>(
      'SELECT * FROM webhook_deliveries WHERE video_id = $1 ORDER BY target_url',
      [id],
    )
  ).rows;
const fusionDone = (id: string) => orch.transition(id, { kind: 'done', stage: 'fusion', output: { present: ['text', 'audio', 'vision'] } });

test('submit writes the video and its six pending stages and enqueues media with the deterministic id', async () => {
  const inp = input();
  const { doc, created } = await orch.submit(inp);
  assert.equal(created, true);
  assert.equal(doc.id, inp.videoId);
  assert.equal(doc.status, 'queued');
  assert.deepEqual(doc.metadata, { k: 'v' });
  assert.equal(doc.source.sizeBytes, 1234);
  const rows = await stageRows(inp.videoId);
  assert.deepEqual(
    rows.map((r) => [r.name, r.state]),
    [
      ['asr', 'pending'],
      ['audio-emotion', 'pending'],
      ['fusion', 'pending'],
      ['media', 'pending'],
      ['text', 'pending'],
      ['vision', 'pending'],
    ],
  );
  const job = await jobOf(inp.videoId, 'media');
  assert.ok(job, 'media job enqueued');
  assert.equal(job.id, `${inp.videoId}.media`);
  assert.deepEqual(job.data.inputs, { source: inp.sourcePath });
  assert.equal(job.data.stage, 'media');
  assert.equal(await jobOf(inp.videoId, 'asr'), undefined);
});

test('submit refuses an unsupported language', async () => {
  await assert.rejects(orch.submit(input({ language: 'fr' })), (e: { slug?: string }) => e.slug === 'unsupported-language');
});

test('the same idempotency key returns the same video', async () => {
  const key = `idem-${infra.tag}`;
  const a = await orch.submit(input({ idempotencyKey: key }));
  const b = await orch.submit(input({ idempotencyKey: key }));
  assert.equal(a.created, true);
  assert.equal(b.created, false);
  assert.equal(b.doc.id, a.doc.id);
  const n = await db.query('SELECT 1 FROM videos WHERE idempotency_key = $1', [key]);
  assert.equal(n.rowCount, 1);
  // Another owner with the same key is a different video.
  const c = await orch.submit(input({ idempotencyKey: key, owner: 'owner-2' }));
  assert.notEqual(c.doc.id, a.doc.id);
});

test('concurrent submits with one idempotency key create one video', async () => {
  const key = `race-${infra.tag}`;
  const res = await Promise.all([1, 2, 3, 4].map(() => orch.submit(input({ idempotencyKey: key }))));
  assert.equal(new Set(res.map((r) => r.doc.id)).size, 1);
  assert.equal(res.filter((r) => r.created).length, 1);
});

test('completions drive the graph to succeeded; the webhook rows are written with the terminal transition', async () => {
  const sub = await webhooks.create('owner-1', 'http://127.0.0.1:9/hooks', ['video.succeeded']);
  const inp = input({ callbackUrl: 'http://127.0.0.1:9/callback' });
  await orch.submit(inp);
  const id = inp.videoId;
  const steps = happyPath(id);
  await orch.onCompletion(steps[0]);
  assert.equal(await status(id), 'processing');
  await orch.onCompletion(steps[1]);
  for (const s of ['asr', 'audio-emotion', 'vision'] as StageName[]) {
    const j = await jobOf(id, s);
    assert.ok(j, `${s} enqueued after media`);
    assert.deepEqual(j.data.inputs, { media: `videos/${id}/media.json`, audio: `videos/${id}/audio.wav` });
  }
  assert.equal(await jobOf(id, 'text'), undefined);
  for (const c of steps.slice(2, 6)) await orch.onCompletion(c);
  const text = await jobOf(id, 'text');
  assert.ok(text, 'text enqueued after asr');
  assert.equal(text.data.language, 'en', 'text gets the detected language');
  assert.equal(text.data.inputs.asr, `videos/${id}/asr.json`);
  for (const c of steps.slice(6)) await orch.onCompletion(c);
  assert.ok(await jobOf(id, 'fusion'), 'fusion enqueued once everything upstream finished');
  assert.deepEqual(await deliveries(id), []);
  await fusionDone(id);
  assert.equal(await status(id), 'succeeded');
  const doc = await orch.get('owner-1', id);
  assert.equal(doc.progress, 1);
  assert.ok(Object.values(doc.stages).every((s) => s?.state === 'done'));

  const rows = await deliveries(id);
  assert.deepEqual(
    rows.map((r) => [r.target_url, r.event_type, r.status, r.webhook_id]),
    [
      ['http://127.0.0.1:9/callback', 'video.succeeded', 'pending', null],
      ['http://127.0.0.1:9/hooks', 'video.succeeded', 'pending', sub.id],
    ],
  );
  // now() is the transaction's start time: equal timestamps = written in the terminal transaction.
  const same = await db.query('SELECT d.id FROM webhook_deliveries d JOIN videos v ON v.id = d.video_id WHERE v.id = $1 AND d.created_at = v.finished_at', [
    id,
  ]);
  assert.equal(same.rowCount, 2);
  for (const d of rows) assert.ok(await queues.get(QUEUES.webhooks).getJob(`${d.id}.0`), 'first attempt enqueued');
});

test('replaying every completion twice changes nothing', async () => {
  const once = input();
  const twice = input();
  await orch.submit(once);
  await orch.submit(twice);
  for (const c of happyPath(once.videoId)) await orch.onCompletion(c);
  for (const c of happyPath(twice.videoId)) {
    await orch.onCompletion(c);
    await orch.onCompletion(c);
  }
  const strip = (rows: Awaited<ReturnType<typeof stageRows>>) =>
    rows.map(({ name, state, reason, output, attempts }) => ({ name, state, reason, output, attempts }));
  assert.deepEqual(strip(await stageRows(twice.videoId)), strip(await stageRows(once.videoId)));
  assert.equal(await status(twice.videoId), 'processing');

  await fusionDone(once.videoId);
  const before = { stages: await stageRows(once.videoId), status: await status(once.videoId), deliveries: (await deliveries(once.videoId)).length };
  const jobsBefore = await queues.depths();
  for (let i = 0; i < 2; i++) {
    for (const c of happyPath(once.videoId)) await orch.onCompletion(c);
    await fusionDone(once.videoId);
    await orch.onCompletion(completion(once.videoId, 'vision', 'failed', { problem: { type: 'model-error', detail: 'late failure' } }));
  }
  assert.deepEqual(await stageRows(once.videoId), before.stages);
  assert.equal(await status(once.videoId), 'succeeded');
  assert.equal((await deliveries(once.videoId)).length, before.deliveries);
  assert.deepEqual(await queues.depths(), jobsBefore);
});

test('no audio track: asr, audio-emotion and text are skipped with reasons, vision runs', async () => {
  const inp = input();
  await orch.submit(inp);
  await orch.onCompletion(completion(inp.videoId, 'media', 'done', { output: MEDIA_NO_AUDIO }));
  const rows = Object.fromEntries((await stageRows(inp.videoId)).map((r) => [r.name, r]));
  assert.equal(rows.asr.state, 'skipped');
  assert.equal(rows.asr.reason, 'no audio track');
  assert.equal(rows['audio-emotion'].state, 'skipped');
  assert.equal(rows.text.state, 'skipped');
  assert.equal(rows.text.reason, 'no transcript (no audio track)');
  assert.equal(rows.vision.state, 'pending');
  assert.ok(await jobOf(inp.videoId, 'vision'));
  assert.equal(await jobOf(inp.videoId, 'asr'), undefined);
  await orch.onCompletion(completion(inp.videoId, 'vision', 'done', { output: { frames: 2, dim: 4, ...model('siglip') } }));
  assert.ok(await jobOf(inp.videoId, 'fusion'));
});

test('a failed stage fails the video with its problem; the failure webhook row is written', async () => {
  await webhooks.create('owner-3', 'http://127.0.0.1:9/fail-hooks', ['video.failed']);
  const inp = input({ owner: 'owner-3' });
  await orch.submit(inp);
  await orch.onCompletion(completion(inp.videoId, 'media', 'failed', { problem: { type: 'unsupported-media', detail: 'ffprobe could not read the file' } }));
  const doc = await orch.get('owner-3', inp.videoId);
  assert.equal(doc.status, 'failed');
  assert.equal(doc.error?.type, 'https://omniaffect.dev/problems/unsupported-media');
  assert.equal(doc.error?.detail, 'ffprobe could not read the file');
  assert.equal(doc.stages.media?.state, 'failed');
  assert.equal(doc.stages.fusion?.state, 'skipped');
  await assert.rejects(orch.getResult('owner-3', inp.videoId), (e: { slug?: string }) => e.slug === 'unsupported-media');
  assert.deepEqual(
    (await deliveries(inp.videoId)).map((d) => d.event_type),
    ['video.failed'],
  );
});

test('cancel of a queued video erases it to a tombstone, removes its waiting stage jobs and writes no webhook', async () => {
  // Changed with erasure (issue #7): DELETE used to leave a `canceled` row behind; now only a tombstone remains.
  const inp = input();
  await orch.submit(inp);
  assert.ok(await jobOf(inp.videoId, 'media'));
  const erased = await orch.cancel('owner-1', inp.videoId);
  assert.equal(erased.status, 'erased');
  assert.equal(erased.id, inp.videoId);
  assert.equal(await jobOf(inp.videoId, 'media'), undefined);
  assert.deepEqual(await deliveries(inp.videoId), []);
  await orch.onCompletion(completion(inp.videoId, 'media', 'done', { output: MEDIA_AV }));
  assert.equal(await status(inp.videoId), undefined, 'no video row: a late completion cannot bring it back');
  await assert.rejects(orch.get('owner-1', inp.videoId), (e: { slug?: string }) => e.slug === 'gone');
  await assert.rejects(orch.cancel('someone-else', inp.videoId), (e: { slug?: string }) => e.slug === 'not-found');
});

test('a replayed terminal completion redoes the steps a crash after the commit skipped', async () => {
  // The orchestrator committed `succeeded` (delivery rows written) and died before enqueuing the
  // first attempts; BullMQ then re-runs the same completion, which changes nothing in the database.
  await webhooks.create('owner-replay', 'http://127.0.0.1:9/replay', ['video.succeeded']);
  const inp = input({ owner: 'owner-replay' });
  await orch.submit(inp);
  const id = inp.videoId;
  for (const c of happyPath(id)) await orch.onCompletion(c);
  await fusionDone(id);
  const [row] = await deliveries(id);
  const first = (await queues.get(QUEUES.webhooks).getJob(`${row.id}.0`))!;
  await first.remove();
  await fusionDone(id);
  assert.ok(await queues.get(QUEUES.webhooks).getJob(`${row.id}.0`), 'the lost first attempt is enqueued again');
  assert.equal((await deliveries(id)).length, 1, 'still one delivery row');
});

test('a stage job queued from a stale snapshot is withdrawn when the video failed meanwhile', async () => {
  const inp = input();
  await orch.submit(inp);
  const id = inp.videoId;
  // Another completion fails the video (and cleans up its queued jobs) between advance()'s read of
  // the video and its add() of the asr job.
  const asrQueue = queues.get(QUEUES.asr);
  const add = asrQueue.add.bind(asrQueue);
  asrQueue.add = (async (...args: Parameters<typeof add>) => {
    if ((args[1] as StageJob).videoId === id) {
      await db.query(`UPDATE videos SET status = 'failed', finished_at = now() WHERE id = $1`, [id]);
    }
    return add(...args);
  }) as typeof add;
  try {
    await orch.onCompletion(completion(id, 'media', 'done', { output: MEDIA_AV }));
  } finally {
    asrQueue.add = add;
  }
  assert.equal(await status(id), 'failed');
  assert.equal(await jobOf(id, 'asr'), undefined, 'the job queued after the failure is withdrawn');
});

test('reconcile re-enqueues a pending stage whose job vanished from Redis', async () => {
  const inp = input();
  await orch.submit(inp);
  await (await jobOf(inp.videoId, 'media'))!.remove();
  assert.equal(await jobOf(inp.videoId, 'media'), undefined);
  await orch.reconciler.reconcile();
  assert.ok(await jobOf(inp.videoId, 'media'), 'media job is back');
});

test('reconcile re-enqueues a running stage whose job vanished from Redis', async () => {
  // e.g. Redis lost its data while the worker holding the job died: nothing will ever report.
  const inp = input();
  await orch.submit(inp);
  await orch.onCompletion(completion(inp.videoId, 'media', 'started'));
  await (await jobOf(inp.videoId, 'media'))!.remove();
  // A stage that was just dispatched is left alone (its job may be in flight between Redis calls)...
  await orch.reconciler.reconcile();
  assert.equal(await jobOf(inp.videoId, 'media'), undefined);
  // ...one that has been running with no job for a while is dispatched again.
  await db.query(`UPDATE stages SET updated_at = now() - interval '5 minutes' WHERE video_id = $1 AND name = 'media'`, [inp.videoId]);
  await orch.reconciler.reconcile();
  assert.ok(await jobOf(inp.videoId, 'media'), 'a running stage without a job must be enqueued again');
});

/** Runs the video's media job to BullMQ's failed state, as a worker that gives up would. */
async function failMediaJob(videoId: string, reason: string): Promise<void> {
  await failJob(QUEUES.media, stageJobId(videoId, 'media'), reason);
}

/** Drives one job on `queue` to BullMQ's failed state (UnrecoverableError skips its retries). */
async function failJob(queue: (typeof QUEUES)[keyof typeof QUEUES], jobId: string, reason: string): Promise<void> {
  const worker = queues.worker(queue, async (job) => {
    if (job.id !== jobId) throw new Error('not mine');
    throw new UnrecoverableError(reason);
  });
  try {
    const job = (await queues.get(queue).getJob(jobId))!;
    for (let i = 0; i < 400 && (await job.getState()) !== 'failed'; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(await job.getState(), 'failed');
  } finally {
    await worker.close();
    (worker.opts.connection as unknown as { disconnect(): void }).disconnect();
  }
}

test('reconcile fails a stage whose BullMQ job is in the failed state', async () => {
  const inp = input();
  await orch.submit(inp);
  await orch.onCompletion(completion(inp.videoId, 'media', 'started'));
  await failMediaJob(inp.videoId, 'worker killed too often');
  const r = await orch.reconciler.reconcile();
  assert.ok(r.recovered >= 1);
  const doc = await orch.get('owner-1', inp.videoId);
  assert.equal(doc.status, 'failed');
  assert.equal(doc.stages.media?.state, 'failed');
  assert.match(doc.stages.media?.reason ?? '', /media job gave up: worker killed too often/);
  assert.equal(doc.error?.type, 'https://omniaffect.dev/problems/model-error');
});

/**
 * A running media stage whose worker reported `unsupported-media` (the completion is queued, not yet
 * consumed); `body` decides what happens next. The completion job is removed afterwards.
 */
async function withReportedMediaFailure(body: (videoId: string, reported: StageCompletion) => Promise<void>): Promise<void> {
  const inp = input();
  await orch.submit(inp);
  await orch.onCompletion(completion(inp.videoId, 'media', 'started'));
  const reported = completion(inp.videoId, 'media', 'failed', { problem: { type: 'unsupported-media', detail: 'ffprobe could not read the file' } });
  const completions = queues.get(QUEUES.completions);
  await completions.add('media:failed', reported, { jobId: completionJobId(inp.videoId, 'media') });
  try {
    await body(inp.videoId, reported);
  } finally {
    await (await completions.getJob(completionJobId(inp.videoId, 'media')))?.remove();
  }
}

test('reconcile leaves a failed job to the failure its worker reported (the real problem type wins)', async () => {
  // The stage worker enqueues its `failed` completion, then fails the BullMQ job. A reconcile that
  // runs before the orchestrator has consumed that completion must not replace it with model-error.
  await withReportedMediaFailure(async (id, reported) => {
    await failMediaJob(id, 'ffprobe could not read the file');
    await orch.reconciler.reconcile();
    assert.equal(await status(id), 'processing', 'the reported completion is still to be consumed');
    await orch.onCompletion(reported);
    const doc = await orch.get('owner-1', id);
    assert.equal(doc.status, 'failed');
    assert.equal(doc.error?.type, 'https://omniaffect.dev/problems/unsupported-media');
  });
});

test('reconcile fails the stage when the completion reporting its failure could not be applied either', async () => {
  // A completion job fails only after a day of retries (or an unrecoverable error): nothing will apply it.
  await withReportedMediaFailure(async (id) => {
    await failJob(QUEUES.completions, completionJobId(id, 'media'), 'database unreachable for a day');
    await failMediaJob(id, 'ffprobe could not read the file');
    await orch.reconciler.reconcile();
    const doc = await orch.get('owner-1', id);
    assert.equal(doc.status, 'failed');
    assert.equal(doc.error?.type, 'https://omniaffect.dev/problems/model-error');
  });
});

test('retention erases raw media of finished videos past the limit, keeps results, and runs once', async () => {
  const store = new ArtifactStore(path.join(dir, 'artifacts'));
  const inp = input();
  await orch.submit(inp);
  await store.writeFile(artifactPaths.source(inp.videoId), Buffer.from('source bytes'));
  await store.writeFile(artifactPaths.audio(inp.videoId), Buffer.from('audio'));
  await store.writeFile(artifactPaths.frame(inp.videoId, 0), Buffer.from('jpeg'));
  await store.writeJson(artifactPaths.stageOutput(inp.videoId, 'asr'), { text: 'kept' });
  await orch.transition(inp.videoId, { kind: 'failed', stage: 'media', problemType: 'unsupported-media', detail: 'x' });
  // finished just now: inside the retention
  assert.equal(await orch.reconciler.eraseExpiredMedia(24), 0);
  assert.ok(await store.exists(artifactPaths.source(inp.videoId)));
  await db.query(`UPDATE videos SET finished_at = now() - interval '25 hours' WHERE id = $1`, [inp.videoId]);
  assert.equal(await orch.reconciler.eraseExpiredMedia(0), 0, '0 keeps media forever');
  assert.ok((await orch.reconciler.eraseExpiredMedia(24)) >= 1);
  assert.equal(await store.exists(artifactPaths.source(inp.videoId)), false);
  assert.equal(await store.exists(artifactPaths.audio(inp.videoId)), false);
  assert.equal(await store.exists(artifactPaths.framesDir(inp.videoId)), false);
  assert.equal(await store.exists(artifactPaths.stageOutput(inp.videoId, 'asr')), true, 'stage outputs stay');
  const row = await db.query<{ media_erased_at: Date | null }>('SELECT media_erased_at FROM videos WHERE id = $1', [inp.videoId]);
  assert.ok(row.rows[0].media_erased_at);
  assert.equal(await orch.reconciler.eraseExpiredMedia(24), 0, 'nothing left to erase');
});

test('DELETE holds even when work that was running lands afterwards', async () => {
  const store = new ArtifactStore(path.join(dir, 'artifacts'));
  const inp = input();
  await orch.submit(inp);
  await orch.onCompletion(completion(inp.videoId, 'media', 'started'));
  await orch.cancel(inp.owner, inp.videoId);
  // the media worker was mid-job: it writes its artifact, a model worker pushes features (refused:
  // fusion was told to forget the video)...
  await store.writeJson(artifactPaths.stageOutput(inp.videoId, 'media'), { late: true });
  const push = new FusionPushClient(fusion.address);
  try {
    await assert.rejects(
      push.pushWithRetry({ videoId: inp.videoId, modality: 'audio', kind: 'segments', shape: [1, 1], data: new Float32Array([0]), items: [], model: 'late' }),
      (e: { slug?: string }) => e.slug === 'gone',
    );
  } finally {
    push.close();
  }
  // ...and then reports in
  await orch.onCompletion(completion(inp.videoId, 'media', 'done', { output: MEDIA_AV }));
  await assert.rejects(orch.get(inp.owner, inp.videoId), (e: { slug?: string }) => e.slug === 'gone');
  assert.equal(await store.exists(artifactPaths.stageOutput(inp.videoId, 'media')), false, 'late artifact erased');
  const emb = await db.query('SELECT 1 FROM embeddings WHERE video_id = $1', [inp.videoId]);
  assert.equal(emb.rowCount, 0, 'late features refused');
  await assert.rejects(orch.features(inp.owner, inp.videoId), (e: { slug?: string }) => e.slug === 'gone');
});
