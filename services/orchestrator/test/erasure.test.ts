import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, utimesSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Worker, type ConnectionOptions } from 'bullmq';
import {
  ArtifactStore,
  FusionClient,
  FusionPushClient,
  ORCHESTRATOR_SERVICE,
  QUEUES,
  STAGES,
  STAGE_QUEUES,
  artifactPaths,
  completionJobId,
  crashCounterKey,
  grpcClient,
  newWebhookSecret,
  stageJobId,
  startGrpcServer,
  startedJobId,
  unary,
  type Db,
  type GrpcServerHandle,
  type StageCompletion,
  type StageName,
} from '@omniaffect/core';
import { orchestratorGrpcImpl } from '../src/grpc-api';
import { Orchestrator, type SubmitInput } from '../src/orchestrator';
import { WebhookService } from '../src/webhooks';
import { startFusion, testInfra } from './support';

/**
 * DELETE in every status leaves only a tombstone, on the real PostgreSQL, Redis, artifact store and
 * fusion service (over gRPC); late work cannot write anything back; a crash between the phases is
 * finished by the reconciler; orphans of uploads that never became videos are collected.
 */
const infra = testInfra('erasure-test');
const { queues, log, metrics } = infra;
const dir = mkdtempSync(path.join(tmpdir(), `oa-erase-${infra.tag}-`));
const store = new ArtifactStore(path.join(dir, 'artifacts'));
let db: Db;
let webhooks: WebhookService;
let orch: Orchestrator;
let fusion: Awaited<ReturnType<typeof startFusion>>;
let forgetter: FusionClient;
let grpcServer: GrpcServerHandle;
let rpc: ReturnType<typeof grpcClient>;

before(async () => {
  db = await infra.setup();
  fusion = await startFusion(db, log);
  forgetter = new FusionClient(fusion.address);
  webhooks = new WebhookService(db, queues, { allowPrivate: true, callbackSecret: newWebhookSecret(), retryScale: 0.001, timeoutMs: 2000 }, log, metrics);
  orch = new Orchestrator(db, queues, store, webhooks, log, metrics, forgetter);
  grpcServer = await startGrpcServer('127.0.0.1:0', [{ name: ORCHESTRATOR_SERVICE, impl: orchestratorGrpcImpl(orch, webhooks, log) }]);
  grpcServer.setServing(true);
  rpc = grpcClient(ORCHESTRATOR_SERVICE, `127.0.0.1:${grpcServer.port}`);
});

after(async () => {
  rpc.close();
  await grpcServer.close();
  forgetter.close();
  await fusion.close();
  await infra.teardown();
  rmSync(dir, { recursive: true, force: true });
});

const OWNER = 'owner-erase';
const MEDIA_AV = { durationSec: 5, hasAudio: true, hasVideo: true, frameCount: 3, formatName: 'mov,mp4,m4a,3gp,3g2,mj2' };
const completion = (videoId: string, stage: StageName, outcome: StageCompletion['outcome'] | 'started', extra: Partial<StageCompletion> = {}) =>
  ({ videoId, stage, outcome, startedAt: Date.now(), finishedAt: Date.now(), attempts: 1, ...extra }) as StageCompletion;

function input(over: Partial<SubmitInput> = {}): SubmitInput {
  const videoId = randomUUID();
  return {
    owner: OWNER,
    videoId,
    idempotencyKey: '',
    sourceKind: 'upload',
    sourcePath: '',
    sourceUrl: '',
    filename: 'secret-name.mp4',
    contentType: 'video/mp4',
    sizeBytes: 1234,
    language: 'en',
    callbackUrl: 'http://127.0.0.1:9/cb',
    metadata: { customer: 'acme' },
    transcript: 'the provided words',
    ...over,
  };
}

