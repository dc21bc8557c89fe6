import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ArtifactStore,
  FusionClient,
  ORCHESTRATOR_SERVICE,
  grpcClient,
  newWebhookSecret,
  problemFromGrpc,
  startGrpcServer,
  unary,
  type Db,
  type GrpcServerHandle,
  type StageCompletion,
  type StageName,
  type VideoListDocument,
} from '@omniaffect/core';
import { orchestratorGrpcImpl } from '../src/grpc-api';
import { Orchestrator, fusionModelName, type SubmitInput } from '../src/orchestrator';
import { WebhookService } from '../src/webhooks';
import { startFusion, testInfra } from './support';

/**
 * Ratings and the video list on the real PostgreSQL, over real gRPC: the summary's arithmetic per
 * fusion model version, the boundary checks of AddRating, and keyset pagination that neither skips
 * nor repeats a video when many share a creation time.
 */
const infra = testInfra('ratings-test');
const { queues, log, metrics } = infra;
const dir = mkdtempSync(path.join(tmpdir(), `oa-ratings-${infra.tag}-`));
let db: Db;
let orch: Orchestrator;
let fusion: Awaited<ReturnType<typeof startFusion>>;
let forgetter: FusionClient;
let server: GrpcServerHandle;
let rpc: ReturnType<typeof grpcClient>;

before(async () => {
  db = await infra.setup();
  fusion = await startFusion(db, log);
  forgetter = new FusionClient(fusion.address);
  const webhooks = new WebhookService(db, queues, { allowPrivate: true, callbackSecret: newWebhookSecret(), retryScale: 0.001, timeoutMs: 2000 }, log, metrics);
  orch = new Orchestrator(db, queues, new ArtifactStore(path.join(dir, 'artifacts')), webhooks, log, metrics, forgetter);
  server = await startGrpcServer('127.0.0.1:0', [{ name: ORCHESTRATOR_SERVICE, impl: orchestratorGrpcImpl(orch, webhooks, log) }]);
  server.setServing(true);
  rpc = grpcClient(ORCHESTRATOR_SERVICE, `127.0.0.1:${server.port}`);
});

after(async () => {
  rpc.close();
  await server.close();
  forgetter.close();
  await fusion.close();
  await infra.teardown();
  rmSync(dir, { recursive: true, force: true });
});

const input = (owner: string): SubmitInput => ({
  owner,
  videoId: randomUUID(),
  idempotencyKey: '',
  sourceKind: 'upload',
  sourcePath: '',
  sourceUrl: '',
  filename: 'clip.mp4',
  contentType: 'video/mp4',
  sizeBytes: 10,
  language: 'en',
  callbackUrl: '',
  metadata: {},
});

const completion = (videoId: string, stage: StageName, outcome: StageCompletion['outcome'], output: Record<string, unknown>) =>
  ({ videoId, stage, outcome, startedAt: Date.now(), finishedAt: Date.now(), attempts: 1, output }) as StageCompletion;

/** A video driven to succeeded through the state machine (a silent clip: audio stages skip), its result made by `fusionModel`. */
async function succeeded(owner: string, fusionModel: Record<string, unknown>): Promise<string> {
  const inp = input(owner);
  await orch.submit(inp);
  const id = inp.videoId;
  await orch.onCompletion(
    completion(id, 'media', 'done', { durationSec: 4, hasAudio: false, hasVideo: true, frameCount: 2, formatName: 'mov,mp4,m4a,3gp,3g2,mj2' }),
  );
  await orch.onCompletion(completion(id, 'vision', 'done', { frames: 2, dim: 4, model: { name: 'siglip' } }));
  await db.query('INSERT INTO results (video_id, result) VALUES ($1, $2)', [id, JSON.stringify({ models: { fusion: fusionModel } })]);
  await orch.transition(id, { kind: 'done', stage: 'fusion', output: { present: ['vision'] } });
  assert.equal((await orch.get(owner, id)).status, 'succeeded');
  return id;
}

