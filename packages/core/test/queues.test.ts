import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { JOB_OPTIONS, QUEUES, Queues, completionJobId, redisConnection, stageJobId } from '../src/queues';
import { STAGES } from '../src/labels';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `oat${randomBytes(4).toString('hex')}`;
const connection = redisConnection(REDIS_URL);
const queues = new Queues(connection, prefix);

after(async () => {
  for (const name of Object.values(QUEUES)) await queues.get(name).obliterate({ force: true });
  await queues.close();
  await connection.quit();
});

test('stage and completion job ids are deterministic and contain no ":"', () => {
  const id = 'a7f1c1de-1234-4abc-8def-0123456789ab';
  // The same id arriving as a different string (e.g. parsed back out of a job payload).
  const sameId = JSON.parse(JSON.stringify({ id })).id as string;
  const seen = new Set<string>();
  for (const s of STAGES) {
    // Deterministic: a pure function of (video, stage) with this exact spelling, so a re-dispatch
    // after a crash or a reconciler pass lands on the same BullMQ job instead of a second one.
    assert.equal(stageJobId(id, s), `${id}.${s}`);
    assert.equal(completionJobId(id, s), `${id}.${s}.completion`);
    assert.equal(stageJobId(sameId, s), stageJobId(id, s));
    assert.equal(completionJobId(sameId, s), completionJobId(id, s));
    assert.ok(!stageJobId(id, s).includes(':'), stageJobId(id, s));
    assert.ok(!completionJobId(id, s).includes(':'), completionJobId(id, s));
    seen.add(stageJobId(id, s)).add(completionJobId(id, s));
  }
  assert.equal(seen.size, 2 * STAGES.length, 'no two stages (or a stage and a completion) share an id');
  assert.notEqual(stageJobId('b7f1c1de-1234-4abc-8def-0123456789ab', 'media'), stageJobId(id, 'media'), 'other videos get other ids');
});

test('every queue has bounded retention and explicit attempts', () => {
  for (const name of Object.values(QUEUES)) {
    const o = JOB_OPTIONS[name];
    assert.ok((o.attempts ?? 0) >= 1, name);
    assert.ok(o.removeOnComplete && typeof o.removeOnComplete === 'object', name);
    assert.ok(o.removeOnFail && typeof o.removeOnFail === 'object', name);
  }
});

test('adding the same stage job id twice creates one job in Redis', async () => {
  const q = queues.get(QUEUES.media);
  const id = stageJobId('vid-dup', 'media');
  const first = await q.add('media', { n: 1 }, { jobId: id });
  const second = await q.add('media', { n: 2 }, { jobId: id });
  assert.equal(first.id, id);
  assert.equal(second.id, id);
  const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
  assert.equal(counts.waiting + counts.active + counts.delayed + counts.prioritized, 1, JSON.stringify(counts));
  const stored = await q.getJob(id);
  assert.deepEqual(stored?.data, { n: 1 }, 'the second add must not overwrite the first');
  assert.equal(stored?.opts.attempts, JOB_OPTIONS.media.attempts, 'queue defaults apply');
});

test('BullMQ refuses the DESIGN spelling "<videoId>:<stage>" (why stageJobId uses ".")', async () => {
  await assert.rejects(queues.get(QUEUES.asr).add('asr', {}, { jobId: 'vid:asr' }));
});

test('the prefix isolates queues: keys live under it in Redis', async () => {
  await queues.get(QUEUES.text).add('text', {}, { jobId: 'iso-1' });
  const keys = await connection.keys(`${prefix}:text:*`);
  assert.ok(keys.length > 0);
  const depths = await queues.depths();
  assert.equal(depths.text.waiting, 1);
  assert.deepEqual(Object.keys(depths).sort(), Object.values(QUEUES).sort());
});
