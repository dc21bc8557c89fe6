import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { ArtifactStore, FusionClient, newWebhookSecret, type Db, type StageCompletion, type StageName } from '@omniaffect/core';
import { Orchestrator } from '../src/orchestrator';
import { WebhookService } from '../src/webhooks';
import { startFusion, testInfra, uploadSubmit } from './support';

/**
 * How much database work one completion costs. Every statement the pool runs goes through
 * pg.Client#query (Pool#query included), so counting there sees all of it; the test runs its events
 * one at a time, so nothing else is counted meanwhile.
 */
const infra = testInfra('orchestrator-query-count');
const { queues, log, metrics } = infra;
const dir = mkdtempSync(path.join(tmpdir(), `oa-qc-${infra.tag}-`));
let db: Db;
let orch: Orchestrator;
let fusion: Awaited<ReturnType<typeof startFusion>>;
let client: FusionClient;

const seen: string[] = [];
const original = Client.prototype.query;
function counting(): void {
  (Client.prototype as unknown as { query: (...a: unknown[]) => unknown }).query = function (this: Client, ...args: unknown[]) {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
    if (text) seen.push(text.replace(/\s+/g, ' ').trim());
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
}

before(async () => {
  db = await infra.setup();
  fusion = await startFusion(db, log);
  client = new FusionClient(fusion.address);
  const webhooks = new WebhookService(db, queues, { allowPrivate: true, callbackSecret: newWebhookSecret(), retryScale: 0.001, timeoutMs: 2000 }, log, metrics);
  orch = new Orchestrator(db, queues, new ArtifactStore(path.join(dir, 'artifacts')), webhooks, log, metrics, client);
  counting();
});

after(async () => {
  Client.prototype.query = original;
  client.close();
  await fusion.close();
  await infra.teardown();
  rmSync(dir, { recursive: true, force: true });
});

const completion = (videoId: string, stage: StageName, outcome: StageCompletion['outcome'], output: Record<string, unknown> = {}) =>
  ({ videoId, stage, outcome, output, startedAt: Date.now(), finishedAt: Date.now(), attempts: 1 }) as StageCompletion;

async function measure(c: StageCompletion): Promise<{ total: number; videoLoads: number; stageLoads: number }> {
  seen.length = 0;
  await orch.onCompletion(c);
  const videoLoads = seen.filter((q) => /^SELECT \* FROM videos WHERE id = \$1/.test(q)).length;
  const stageLoads = seen.filter((q) => /^SELECT \* FROM stages WHERE video_id = \$1/.test(q)).length;
  const total = seen.filter((q) => !/^(BEGIN|COMMIT|ROLLBACK)$/.test(q)).length;
  log.info({ stage: c.stage, total, videoLoads, stageLoads }, 'queries per completion');
  if (process.env.QUERY_COUNT_REPORT)
    process.stdout.write(`# ${c.stage} ${c.outcome}: ${total} statements, video loaded ${videoLoads}×, stages loaded ${stageLoads}×\n`);
  return { total, videoLoads, stageLoads };
}

test('a completion event loads its video and its stages once', async () => {
  const id = randomUUID();
  await orch.submit(uploadSubmit('owner-q', id));
  const model = (name: string) => ({ model: { name, provider: 'cpu' } });
  // media done with no audio: asr and audio-emotion are skipped by the same event (the skip path)
  const media = await measure(
    completion(id, 'media', 'done', { durationSec: 4, hasAudio: false, hasVideo: true, frameCount: 2, formatName: 'mov,mp4,m4a,3gp,3g2,mj2' }),
  );
  const vision = await measure(completion(id, 'vision', 'done', { frames: 2, dim: 4, ...model('siglip') }));
  for (const m of [media, vision]) {
    assert.equal(m.videoLoads, 1, 'one load of the video row per event');
    assert.equal(m.stageLoads, 1, 'one load of its stages per event');
  }
});

test('a submit creates all its stages with one statement', async () => {
  const id = randomUUID();
  seen.length = 0;
  await orch.submit(uploadSubmit('owner-q', id));
  assert.equal(seen.filter((q) => /^INSERT INTO stages\b/.test(q)).length, 1, seen.join('\n'));
  const stages = await db.query<{ name: string; state: string }>('SELECT name, state FROM stages WHERE video_id = $1 ORDER BY name', [id]);
  assert.deepEqual(
    stages.rows.map((r) => `${r.name}:${r.state}`),
    ['asr:pending', 'audio-emotion:pending', 'fusion:pending', 'media:pending', 'text:pending', 'vision:pending'],
  );
});