async function call<T>(method: string, req: object): Promise<T> {
  const res = await unary<object, { json: string }>(rpc, method, req, { deadlineMs: 5000, idempotent: false });
  return JSON.parse(res.json) as T;
}

async function slugOf(method: string, req: object): Promise<string> {
  try {
    await call(method, req);
    return 'ok';
  } catch (err) {
    return problemFromGrpc(err).slug;
  }
}

const rate = (owner: string, id: string, clarity: number, relevance: number, comment?: string) =>
  call<{ id: string; fusionModel: string; comment: string | null }>('AddRating', {
    owner,
    id,
    reviewer: owner,
    clarity,
    relevance,
    comment: comment ?? '',
    hasComment: comment !== undefined,
  });

test('the summary groups the owner’s ratings by fusion model version: count, mean, median, histogram', async () => {
  const a1 = await succeeded('summary-owner', { name: 'policy', version: '1' });
  const a2 = await succeeded('summary-owner', { name: 'policy', version: '1' });
  const b = await succeeded('summary-owner', { name: 'policy', version: '2' });
  const bare = await succeeded('summary-owner', { name: 'zero-shot' });
  const foreign = await succeeded('someone-else', { name: 'policy', version: '1' });
  for (const [id, c, r] of [
    [a1, 1, 3],
    [a1, 2, 3],
    [a2, 2, 4],
    [a2, 5, 4],
    [b, 4, 1],
    [bare, 3, 5],
  ] as const) {
    await rate('summary-owner', id, c, r);
  }
  await rate('someone-else', foreign, 5, 5);
  const summary = await call<{ models: unknown[] }>('RatingsSummary', { owner: 'summary-owner' });
  assert.deepEqual(summary.models, [
    {
      fusionModel: 'policy@1',
      count: 4,
      clarity: { mean: 2.5, median: 2, histogram: [1, 2, 0, 0, 1] },
      relevance: { mean: 3.5, median: 3.5, histogram: [0, 0, 2, 2, 0] },
    },
    {
      fusionModel: 'policy@2',
      count: 1,
      clarity: { mean: 4, median: 4, histogram: [0, 0, 0, 1, 0] },
      relevance: { mean: 1, median: 1, histogram: [1, 0, 0, 0, 0] },
    },
    {
      fusionModel: 'zero-shot',
      count: 1,
      clarity: { mean: 3, median: 3, histogram: [0, 0, 1, 0, 0] },
      relevance: { mean: 5, median: 5, histogram: [0, 0, 0, 0, 1] },
    },
  ]);
  assert.deepEqual(
    (await call<{ models: { count: number }[] }>('RatingsSummary', { owner: 'someone-else' })).models.length,
    1,
    'another owner sees only its own',
  );
  assert.deepEqual((await call<{ models: unknown[] }>('RatingsSummary', { owner: 'nobody' })).models, []);
  const listed = await call<{ ratings: { clarity: number }[] }>('ListRatings', { owner: 'summary-owner', id: a1 });
  assert.deepEqual(
    listed.ratings.map((r) => r.clarity),
    [2, 1],
    'newest first',
  );
});

test('AddRating checks what it stores: scores, comment length in characters, status, owner', async () => {
  const id = await succeeded('checks-owner', { name: 'policy', version: '3' });
  for (const [clarity, relevance] of [
    [0, 3],
    [6, 3],
    [3, 0],
    [3, 6],
  ]) {
    assert.equal(
      await slugOf('AddRating', { owner: 'checks-owner', id, reviewer: 'checks-owner', clarity, relevance }),
      'validation',
      `${clarity}/${relevance}`,
    );
  }
  assert.equal(await slugOf('AddRating', { owner: 'checks-owner', id, reviewer: '', clarity: 3, relevance: 3 }), 'validation', 'a reviewer is required');
  // 2000 characters outside the BMP are 4000 UTF-16 units: the limit counts characters, as the table's CHECK does
  const emoji = '😀'.repeat(2000);
  assert.equal((await rate('checks-owner', id, 3, 3, emoji)).comment, emoji);
  assert.equal(
    await slugOf('AddRating', { owner: 'checks-owner', id, reviewer: 'checks-owner', clarity: 3, relevance: 3, comment: '好'.repeat(2001), hasComment: true }),
    'validation',
  );
  assert.equal((await rate('checks-owner', id, 3, 3)).comment, null, 'no comment is null');
  assert.equal(await slugOf('AddRating', { owner: 'intruder', id, reviewer: 'intruder', clarity: 3, relevance: 3 }), 'not-found');
  const queued = input('checks-owner');
  await orch.submit(queued);
  assert.equal(await slugOf('AddRating', { owner: 'checks-owner', id: queued.videoId, reviewer: 'checks-owner', clarity: 3, relevance: 3 }), 'not-ready');
  assert.equal(await slugOf('ListRatings', { owner: 'intruder', id }), 'not-found');
});