/** Every place a video's data can be, counted. */
async function footprint(id: string) {
  const count = async (sql: string) => (await db.query<{ n: number }>(sql, [id])).rows[0].n;
  const jobs: string[] = [];
  for (const stage of STAGES) {
    if (await queues.get(STAGE_QUEUES[stage]).getJob(stageJobId(id, stage))) jobs.push(stageJobId(id, stage));
    if (await queues.get(QUEUES.completions).getJob(completionJobId(id, stage))) jobs.push(completionJobId(id, stage));
    if (await queues.get(QUEUES.completions).getJob(startedJobId(id, stage, 1))) jobs.push(startedJobId(id, stage, 1));
  }
  return {
    videos: await count('SELECT count(*)::int AS n FROM videos WHERE id = $1'),
    stages: await count('SELECT count(*)::int AS n FROM stages WHERE video_id = $1'),
    results: await count('SELECT count(*)::int AS n FROM results WHERE video_id = $1'),
    deliveries: await count('SELECT count(*)::int AS n FROM webhook_deliveries WHERE video_id = $1'),
    ratings: await count('SELECT count(*)::int AS n FROM ratings WHERE video_id = $1'),
    embeddings: await count('SELECT count(*)::int AS n FROM embeddings WHERE video_id = $1'),
    chunks: await count('SELECT count(*)::int AS n FROM embedding_chunks WHERE video_id = $1'),
    jobs,
    artifacts: existsSync(store.videoDir(id)),
  };
}

/** What an erased video leaves: nothing anywhere. */
const NOTHING_LEFT = { videos: 0, stages: 0, results: 0, deliveries: 0, ratings: 0, embeddings: 0, chunks: 0, jobs: [], artifacts: false };

async function pushEmbedding(videoId: string): Promise<void> {
  const push = new FusionPushClient(fusion.address);
  try {
    await push.push({
      videoId,
      modality: 'audio',
      kind: 'segments',
      shape: [2, 2],
      data: new Float32Array([1, 2, 3, 4]),
      items: [
        { start: 0, end: 1 },
        { start: 1, end: 2 },
      ],
      model: 'e2v',
    });
  } finally {
    push.close();
  }
}

/** A video driven to `succeeded` with everything a real run leaves: artifacts, embeddings, result, deliveries, jobs. */
async function succeededVideo(): Promise<string> {
  await webhooks.create(OWNER, 'http://127.0.0.1:9/hook', ['video.succeeded']);
  const inp = input();
  await orch.submit(inp);
  const id = inp.videoId;
  await store.writeFile(artifactPaths.source(id), Buffer.from('source bytes'));
  await store.writeFile(artifactPaths.audio(id), Buffer.from('audio'));
  await store.writeFile(artifactPaths.frame(id, 1), Buffer.from('jpeg'));
  for (const c of [
    completion(id, 'media', 'started'),
    completion(id, 'media', 'done', { output: MEDIA_AV }),
    completion(id, 'asr', 'done', { output: { hasSpeech: true, language: 'en', languageProbability: 0.9, segments: 1, model: { name: 'whisper-tiny' } } }),
    completion(id, 'vision', 'done', { output: { frames: 3, dim: 4, model: { name: 'siglip' } } }),
    completion(id, 'audio-emotion', 'done', { output: { segments: 2, dim: 4, speechEmotion: null, model: { name: 'emotion2vec' } } }),
    completion(id, 'text', 'done', { output: { tokens: 3, windows: 1, model: { name: 'bert', language: 'en', slot: 'en' } } }),
  ]) {
    await orch.onCompletion(c);
  }
  // the completions a worker leaves in Redis (kept after they are consumed)
  await queues.get(QUEUES.completions).add('media:done', completion(id, 'media', 'done', { output: MEDIA_AV }), { jobId: completionJobId(id, 'media') });
  await queues.get(QUEUES.completions).add('media:started', completion(id, 'media', 'started'), { jobId: startedJobId(id, 'media', 1) });
  await store.writeJson(artifactPaths.stageOutput(id, 'asr'), { text: 'the provided words', segments: [] });
  await pushEmbedding(id);
  await db.query(
    `INSERT INTO results (video_id, result) VALUES ($1, '{"transcript": {"text": "the provided words"}, "models": {"fusion": {"name": "fusion-erase", "version": "7"}}}')`,
    [id],
  );
  await orch.transition(id, { kind: 'done', stage: 'fusion', output: { present: ['audio'] } });
  assert.equal((await orch.get(OWNER, id)).status, 'succeeded');
  return id;
}

