import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Job, Queue } from 'bullmq';
import { createLogger } from '../src/logger';
import { ServiceMetrics } from '../src/metrics';
import { ProblemError } from '../src/problems';
import { QUEUES, Queues, completionJobId, redisConnection, stageJobId, startedJobId, type StageCompletion, type StageJob } from '../src/queues';
import { DEFAULT_STARTED_REPORT_DELAY_MS as STARTED_REPORT_DELAY_MS } from '../src/config';
import { runStageWorker, type StageHandler } from '../src/stage-worker';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `oat${randomBytes(4).toString('hex')}`;
const connection = redisConnection(REDIS_URL);
const queues = new Queues(connection, prefix, { lockDurationMs: 5000, stalledIntervalMs: 1000 });
const log = createLogger('stage-worker-test', 'silent');
const metrics = new ServiceMetrics('stage-worker-test');

after(async () => {
  for (const name of Object.values(QUEUES)) await queues.get(name).obliterate({ force: true });
  await queues.close();
  await connection.quit();
});

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null>, limitMs = 20_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A vision output that meets its contract (stage-contracts.ts), as runStageWorker requires. */
const visionOutput = { frames: 3, dim: 4, model: { name: 'test/vision', provider: 'cpu' } };

const completions = (): Queue => queues.get(QUEUES.completions);
const completionOf = (videoId: string) => completions().getJob(completionJobId(videoId, 'vision')) as Promise<Job<StageCompletion> | undefined>;

function job(videoId: string): StageJob {
  return { videoId, stage: 'vision', language: 'auto', inputs: { media: `videos/${videoId}/media.json` }, enqueuedAt: Date.now() };
}

async function withWorker(handler: StageHandler, fn: () => Promise<void>): Promise<void> {
  const worker = runStageWorker({ queues, queue: QUEUES.vision, stage: 'vision', concurrency: 1, log, metrics, handler });
  try {
    await fn();
  } finally {
    await worker.close();
    // Queues.worker() hands BullMQ a duplicate() of the shared connection, which BullMQ treats as
    // borrowed and never closes; without this the test process never exits.
    (worker.opts.connection as unknown as { disconnect(): void }).disconnect();
  }
}

test('success reports one done completion with the handler output', async () => {
  const videoId = `ok${randomBytes(3).toString('hex')}`;
  const seen: StageJob[] = [];
  await withWorker(
    async (data, ctx) => {
      seen.push(data);
      assert.equal(ctx.attempt, 1);
      return { outcome: 'done', output: visionOutput };
    },
    async () => {
      await queues.get(QUEUES.vision).add('vision', job(videoId), { jobId: stageJobId(videoId, 'vision') });
      const c = await waitFor('done completion', () => completionOf(videoId));
      assert.equal(c.data.outcome, 'done');
      assert.equal(c.data.videoId, videoId);
      assert.equal(c.data.stage, 'vision');
      assert.deepEqual(c.data.output, visionOutput);
      assert.equal(c.data.attempts, 1);
      assert.ok(c.data.finishedAt >= c.data.startedAt);
    },
  );
  assert.equal(seen.length, 1);
  assert.equal(seen[0].videoId, videoId);
});

test('a skipped outcome carries its problem', async () => {
  const videoId = `sk${randomBytes(3).toString('hex')}`;
  await withWorker(
    async () => ({ outcome: 'skipped', problem: { type: 'validation', detail: 'empty transcript' } }),
    async () => {
      await queues.get(QUEUES.vision).add('vision', job(videoId), { jobId: stageJobId(videoId, 'vision') });
      const c = await waitFor('skipped completion', () => completionOf(videoId));
      assert.equal(c.data.outcome, 'skipped');
      assert.deepEqual(c.data.problem, { type: 'validation', detail: 'empty transcript' });
    },
  );
});

test('a ProblemError reports one failed completion with its slug and is not retried', async () => {
  const videoId = `pe${randomBytes(3).toString('hex')}`;
  let calls = 0;
  await withWorker(
    async () => {
      calls++;
      throw new ProblemError('unsupported-media', 'not a video');
    },
    async () => {
      await queues.get(QUEUES.vision).add('vision', job(videoId), { jobId: stageJobId(videoId, 'vision'), attempts: 3, backoff: { type: 'fixed', delay: 10 } });
      const c = await waitFor('failed completion', () => completionOf(videoId));
      assert.equal(c.data.outcome, 'failed');
      assert.deepEqual(c.data.problem, { type: 'unsupported-media', detail: 'not a video' });
      assert.equal(c.data.attempts, 1);
      const stageJob = await queues.get(QUEUES.vision).getJob(stageJobId(videoId, 'vision'));
      await waitFor('stage job failed', async () => (await stageJob!.getState()) === 'failed');
    },
  );
  assert.equal(calls, 1, 'a permanent problem must not be retried');
  const all = await completions().getJobs(['waiting', 'active', 'completed', 'failed', 'delayed']);
  const failed = all.filter((j) => (j.data as StageCompletion).videoId === videoId && (j.data as StageCompletion).outcome === 'failed');
  assert.equal(failed.length, 1);
});

