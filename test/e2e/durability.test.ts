import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { QUEUES, stageJobId, validateResult, type AnalysisResult } from '@omniaffect/core';
import { longAudio, speechVideo } from '../support/media-fixtures';
import { startTestStack, type TestStack } from '../support/stack-fixture';
import { startWebhookReceiver } from '../support/webhook-receiver';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Crash safety: SIGKILL (no graceful shutdown, no chance to report) a model worker while it holds a
 * job, and the orchestrator while videos are in flight. After a restart every accepted video must
 * finish, with exactly one result and one webhook delivery each.
 */
describe('durability under SIGKILL', { timeout: 900_000 }, () => {
  let s: TestStack;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const media = mkdtempSync(path.join(os.tmpdir(), 'oa-dur-'));

  before(async () => {
    s = await startTestStack();
    receiver = await startWebhookReceiver();
    const res = await fetch(`${s.stack.gatewayUrl}/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url }),
    });
    assert.equal(res.status, 201);
  });

  after(async () => {
    await receiver?.close();
    if (process.env.E2E_SHOW_LOGS) console.log(s?.logs());
    await s?.teardown();
  });

  async function assertExactlyOnce(ids: string[]): Promise<void> {
    const served = new Map<string, AnalysisResult>();
    for (const id of ids) {
      const doc = await s.client.waitForTerminal(id, 240_000);
      assert.equal(doc.status, 'succeeded', `${id}: ${JSON.stringify(doc.error)}\n${s.logs()}`);
      const r = await s.client.result<AnalysisResult>(id);
      assert.deepEqual(validateResult(r).errors, []);
      assert.equal(r.id, id, "the result served is this video's");
      served.set(id, r);
    }
    // One stored result per video, and it is the one the API served (not a second run's rewrite).
    const rows = await s.db.query<{ video_id: string; n: number; result: AnalysisResult }>(
      'SELECT video_id, count(*)::int AS n, (array_agg(result::text))[1]::json AS result FROM results WHERE video_id = ANY($1) GROUP BY video_id',
      [ids],
    );
    const stored = new Map(rows.rows.map((row) => [row.video_id, row]));
    for (const id of ids) {
      assert.equal(stored.get(id)?.n, 1, `exactly one result row for ${id}`);
      assert.deepEqual(stored.get(id)!.result, served.get(id), `${id}: the stored result is the one served`);
    }
    const deadline = Date.now() + 60_000;
    const delivered = () => new Set(receiver.received.map((r) => (JSON.parse(r.body) as { data: { id: string } }).data.id));
    while (ids.some((id) => !delivered().has(id)) && Date.now() < deadline) await sleep(200);
    const d = await s.db.query<{ video_id: string; n: number }>(
      `SELECT video_id, count(*)::int AS n FROM webhook_deliveries WHERE video_id = ANY($1) AND webhook_id IS NOT NULL GROUP BY video_id`,
      [ids],
    );
    for (const row of d.rows) assert.equal(row.n, 1, `one delivery row for ${row.video_id}`);
    assert.equal(d.rowCount, ids.length);
    for (const id of ids) {
      const msgIds = new Set(receiver.received.filter((r) => r.body.includes(id)).map((r) => r.headers['webhook-id']));
      assert.equal(msgIds.size, 1, `${id} delivered under one webhook-id`);
    }
  }

  test('a model worker SIGKILLed while holding a job: the job is redone elsewhere, the video finishes once', async () => {
    // Long audio keeps ASR busy long enough to be caught in the act. The job's state is read from
    // BullMQ itself: the status API lags by a completion round trip, enough for a fast run to finish.
    const file = longAudio(media, 150);
    const { id } = await s.client.submitFile(file);
    const asrJob = async () => s.queues.get(QUEUES.asr).getJob(stageJobId(id, 'asr'));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const job = await asrJob();
      const state = job ? await job.getState() : 'not yet enqueued';
      if (state === 'active') break;
      assert.ok(state === 'not yet enqueued' || state === 'waiting' || state === 'prioritized', `asr job ${state} before it could be killed`);
      assert.ok(Date.now() < deadline, 'asr never started');
      await sleep(10);
    }
    await s.stack.kill('asr', 'SIGKILL');
    await sleep(500);
    const mid = await s.client.status(id);
    assert.equal(mid.status, 'processing');
    await s.stack.startOne('asr');
    await assertExactlyOnce([id]);
    const job = (await asrJob())!;
    assert.equal(await job.getState(), 'completed');
    assert.ok((job.attemptsStarted ?? 0) >= 2, `the killed run and the redone one: attemptsStarted ${job.attemptsStarted}`);
  });

  test('fusion SIGKILLed and down for a while: pushes and the fusion stage retry, every video finishes', async () => {
    const file = speechVideo(media, 4);
    await s.stack.kill('fusion', 'SIGKILL');
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push((await s.client.submitFile(file)).id);
    await sleep(5000);
    for (const id of ids) assert.equal((await s.client.status(id)).status, 'processing');
    await s.stack.startOne('fusion');
    await assertExactlyOnce(ids);
  });

  test('the orchestrator SIGKILLed with videos in flight: after restart every video finishes exactly once', async () => {
    const file = speechVideo(media, 6);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await s.client.submitFile(file, { idempotencyKey: `dur-${i}` })).id);
    // Let some work start, then pull the plug on the orchestrator.
    await sleep(700);
    await s.stack.kill('orchestrator', 'SIGKILL');
    // The kill must land with work in flight, or this proves nothing (read from the database: the
    // gateway cannot answer while the orchestrator is down).
    const unfinished = await s.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM videos WHERE id = ANY($1) AND status NOT IN ('succeeded','failed','canceled')`,
      [ids],
    );
    assert.ok(unfinished.rows[0].n >= 1, 'every video had finished before the orchestrator was killed');
    // Workers keep finishing stages meanwhile; their completions wait in Redis.
    await sleep(3000);
    const waiting = await s.queues.get(QUEUES.completions).getJobCounts('waiting', 'delayed', 'prioritized');
    assert.ok(
      waiting.waiting + waiting.delayed + waiting.prioritized >= 1,
      `completions should pile up while the orchestrator is down: ${JSON.stringify(waiting)}`,
    );
    await s.stack.startOne('orchestrator');
    await assertExactlyOnce(ids);
    // Idempotent resubmission after the crash returns the same video.
    const again = await s.client.submitFile(file, { idempotencyKey: 'dur-0' });
    assert.equal(again.id, ids[0]);
  });
});