test('fusionModelName is name@version, the name alone without a version, unknown without a fusion model', () => {
  assert.equal(fusionModelName({ name: 'policy', version: '1.2' }), 'policy@1.2');
  assert.equal(fusionModelName({ name: 'policy', version: 4 }), 'policy@4');
  assert.equal(fusionModelName({ name: 'policy' }), 'policy');
  assert.equal(fusionModelName(null), 'unknown');
});

test('ListVideos pages newest first with a cursor that neither skips nor repeats videos sharing a creation time', async () => {
  const owner = 'pager';
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) {
    const inp = input(owner);
    await orch.submit(inp);
    ids.push(inp.videoId);
  }
  await orch.submit(input('another-pager'));
  // Four share one instant and three are a microsecond apart: a cursor rounded to milliseconds (a JS
  // Date) would skip or repeat some of them, and only the id breaks the tie among equal times.
  const at = ['2025-03-01 10:00:00.000002+00', '2025-03-01 10:00:00.000001+00', '2025-03-01 10:00:00.000001+00', '2025-03-01 10:00:00.000001+00'];
  at.push('2025-03-01 10:00:00.000001+00', '2025-03-01 10:00:00.000000+00', '2025-02-28 23:59:59.999999+00');
  for (const [i, id] of ids.entries()) await db.query('UPDATE videos SET created_at = $2 WHERE id = $1', [id, at[i]]);
  const expected = (await db.query<{ id: string }>(`SELECT id FROM videos WHERE owner = $1 ORDER BY created_at DESC, id DESC`, [owner])).rows.map((r) => r.id);
  const seen: string[] = [];
  let before = '';
  let pages = 0;
  for (;;) {
    const page = await call<VideoListDocument>('ListVideos', { owner, limit: 2, before });
    pages++;
    assert.ok(page.videos.length <= 2);
    seen.push(...page.videos.map((v) => v.id));
    for (const v of page.videos) assert.ok(v.stages && v.links.self === `/v1/videos/${v.id}`, 'the Get document');
    if (!page.next) break;
    before = page.next;
  }
  assert.equal(pages, 4);
  assert.deepEqual(seen, expected, 'every video once, newest first, none of another owner');
  assert.deepEqual(new Set(seen), new Set(ids));
  const all = await call<VideoListDocument>('ListVideos', { owner, limit: 0, before: '' });
  assert.equal(all.videos.length, 7, 'limit 0 is the default page (20)');
  assert.equal(all.next, null);
  for (const bad of ['x', Buffer.from('12.not-an-id').toString('base64url'), 'a'.repeat(200)]) {
    assert.equal(await slugOf('ListVideos', { owner, limit: 2, before: bad }), 'validation', bad);
  }
  assert.equal(await slugOf('ListVideos', { owner, limit: 101 }), 'validation');
  // an erased video is not listed
  await orch.cancel(owner, ids[0]);
  const after = await call<VideoListDocument>('ListVideos', { owner, limit: 100 });
  assert.deepEqual(
    after.videos.map((v) => v.id),
    expected.filter((id) => id !== ids[0]),
  );
});