test('a generic error is retried and reports failed only on the last attempt', async () => {
  const videoId = `ge${randomBytes(3).toString('hex')}`;
  const attempts: number[] = [];
  await withWorker(
    async (_data, ctx) => {
      attempts.push(ctx.attempt);
      // No completion may exist before the last attempt has run.
      assert.equal(await completionOf(videoId), undefined);
      throw new Error(`flaky ${ctx.attempt}`);
    },
    async () => {
      await queues.get(QUEUES.vision).add('vision', job(videoId), { jobId: stageJobId(videoId, 'vision'), attempts: 3, backoff: { type: 'fixed', delay: 20 } });
      const c = await waitFor('failed completion', () => completionOf(videoId));
      assert.equal(c.data.outcome, 'failed');
      assert.equal(c.data.problem?.type, 'model-error');
      assert.match(c.data.problem?.detail ?? '', /vision failed after 3 attempts: flaky 3/);
      assert.equal(c.data.attempts, 3);
    },
  );
  assert.deepEqual(attempts, [1, 2, 3]);
});

test('a generic error followed by success reports done, not failed', async () => {
  const videoId = `rs${randomBytes(3).toString('hex')}`;
  let calls = 0;
  await withWorker(
    async () => {
      if (++calls === 1) throw new Error('transient');
      return { outcome: 'done', output: visionOutput };
    },
    async () => {
      await queues.get(QUEUES.vision).add('vision', job(videoId), { jobId: stageJobId(videoId, 'vision'), attempts: 3, backoff: { type: 'fixed', delay: 20 } });
      const c = await waitFor('done completion', () => completionOf(videoId));
      assert.equal(c.data.outcome, 'done');
      assert.equal(c.data.attempts, 2);
    },
  );
  assert.equal(calls, 2);
});

test('an output that breaks its stage contract is a retryable bug, reported as model-error on the last attempt', async () => {
  const videoId = `co${randomBytes(3).toString('hex')}`;
  let calls = 0;
  await withWorker(
    async () => {
      calls++;
      // `frames` must be a count: a handler reporting anything else is our bug, not the user's file
      return { outcome: 'done', output: { ...visionOutput, frames: 'three' } };
    },
    async () => {
      await queues.get(QUEUES.vision).add('vision', job(videoId), { jobId: stageJobId(videoId, 'vision'), attempts: 2, backoff: { type: 'fixed', delay: 20 } });
      const c = await waitFor('failed completion', () => completionOf(videoId));
      assert.equal(c.data.outcome, 'failed');
      assert.equal(c.data.problem?.type, 'model-error');
      assert.match(
        c.data.problem?.detail ?? '',
        /vision failed after 2 attempts: the vision stage's output does not match its contract: frames: Expected number/,
      );
      assert.equal(c.data.output, undefined);
    },
  );
  assert.equal(calls, 2, 'a contract violation is retried like any other bug');
});

test('an undeclared output field is caught too (the output schemas are strict at the top level)', async () => {
  const videoId = `cu${randomBytes(3).toString('hex')}`;
  await withWorker(
    async () => ({ outcome: 'done', output: { ...visionOutput, extra: 1 } }),
    async () => {
      await queues.get(QUEUES.vision).add('vision', job(videoId), { jobId: stageJobId(videoId, 'vision'), attempts: 1 });
      const c = await waitFor('failed completion', () => completionOf(videoId));
      assert.equal(c.data.outcome, 'failed');
      assert.match(c.data.problem?.detail ?? '', /Unrecognized key/);
    },
  );
});

test('a run reports "started" only once it has lasted STARTED_REPORT_DELAY_MS (default 250 ms); its completion carries its start and attempt', async () => {
  assert.equal(STARTED_REPORT_DELAY_MS, 250);
  const fast = `fast${randomBytes(3).toString('hex')}`;
  const slow = `slow${randomBytes(3).toString('hex')}`;
  const startedOf = (videoId: string) => completions().getJob(startedJobId(videoId, 'vision', 1));
  await withWorker(
    async (data) => {
      if (data.videoId === slow) await new Promise((r) => setTimeout(r, STARTED_REPORT_DELAY_MS + 300));
      return { outcome: 'done', output: visionOutput };
    },
    async () => {
      const before = Date.now();
      await queues.get(QUEUES.vision).add('vision', job(fast), { jobId: stageJobId(fast, 'vision') });
      const done = await waitFor('the fast completion', () => completionOf(fast));
      assert.equal(done.data.outcome, 'done');
      assert.equal(done.data.attempts, 1);
      assert.ok(done.data.startedAt >= before && done.data.startedAt <= done.data.finishedAt, JSON.stringify(done.data));
      await new Promise((r) => setTimeout(r, STARTED_REPORT_DELAY_MS + 100));
      assert.equal(await startedOf(fast), undefined, 'a run shorter than the delay sends no started report');

      await queues.get(QUEUES.vision).add('vision', job(slow), { jobId: stageJobId(slow, 'vision') });
      await waitFor('the slow completion', () => completionOf(slow));
      const started = await startedOf(slow);
      assert.ok(started, 'a run longer than the delay reports started');
      assert.equal(started.data.outcome, 'started');
      assert.ok(started.timestamp < (await completionOf(slow))!.timestamp, 'queued before its completion');
    },
  );
});