const slugOf = (e: unknown) => (e as { slug?: string }).slug;
const rpcSlug = async (method: string, req: object): Promise<string> => {
  try {
    await unary(rpc, method, req, { deadlineMs: 5000, idempotent: false });
    return 'ok';
  } catch (err) {
    return (JSON.parse((err as { details: string }).details) as { slug: string }).slug;
  }
};

test('DELETE of a succeeded video leaves only a tombstone, and every call about it answers gone', async () => {
  const id = await succeededVideo();
  // a reviewer's rating with a comment (tenant text), added over real gRPC as the gateway adds it
  const rated = await unary<object, { json: string }>(
    rpc,
    'AddRating',
    { owner: OWNER, id, reviewer: OWNER, clarity: 4, relevance: 2, comment: 'the acme clip reads wrong', hasComment: true },
    { deadlineMs: 5000, idempotent: false },
  );
  assert.equal((JSON.parse(rated.json) as { fusionModel: string }).fusionModel, 'fusion-erase@7');
  const before = await footprint(id);
  assert.equal(before.videos, 1);
  assert.equal(before.results, 1);
  assert.equal(before.ratings, 1);
  assert.equal(before.embeddings, 1);
  assert.equal(before.chunks, 1, "the tensor's bytes");
  assert.equal(before.deliveries, 2, 'subscription + callbackUrl');
  assert.ok(before.jobs.length >= 5, `jobs in Redis before: ${before.jobs.join(', ')}`);
  assert.equal(before.artifacts, true);
  const webhookJobIds = (await db.query<{ id: string }>('SELECT id FROM webhook_deliveries WHERE video_id = $1', [id])).rows.map((r) => `${r.id}.0`);
  for (const j of webhookJobIds) assert.ok(await queues.get(QUEUES.webhooks).getJob(j), 'first delivery attempt queued');

  // a stage worker's crash counter for the media job (stage-worker.ts), keyed by the video's job id
  const redis = await queues.get(QUEUES.media).client;
  const crashKey = crashCounterKey(queues.prefix, QUEUES.media, stageJobId(id, 'media'));
  await redis.set(crashKey, '1');

  const erased = await orch.cancel(OWNER, id);
  assert.equal(erased.status, 'erased');
  assert.ok(Date.parse(erased.erasedAt) > 0);
  assert.equal(await redis.get(crashKey), null, 'crash counter removed');

  assert.deepEqual(await footprint(id), NOTHING_LEFT);
  for (const j of webhookJobIds) assert.equal(await queues.get(QUEUES.webhooks).getJob(j), undefined, 'webhook jobs for it removed');
  const tomb = await db.query('SELECT * FROM video_tombstones WHERE id = $1', [id]);
  assert.equal(tomb.rowCount, 1);
  assert.equal(tomb.rows[0].owner, OWNER);
  assert.ok(tomb.rows[0].purged_at, 'clean-up finished inside DELETE');
  assert.deepEqual(tomb.rows[0].webhook_jobs, []);
  assert.equal((await db.query('SELECT 1 FROM forgotten_videos WHERE video_id = $1', [id])).rowCount, 1, 'fusion recorded the id');
  // nothing of the video's content is anywhere in the database
  const dump = await db.query(`SELECT string_agg(t::text, ' ') AS all FROM (SELECT * FROM video_tombstones WHERE id = $1) t`, [id]);
  assert.doesNotMatch(dump.rows[0].all, /acme|secret-name|provided words|127\.0\.0\.1/);

  // the owner gets 'gone' from every call, over real gRPC; anyone else 'not-found' (no existence oracle)
  assert.deepEqual((await orch.ratingsSummary(OWNER)).models, [], 'the erased rating no longer counts in the summary');
  for (const method of ['Get', 'GetResult', 'GetFeatures', 'ListRatings', 'GetMedia', 'Cancel']) {
    assert.equal(await rpcSlug(method, { owner: OWNER, id }), 'gone', method);
    assert.equal(await rpcSlug(method, { owner: 'intruder', id }), 'not-found', `${method} by another owner`);
  }
  assert.equal(await rpcSlug('Get', { owner: 'intruder', id: randomUUID() }), 'not-found', 'same answer as an id that never existed');
  assert.equal(await rpcSlug('AddRating', { owner: OWNER, id, reviewer: OWNER, clarity: 3, relevance: 3 }), 'gone', 'an erased video cannot be rated');
  assert.equal(await rpcSlug('GetMedia', { owner: '', id, signedLink: true }), 'gone', 'a signed media link of an erased video');
  // the id cannot be reused
  await assert.rejects(orch.submit(input({ videoId: id })), (e) => slugOf(e) === 'gone');
  await assert.rejects(orch.submit(input({ videoId: id, owner: 'intruder' })), (e) => slugOf(e) === 'conflict');
});

