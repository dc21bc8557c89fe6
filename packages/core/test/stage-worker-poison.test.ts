import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import type { Job } from 'bullmq';
import { QUEUES, Queues, completionJobId, redisConnection, stageJobId, type StageCompletion, type StageJob } from '../src/queues';
import { crashCounterKey } from '../src/stage-worker';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `oap${randomBytes(4).toString('hex')}`;
const connection = redisConnection(REDIS_URL);
const queues = new Queues(connection, prefix);

after(async () => {
  for (const name of Object.values(QUEUES)) await queues.get(name).obliterate({ force: true });
  await queues.close();
  await connection.quit();
});

function startWorker(poison: string, maxCrashes: number): { child: ChildProcess; exited: Promise<number | null>; out: () => string } {
  const child = spawn(process.execPath, [path.join(__dirname, 'crash-worker.js')], {
    env: { ...process.env, REDIS_URL, QUEUE_PREFIX: prefix, POISON_VIDEO: poison, MAX_JOB_CRASHES: String(maxCrashes) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, out: () => out };
}

/**
 * Whether the job's crash counter is gone within a few seconds: a worker clears it just after it
 * reports the completion, so a test that has seen the completion may look a moment too early.
 */
async function counterCleared(jobId: string): Promise<boolean> {
  const key = crashCounterKey(prefix, QUEUES.vision, jobId);
  for (let i = 0; i < 50; i++) {
    if ((await connection.exists(key)) === 0) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const job = (videoId: string): StageJob => ({ videoId, stage: 'vision', language: 'auto', inputs: {}, enqueuedAt: Date.now() });
const completionOf = (videoId: string) =>
  queues.get(QUEUES.completions).getJob(completionJobId(videoId, 'vision')) as Promise<Job<StageCompletion> | undefined>;

test('a job that kills its worker fails after MAX_JOB_CRASHES deaths, with the reason in its completion', async () => {
  const maxCrashes = 2;
  const poison = `poison${randomBytes(3).toString('hex')}`;
  const healthy = `healthy${randomBytes(3).toString('hex')}`;
  await queues.get(QUEUES.vision).add('vision', job(poison), { jobId: stageJobId(poison, 'vision') });

  let deaths = 0;
  let survivor: ReturnType<typeof startWorker> | null = null;
  const deadline = Date.now() + 60_000;
  // One worker at a time, as replicas taking the job over one after another would.
  while (Date.now() < deadline && !survivor) {
    const w = startWorker(poison, maxCrashes);
    const outcome = await Promise.race([
      w.exited.then((code) => ({ died: code })),
      (async () => {
        for (;;) {
          const c = await completionOf(poison);
          if (c) return { completion: c };
          await new Promise((r) => setTimeout(r, 100));
        }
      })(),
    ]);
    if ('died' in outcome) {
      assert.equal(outcome.died, 70, w.out());
      assert.match(w.out(), new RegExp(`dying on ${poison}`));
      deaths++;
      assert.ok(deaths <= maxCrashes, `the job took down ${deaths} workers; the bound is ${maxCrashes}`);
    } else {
      survivor = w;
    }
  }
  assert.ok(survivor, 'a worker should have failed the job instead of dying');
  try {
    assert.equal(deaths, maxCrashes, 'exactly N workers died before the job was failed');
    const c = await completionOf(poison);
    assert.equal(c!.data.outcome, 'failed');
    assert.equal(c!.data.problem?.type, 'model-error');
    assert.match(c!.data.problem?.detail ?? '', /a job that crashed 2 workers/);
    const bull = await queues.get(QUEUES.vision).getJob(stageJobId(poison, 'vision'));
    assert.equal(await bull!.getState(), 'failed');
    assert.match(bull!.failedReason, /a job that crashed 2 workers/);
    assert.ok(await counterCleared(stageJobId(poison, 'vision')), 'counter cleared');
    assert.equal(survivor.child.exitCode, null, 'the worker that failed the job is still running');

    // The surviving worker keeps serving, and a healthy job leaves no counter behind.
    await queues.get(QUEUES.vision).add('vision', job(healthy), { jobId: stageJobId(healthy, 'vision') });
    for (let i = 0; i < 200 && !(await completionOf(healthy)); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await completionOf(healthy))?.data.outcome, 'done');
    assert.ok(await counterCleared(stageJobId(healthy, 'vision')), 'no counter left by a healthy job');
  } finally {
    survivor.child.kill('SIGTERM');
    await survivor.exited;
  }
});
