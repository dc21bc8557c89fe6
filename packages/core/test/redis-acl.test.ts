import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Job } from 'bullmq';
import { createLogger } from '../src/logger';
import { ServiceMetrics } from '../src/metrics';
import { QUEUES, Queues, completionJobId, redisConnection, stageJobId, type StageCompletion } from '../src/queues';
import { runStageWorker } from '../src/stage-worker';

/**
 * REDIS_URL may carry an ACL user and password (redis://user:password@host:6379/0) and use TLS
 * (rediss://). Every Redis client in the services comes from redisConnection(), BullMQ's workers
 * from its duplicate(): this proves both keep the credentials, against a real ACL user.
 */
const ADMIN_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const admin = redisConnection(ADMIN_URL);
const user = `oa_acl_${randomBytes(4).toString('hex')}`;
const password = randomBytes(18).toString('base64url');
const prefix = `oaacl${randomBytes(3).toString('hex')}`;
const hostPort = new URL(ADMIN_URL).host;
const urlFor = (pw: string) => `redis://${user}:${encodeURIComponent(pw)}@${hostPort}`;

before(async () => {
  // Only this stack's keys, all commands: what a deployment sharing Redis would grant OmniAffect.
  await admin.call('ACL', 'SETUSER', user, 'reset', 'on', `>${password}`, `~${prefix}:*`, '&*', '+@all');
});
after(async () => {
  await admin.call('ACL', 'DELUSER', user);
  admin.disconnect();
});

test('an ACL user from REDIS_URL runs BullMQ end to end (queue, worker duplicate, completion)', async () => {
  const connection = redisConnection(urlFor(password));
  const queues = new Queues(connection, prefix, { lockDurationMs: 5000, stalledIntervalMs: 1000 });
  try {
    assert.equal(await connection.call('ACL', 'WHOAMI'), user);
    const videoId = `acl${randomBytes(3).toString('hex')}`;
    const worker = runStageWorker({
      queues,
      queue: QUEUES.vision,
      stage: 'vision',
      concurrency: 1,
      log: createLogger('acl-test', 'silent'),
      metrics: new ServiceMetrics('acl-test'),
      // a vision output that meets its contract (runStageWorker checks it before reporting)
      handler: async () => ({ outcome: 'done', output: { frames: 0, dim: 0, model: { name: 'acl' } } }),
    });
    try {
      await queues
        .get(QUEUES.vision)
        .add('vision', { videoId, stage: 'vision', language: 'auto', inputs: {}, enqueuedAt: Date.now() }, { jobId: stageJobId(videoId, 'vision') });
      let c: Job<StageCompletion> | undefined;
      for (let i = 0; i < 200 && !c; i++) {
        c = (await queues.get(QUEUES.completions).getJob(completionJobId(videoId, 'vision'))) as Job<StageCompletion> | undefined;
        if (!c) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(c?.data.outcome, 'done');
      assert.deepEqual(c?.data.output, { frames: 0, dim: 0, model: { name: 'acl' } });
    } finally {
      await worker.close();
    }
    // The ACL is real: keys outside the prefix are refused for this user.
    await assert.rejects(connection.set('not-our-prefix:x', '1'), /NOPERM/);
    for (const name of Object.values(QUEUES)) await queues.get(name).obliterate({ force: true });
  } finally {
    await queues.close();
    connection.disconnect();
  }
});

test('a wrong password is refused by Redis and never becomes ready', async () => {
  const wrong = redisConnection(urlFor(`${password}x`));
  try {
    const err = await new Promise<Error>((resolve) => wrong.once('error', resolve));
    assert.match(err.message, /WRONGPASS/);
    assert.notEqual(wrong.status, 'ready');
  } finally {
    wrong.disconnect();
  }
});

test('rediss:// selects TLS, and duplicates (BullMQ workers) keep TLS and credentials', () => {
  const tls = redisConnection(`rediss://${user}:secret@127.0.0.1:1/0`);
  try {
    tls.on('error', () => undefined); // nothing listens on port 1; only the options matter here
    assert.ok(tls.options.tls, 'TLS options are set for rediss://');
    assert.equal(tls.options.username, user);
    assert.equal(tls.options.password, 'secret');
    const dup = tls.duplicate();
    dup.on('error', () => undefined);
    assert.ok(dup.options.tls);
    assert.equal(dup.options.password, 'secret');
    dup.disconnect();
  } finally {
    tls.disconnect();
  }
});