test('DELETE erases in every status: queued, processing, failed', async () => {
  const queued = input();
  await orch.submit(queued);
  const processing = input();
  await orch.submit(processing);
  await orch.onCompletion(completion(processing.videoId, 'media', 'started'));
  await orch.onCompletion(completion(processing.videoId, 'media', 'done', { output: MEDIA_AV }));
  const failed = input();
  await orch.submit(failed);
  await orch.onCompletion(completion(failed.videoId, 'media', 'failed', { problem: { type: 'unsupported-media', detail: 'bad file' } }));
  assert.deepEqual(await Promise.all([queued, processing, failed].map(async (v) => (await orch.get(OWNER, v.videoId)).status)), [
    'queued',
    'processing',
    'failed',
  ]);
  for (const v of [queued, processing, failed]) {
    await orch.cancel(OWNER, v.videoId);
    assert.deepEqual(await footprint(v.videoId), NOTHING_LEFT);
    await assert.rejects(orch.getResult(OWNER, v.videoId), (e) => slugOf(e) === 'gone');
  }
});

test('a worker still holding the job cannot write anything back; the reconciler finishes once it lets go', async () => {
  const inp = input();
  await orch.submit(inp);
  const id = inp.videoId;
  // A real worker takes the media job and holds it (its lock makes BullMQ refuse to remove it).
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let taken!: () => void;
  const takenP = new Promise<void>((r) => (taken = r));
  const connection = queues.get(QUEUES.media).opts.connection as ConnectionOptions;
  const worker = new Worker(
    QUEUES.media,
    async (job) => {
      if (job.data.videoId !== id) return;
      taken();
      await held;
      // what a media worker does at the end of a job: write outputs, report
      await store.writeJson(artifactPaths.stageOutput(id, 'media'), MEDIA_AV);
      await store.writeFile(artifactPaths.audio(id), Buffer.from('late audio'));
    },
    { connection, prefix: queues.prefix },
  );
  try {
    await takenP;
    await orch.cancel(OWNER, id);
    const tomb = async () => (await db.query<{ purged_at: Date | null }>('SELECT purged_at FROM video_tombstones WHERE id = $1', [id])).rows[0];
    assert.equal((await tomb()).purged_at, null, 'not purged while a worker holds the job');
    assert.ok(await queues.get(QUEUES.media).getJob(stageJobId(id, 'media')), 'the held job could not be removed');
    // the late push is refused by fusion; the late outputs land, then the completion arrives
    await assert.rejects(pushEmbedding(id), /gone|erased/);
    release();
    const job = (await queues.get(QUEUES.media).getJob(stageJobId(id, 'media')))!;
    for (let i = 0; i < 200 && (await job.getState()) !== 'completed'; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(existsSync(store.videoDir(id)), true, 'the late worker wrote its outputs');
    await orch.onCompletion(completion(id, 'media', 'done', { output: MEDIA_AV }));
    assert.equal(existsSync(store.videoDir(id)), false, 'swept when its completion landed');
    assert.equal((await db.query('SELECT 1 FROM videos WHERE id = $1', [id])).rowCount, 0, 'the completion changed nothing');
    // the reconciler's pass removes the job now that nobody holds it, and closes the tombstone
    const r = await orch.reconciler.reconcileErasures();
    assert.ok(r.purged >= 1);
    assert.ok((await tomb()).purged_at);
    assert.deepEqual(await footprint(id), NOTHING_LEFT);
  } finally {
    release();
    await worker.close();
  }
});

test('a crash between the phases: DELETE answers erased, and the reconciler finishes the clean-up', async () => {
  const id = await succeededVideo();
  // fusion unreachable stands in for a process that died after the commit: phase 2 cannot complete
  const deadFusion = new FusionClient('127.0.0.1:1', 500);
  const crashed = new Orchestrator(db, queues, store, webhooks, log, metrics, deadFusion, { eraseTimeoutMs: 3000 });
  try {
    const erased = await crashed.cancel(OWNER, id);
    assert.equal(erased.status, 'erased');
  } finally {
    deadFusion.close();
  }
  await assert.rejects(orch.get(OWNER, id), (e) => slugOf(e) === 'gone', 'gone from the commit on');
  assert.equal((await footprint(id)).embeddings, 1, 'the embeddings wait for fusion');
  assert.equal((await db.query('SELECT purged_at FROM video_tombstones WHERE id = $1', [id])).rows[0].purged_at, null);
  // a restarted orchestrator (fusion back) finishes it
  const r = await orch.reconciler.reconcileErasures();
  assert.ok(r.purged >= 1);
  assert.deepEqual(await footprint(id), NOTHING_LEFT);
  // and running it again is harmless
  assert.equal(await orch.reconciler.purge(id), true);
});

test('rows canceled before erasure existed become tombstones at reconcile', async () => {
  const inp = input();
  await orch.submit(inp);
  await orch.transition(inp.videoId, { kind: 'cancel' });
  assert.equal((await db.query<{ status: string }>('SELECT status FROM videos WHERE id = $1', [inp.videoId])).rows[0].status, 'canceled');
  const r = await orch.reconciler.reconcileErasures();
  assert.ok(r.legacy >= 1);
  await assert.rejects(orch.get(OWNER, inp.videoId), (e) => slugOf(e) === 'gone');
  assert.equal((await footprint(inp.videoId)).videos, 0);
});

/** Ages every entry of a video directory (and the directory) by `ms`. */
function age(id: string, ms: number): void {
  const t = new Date(Date.now() - ms);
  const walk = (p: string) => {
    for (const e of readdirSync(p, { withFileTypes: true })) {
      const child = path.join(p, e.name);
      if (e.isDirectory()) walk(child);
      utimesSync(child, t, t);
    }
    utimesSync(p, t, t);
  };
  walk(store.videoDir(id));
}

test('the sweep collects uploads that never became videos, killed uploads and stale temp files, and nothing else', async () => {
  const HOUR = 3600_000;
  // an upload whose Submit never committed (timed out, refused): source but no row
  const neverSubmitted = randomUUID();
  await store.writeFile(artifactPaths.source(neverSubmitted), Buffer.from('orphan'));
  age(neverSubmitted, 2 * HOUR);
  // a killed upload: only the .part of writeStream
  const killed = randomUUID();
  await store.writeFile(`videos/${killed}/source.part-${randomUUID()}`, Buffer.from('half'));
  age(killed, 2 * HOUR);
  // an upload in progress right now (fresh .part): kept
  const uploading = randomUUID();
  await store.writeFile(`videos/${uploading}/source.part-${randomUUID()}`, Buffer.from('still coming'));
  // a transcript file that an old Submit wrote before its idempotency check matched an earlier video
  const duplicate = randomUUID();
  await store.writeJson(artifactPaths.providedTranscript(duplicate), { text: 'words', language: 'en' });
  age(duplicate, 2 * HOUR);
  // a live video (queued, old files): kept whole
  const live = input();
  await orch.submit(live);
  await store.writeFile(artifactPaths.source(live.videoId), Buffer.from('queued media'));
  age(live.videoId, 2 * HOUR);
  // a finished video with a stale temp file (a killed write) and a fresh one
  const done = input();
  await orch.submit(done);
  await orch.onCompletion(completion(done.videoId, 'media', 'failed', { problem: { type: 'unsupported-media', detail: 'x' } }));
  await store.writeJson(artifactPaths.stageOutput(done.videoId, 'media'), { kept: true });
  const staleTmp = `videos/${done.videoId}/asr.json.tmp-${randomUUID()}`;
  await store.writeFile(staleTmp, 'x');
  age(done.videoId, 2 * HOUR);
  const freshTmp = `videos/${done.videoId}/audio.wav.part-${randomUUID()}`;
  await store.writeFile(freshTmp, 'y');
  // something under videos/ that is not a video id is not ours to judge
  await store.writeFile('videos/not-a-video/file', 'z');

  const r = await orch.reconciler.sweepOrphans(HOUR);
  assert.equal(r.dirs, 3);
  assert.equal(r.temps, 1);
  for (const gone of [neverSubmitted, killed, duplicate]) assert.equal(existsSync(store.videoDir(gone)), false, `${gone} collected`);
  assert.equal(existsSync(store.videoDir(uploading)), true, 'an upload in progress is kept');
  assert.equal(await store.exists(artifactPaths.source(live.videoId)), true, 'a live video is untouched');
  assert.equal(await store.exists(staleTmp), false);
  assert.equal(await store.exists(freshTmp), true);
  assert.equal(await store.exists(artifactPaths.stageOutput(done.videoId, 'media')), true);
  assert.equal(await store.exists('videos/not-a-video/file'), true);
});

test('Submit writes no transcript file: asr gets it written from the row when it is dispatched', async () => {
  const key = `idem-${randomUUID()}`;
  const first = input({ idempotencyKey: key });
  await orch.submit(first);
  const dup = input({ idempotencyKey: key });
  const again = await orch.submit(dup);
  assert.equal(again.doc.id, first.videoId);
  assert.equal(existsSync(store.videoDir(dup.videoId)), false, 'nothing written for the duplicate');
  assert.equal(await store.exists(artifactPaths.providedTranscript(first.videoId)), false, 'nothing written before asr');
  await orch.onCompletion(completion(first.videoId, 'media', 'done', { output: MEDIA_AV }));
  const job = (await queues.get(QUEUES.asr).getJob(stageJobId(first.videoId, 'asr')))!;
  assert.equal(job.data.inputs.transcript, artifactPaths.providedTranscript(first.videoId));
  assert.deepEqual(await store.readJson(job.data.inputs.transcript), { text: 'the provided words', language: 'en' });
});

test("Submit derives an upload's path from its id: naming another video's file cannot make it analysed", async () => {
  const victim = input({ owner: 'victim' });
  await orch.submit(victim);
  await store.writeFile(artifactPaths.source(victim.videoId), Buffer.from('victim media'));
  const attacker = input({ owner: 'attacker', sourcePath: artifactPaths.source(victim.videoId) });
  await orch.submit(attacker);
  const row = await db.query<{ source_path: string }>('SELECT source_path FROM videos WHERE id = $1', [attacker.videoId]);
  assert.equal(row.rows[0].source_path, artifactPaths.source(attacker.videoId));
  const job = (await queues.get(QUEUES.media).getJob(stageJobId(attacker.videoId, 'media')))!;
  assert.deepEqual(job.data.inputs, { source: artifactPaths.source(attacker.videoId) });
  // the same over gRPC, where the path arrives as a field of the request
  const viaRpc = randomUUID();
  const res = await unary<object, { videoJson: string }>(
    rpc,
    'Submit',
    { owner: 'attacker', videoId: viaRpc, sourceKind: 'upload', sourcePath: '../../etc/passwd', language: 'auto', metadataJson: '{}' },
    { deadlineMs: 5000, idempotent: false },
  );
  assert.equal((JSON.parse(res.videoJson) as { id: string }).id, viaRpc);
  const rpcJob = (await queues.get(QUEUES.media).getJob(stageJobId(viaRpc, 'media')))!;
  assert.deepEqual(rpcJob.data.inputs, { source: artifactPaths.source(viaRpc) });
  // ids are validated: they become directory names and job ids
  for (const bad of ['../x', 'ABC', '', `${randomUUID()}/..`]) {
    await assert.rejects(orch.submit(input({ videoId: bad })), (e) => slugOf(e) === 'validation', JSON.stringify(bad));
  }
  // another owner's live id cannot be taken over
  await assert.rejects(orch.submit(input({ videoId: victim.videoId, owner: 'attacker' })), (e) => slugOf(e) === 'conflict');
});
