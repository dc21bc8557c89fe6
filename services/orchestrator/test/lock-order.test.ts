import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArtifactStore, FusionClient, newWebhookSecret, type Db } from '@omniaffect/core';
import { Orchestrator } from '../src/orchestrator';
import * as repo from '../src/repository';
import { WebhookService } from '../src/webhooks';
import { testInfra, uploadSubmit } from './support';

/**
 * Reads and writes that must follow the video row's lock (real PostgreSQL, concurrent connections).
 * After an orchestrator restart the queued "started" and "done" reports of one stage are applied
 * concurrently: a "done" whose transaction began first but got the lock second must still stamp its
 * finish after the start it waited for. And a media read after a missing file must wait for the
 * retention erasure that holds the row.
 */
const infra = testInfra('orchestrator-lock-order');
const { queues, log, metrics } = infra;
const dir = mkdtempSync(path.join(tmpdir(), `oa-st-${infra.tag}-`));
let db: Db;
let orch: Orchestrator;
let fusion: FusionClient;

before(async () => {
  db = await infra.setup();
  fusion = new FusionClient('127.0.0.1:1'); // never called: nothing here reaches fusion
  const webhooks = new WebhookService(db, queues, { allowPrivate: true, callbackSecret: newWebhookSecret(), retryScale: 0.001, timeoutMs: 2000 }, log, metrics);
  orch = new Orchestrator(db, queues, new ArtifactStore(path.join(dir, 'artifacts')), webhooks, log, metrics, fusion);
});

after(async () => {
  fusion.close();
  await infra.teardown();
  rmSync(dir, { recursive: true, force: true });
});

test('a stage finished by a transaction that began before its start is still stamped after it', async () => {
  const id = randomUUID();
  await orch.submit(uploadSubmit('owner-t', id));
  const done = await db.connect();
  const started = await db.connect();
  try {
    await done.query('BEGIN'); // the "done" report's transaction begins first...
    await sleep(50);
    await started.query('BEGIN'); // ...the "started" one 50 ms later, and takes the lock first
    assert.ok(await repo.loadVideo(started, id, true));
    await repo.writeStageChanges(started, id, [{ stage: 'media', state: 'running', attempts: 1 }]);
    await started.query('COMMIT');
    assert.ok(await repo.loadVideo(done, id, true));
    await repo.writeStageChanges(done, id, [{ stage: 'media', state: 'done', output: {} }]);
    await done.query('COMMIT');
  } finally {
    done.release();
    started.release();
  }
  const row = (
    await db.query<{ started_at: Date; finished_at: Date }>('SELECT started_at, finished_at FROM stages WHERE video_id = $1 AND name = $2', [id, 'media'])
  ).rows[0]!;
  assert.ok(row.started_at && row.finished_at);
  assert.ok(row.finished_at.getTime() >= row.started_at.getTime(), `finished ${row.finished_at.toISOString()} before started ${row.started_at.toISOString()}`);
});

test('a media read after a missing file waits for the retention erasure holding the row, then sees its mark', async () => {
  const id = randomUUID();
  await orch.submit(uploadSubmit('owner-m', id));
  const eraser = await db.connect();
  try {
    // the reconciler's erasure: the row locked, the files being removed, the mark not yet committed
    await eraser.query('BEGIN');
    assert.ok(await repo.loadVideo(eraser, id, true));
    await repo.markMediaErased(eraser, id);
    assert.equal((await orch.media('owner-m', id, false)).mediaErasedAt, null, 'a plain read does not wait: not erased yet');
    let settled = false;
    const after = orch.media('owner-m', id, false, true).finally(() => (settled = true));
    await sleep(100);
    assert.equal(settled, false, 'the read after a missing file waits for the erasure to commit');
    await eraser.query('COMMIT');
    assert.ok((await after).mediaErasedAt, 'and then sees the mark');
  } finally {
    eraser.release();
  }
});
