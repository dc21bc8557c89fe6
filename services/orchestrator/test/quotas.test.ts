import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, FusionClient, newWebhookSecret, type Db, type StageCompletion, type StageName } from '@omniaffect/core';
import { Orchestrator, type OrchestratorOptions, type SubmitInput } from '../src/orchestrator';
import { WebhookService } from '../src/webhooks';
import { startFusion, testInfra } from './support';

/** Per-key quotas, enforced atomically in Submit and CreateWebhook (real PostgreSQL, concurrent calls). */
const infra = testInfra('quotas-test');
const { queues, log, metrics } = infra;
const dir = mkdtempSync(path.join(tmpdir(), `oa-quota-${infra.tag}-`));
const store = new ArtifactStore(path.join(dir, 'artifacts'));
let db: Db;
let fusion: Awaited<ReturnType<typeof startFusion>>;
let forgetter: FusionClient;
let webhooks: WebhookService;

before(async () => {
  db = await infra.setup();
  fusion = await startFusion(db, log);
  forgetter = new FusionClient(fusion.address);
  webhooks = new WebhookService(
    db,
    queues,
    { allowPrivate: true, callbackSecret: newWebhookSecret(), retryScale: 0.001, timeoutMs: 2000, maxPerOwner: 2 },
    log,
    metrics,
  );
});

after(async () => {
  forgetter.close();
  await fusion.close();
  await infra.teardown();
  rmSync(dir, { recursive: true, force: true });
});

const orchestrator = (quota: Partial<OrchestratorOptions['quota']>) =>
  new Orchestrator(db, queues, store, webhooks, log, metrics, forgetter, {
    quota: { maxActiveVideos: 0, maxMediaHoursPerDay: 0, unprobedVideoSeconds: 7200, ...quota },
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
  language: 'auto',
  callbackUrl: '',
  metadata: {},
});
const completion = (videoId: string, stage: StageName, outcome: StageCompletion['outcome'], extra: Partial<StageCompletion> = {}) =>
  ({ videoId, stage, outcome, startedAt: Date.now(), finishedAt: Date.now(), attempts: 1, ...extra }) as StageCompletion;
const quotaError = (limit: string) => (e: unknown) => {
  const p = e as { slug?: string; detail?: string; extensions?: { limit?: string } };
  return p.slug === 'quota-exceeded' && p.extensions?.limit === limit && (p.detail ?? '').includes(limit);
};

test('unfinished videos per key: the limit holds under concurrent submits and frees up as videos finish', async () => {
  const orch = orchestrator({ maxActiveVideos: 3 });
  const owner = `o-active-${randomUUID()}`;
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => orch.submit(input(owner))));
  const ok = results.filter((r) => r.status === 'fulfilled');
  assert.equal(ok.length, 3, 'exactly the limit got in');
  for (const r of results) if (r.status === 'rejected') assert.ok(quotaError('QUOTA_MAX_ACTIVE_VIDEOS')(r.reason), String(r.reason));
  // another key is not affected
  await orch.submit(input(`o-other-${randomUUID()}`));
  // one finishes (fails here): a slot is free
  const first = (ok[0] as PromiseFulfilledResult<{ doc: { id: string } }>).value.doc.id;
  await orch.onCompletion(completion(first, 'media', 'failed', { problem: { type: 'unsupported-media', detail: 'x' } }));
  await orch.submit(input(owner));
  await assert.rejects(orch.submit(input(owner)), quotaError('QUOTA_MAX_ACTIVE_VIDEOS'));
});

test('media hours per key per 24 h: unprobed videos reserve the estimate, measured ones count their duration, DELETE does not refill', async () => {
  // 1 h (3600 s) per day; an unprobed video reserves 1000 s
  const orch = orchestrator({ maxMediaHoursPerDay: 1, unprobedVideoSeconds: 1000 });
  const owner = `o-hours-${randomUUID()}`;
  const a = await orch.submit(input(owner));
  const b = await orch.submit(input(owner));
  const c = await orch.submit(input(owner));
  await assert.rejects(orch.submit(input(owner)), quotaError('QUOTA_MAX_MEDIA_HOURS_PER_DAY'), '3 × 1000 s reserved: a 4th does not fit');
  // probing finds b is 5 s long: its reservation shrinks to 5 s
  await orch.onCompletion(
    completion(b.doc.id, 'media', 'done', { output: { durationSec: 5, hasAudio: true, hasVideo: false, frameCount: 0, formatName: 'wav' } }),
  );
  const d = await orch.submit(input(owner));
  // a is measured at 1800 s: used = 1800 + 5 + 1000 (c) + 1000 (d); a new one would make 4805 s
  await orch.onCompletion(
    completion(a.doc.id, 'media', 'done', { output: { durationSec: 1800, hasAudio: true, hasVideo: false, frameCount: 0, formatName: 'wav' } }),
  );
  await assert.rejects(orch.submit(input(owner)), quotaError('QUOTA_MAX_MEDIA_HOURS_PER_DAY'));
  // erasing the unprobed ones frees their reservation; erasing the measured one does not refund it
  await orch.cancel(owner, c.doc.id);
  await orch.cancel(owner, d.doc.id);
  await orch.cancel(owner, a.doc.id);
  // used: a's 1800 s (kept after erasure) + b's 5 s; a new video reserves 1000 s: 2805 s ≤ 3600 s
  const e = await orch.submit(input(owner));
  await assert.rejects(orch.submit(input(owner)), quotaError('QUOTA_MAX_MEDIA_HOURS_PER_DAY'), 'another 1000 s would exceed the hour');
  // outside the 24 h window nothing counts
  await db.query(`UPDATE videos SET created_at = now() - interval '25 hours' WHERE owner = $1`, [owner]);
  await db.query(`UPDATE erased_media_usage SET created_at = now() - interval '25 hours' WHERE owner = $1`, [owner]);
  await orch.onCompletion(completion(e.doc.id, 'media', 'failed', { problem: { type: 'unsupported-media', detail: 'x' } }));
  await orch.submit(input(owner));
  await orch.submit(input(owner));
});

test('defaults leave ordinary use alone', async () => {
  const orch = new Orchestrator(db, queues, store, webhooks, log, metrics, forgetter);
  const owner = `o-defaults-${randomUUID()}`;
  for (let i = 0; i < 20; i++) await orch.submit(input(owner));
});

test('webhook subscriptions per key: concurrent creates cannot pass the limit; deleting one frees a slot', async () => {
  const owner = `o-hooks-${randomUUID()}`;
  const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => webhooks.create(owner, `https://example.com/h${i}`, [])));
  const ok = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<WebhookService['create']>>> => r.status === 'fulfilled');
  assert.equal(ok.length, 2);
  for (const r of results) if (r.status === 'rejected') assert.ok(quotaError('QUOTA_MAX_WEBHOOKS')(r.reason), String(r.reason));
  await webhooks.remove(owner, ok[0].value.id);
  await webhooks.create(owner, 'https://example.com/again', []);
  await assert.rejects(webhooks.create(owner, 'https://example.com/over', []), quotaError('QUOTA_MAX_WEBHOOKS'));
});
