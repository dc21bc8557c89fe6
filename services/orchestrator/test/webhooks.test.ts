import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Job } from 'bullmq';
import {
  QUEUES,
  WEBHOOK_RETRY_DELAYS_SEC,
  callbackSecretFor,
  newWebhookSecret,
  verifyWebhook,
  withTransaction,
  type Db,
  type WebhookJob,
} from '@omniaffect/core';
import type { VideoRow } from '../src/repository';
import { WebhookService, type WebhookConfig } from '../src/webhooks';
import { testInfra } from './support';

const infra = testInfra('webhooks-test');
const { queues, log, metrics } = infra;
const SCALE = 0.001;
let db: Db;

interface Received {
  headers: Record<string, string>;
  body: string;
}
let server: http.Server;
let baseUrl: string;
const received: Received[] = [];
let answer = 204;

before(async () => {
  db = await infra.setup();
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = String(v);
      received.push({ headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await infra.teardown();
});

const service = (cfg: Partial<WebhookConfig> = {}) =>
  new WebhookService(db, queues, { allowPrivate: true, callbackSecret: null, retryScale: SCALE, timeoutMs: 2000, ...cfg }, log, metrics);

/** A terminal video with its delivery rows, written the way the orchestrator writes them. */
async function terminalVideo(svc: WebhookService, owner: string, status: 'succeeded' | 'failed', callbackUrl: string | null = null): Promise<string> {
  const id = randomUUID();
  await db.query(`INSERT INTO videos (id, owner, status, source_kind, callback_url) VALUES ($1, $2, $3, 'upload', $4)`, [id, owner, status, callbackUrl]);
  const video = (await db.query<VideoRow>('SELECT * FROM videos WHERE id = $1', [id])).rows[0];
  await withTransaction(db, (c) => svc.scheduleForVideo(c, video));
  await svc.enqueuePendingForVideo(id);
  return id;
}

const deliveryRows = async (videoId: string) =>
  (
    await db.query<{
      id: string;
      status: string;
      attempts: number;
      last_status: number | null;
      last_error: string | null;
      next_attempt_at: Date | null;
      payload: unknown;
    }>('SELECT * FROM webhook_deliveries WHERE video_id = $1', [videoId])
  ).rows;
const webhookJob = (id: string) => queues.get(QUEUES.webhooks).getJob(id) as Promise<Job<WebhookJob> | undefined>;

test('create validates events and returns a whsec_ secret once', async () => {
  const svc = service();
  const w = await svc.create('o-create', `${baseUrl}/h`, []);
  assert.match(w.secret ?? '', /^whsec_/);
  assert.deepEqual(w.events, ['video.succeeded', 'video.failed']);
  const listed = await svc.list('o-create');
  assert.equal(listed.length, 1);
  assert.equal(listed[0].secret, undefined);
  await assert.rejects(svc.create('o-create', `${baseUrl}/h`, ['video.exploded']), (e: { slug?: string }) => e.slug === 'validation');
  await assert.rejects(svc.create('o-create', 'ftp://example.com/', []), (e: { slug?: string }) => e.slug === 'url-not-allowed');
});

test('only subscriptions for the event get a delivery row', async () => {
  const svc = service();
  await svc.create('o-events', `${baseUrl}/only-failed`, ['video.failed']);
  const id = await terminalVideo(svc, 'o-events', 'succeeded');
  assert.deepEqual(await deliveryRows(id), []);
  const id2 = await terminalVideo(svc, 'o-events', 'failed');
  assert.equal((await deliveryRows(id2)).length, 1);
});

test('deliver signs the request so the receiver can verify it; the row succeeds', async () => {
  const svc = service();
  const sub = await svc.create('o-sign', `${baseUrl}/signed`, ['video.succeeded']);
  const videoId = await terminalVideo(svc, 'o-sign', 'succeeded');
  const [row] = await deliveryRows(videoId);
  const job = await webhookJob(`${row.id}.0`);
  assert.ok(job, 'the first attempt is enqueued with id <delivery>.0');
  received.length = 0;
  answer = 204;
  await svc.deliver(job);
  assert.equal(received.length, 1);
  const got = received[0];
  assert.equal(got.headers['webhook-id'], row.id);
  assert.equal(verifyWebhook(sub.secret!, got.headers, got.body), true, 'signature verifies with the subscription secret');
  assert.equal(verifyWebhook(newWebhookSecret(), got.headers, got.body), false);
  const payload = JSON.parse(got.body) as { type: string; data: { id: string; status: string; links: { self: string } } };
  assert.equal(payload.type, 'video.succeeded');
  assert.equal(payload.data.id, videoId);
  assert.equal(payload.data.links.self, `/v1/videos/${videoId}`);
  const [after1] = await deliveryRows(videoId);
  assert.equal(after1.status, 'succeeded');
  assert.equal(after1.attempts, 1);
  assert.equal(after1.last_status, 204);
  assert.equal(after1.next_attempt_at, null);
  // A redelivered job for a finished delivery sends nothing.
  await svc.deliver(job);
  assert.equal(received.length, 1);
  const docs = await svc.deliveries('o-sign', sub.id);
  assert.equal(docs[0].status, 'succeeded');
});

test('5xx answers are retried on the scaled schedule with a stable webhook-id, then the delivery is marked failed', async () => {
  const svc = service();
  const sub = await svc.create('o-retry', `${baseUrl}/down`, ['video.failed']);
  const videoId = await terminalVideo(svc, 'o-retry', 'failed');
  const [row] = await deliveryRows(videoId);
  received.length = 0;
  answer = 503;
  const attempts = WEBHOOK_RETRY_DELAYS_SEC.length;
  for (let n = 0; n < attempts; n++) {
    const job = await webhookJob(`${row.id}.${n}`);
    assert.ok(job, `attempt ${n} enqueued`);
    if (n > 0) {
      const base = WEBHOOK_RETRY_DELAYS_SEC[n] * 1000 * SCALE;
      const delay = job.opts.delay ?? 0;
      assert.ok(delay >= Math.floor(base * 0.8) && delay <= Math.ceil(base * 1.2), `attempt ${n}: delay ${delay} outside ${base} ±20 %`);
    }
    await svc.deliver(job);
    const [r] = await deliveryRows(videoId);
    assert.equal(r.attempts, n + 1);
    assert.equal(r.last_status, 503);
    assert.equal(r.status, n + 1 < attempts ? 'pending' : 'failed', `after attempt ${n}`);
  }
  assert.equal(received.length, attempts);
  assert.equal(new Set(received.map((r) => r.headers['webhook-id'])).size, 1);
  for (const r of received) assert.equal(verifyWebhook(sub.secret!, r.headers, r.body), true);
  assert.equal(await webhookJob(`${row.id}.${attempts}`), undefined, 'no attempt after the schedule ran out');
  const [final] = await deliveryRows(videoId);
  assert.equal(final.next_attempt_at, null);
  assert.equal((await svc.deliveries('o-retry', sub.id))[0].status, 'failed');
});

test('a recovering receiver: 503 then 200 succeeds on the second attempt', async () => {
  const svc = service();
  await svc.create('o-recover', `${baseUrl}/flaky`, ['video.succeeded']);
  const videoId = await terminalVideo(svc, 'o-recover', 'succeeded');
  const [row] = await deliveryRows(videoId);
  answer = 503;
  await svc.deliver((await webhookJob(`${row.id}.0`))!);
  answer = 200;
  await svc.deliver((await webhookJob(`${row.id}.1`))!);
  const [r] = await deliveryRows(videoId);
  assert.equal(r.status, 'succeeded');
  assert.equal(r.attempts, 2);
});

test('a target the URL guard refuses fails at once: no retries for a day, nothing reaches the receiver', async () => {
  // Changed with issue #7: such a delivery used to stay pending and retry on the whole schedule.
  const strict = service({ allowPrivate: false });
  // a literal private address is refused when the subscription is created...
  await assert.rejects(strict.create('o-private', `${baseUrl}/private`, ['video.succeeded']), (e: { slug?: string }) => e.slug === 'url-not-allowed');
  // ...a name is judged by what it resolves to at delivery time: localhost is loopback
  const port = new URL(baseUrl).port;
  await strict.create('o-private', `http://localhost:${port}/private`, ['video.succeeded']);
  const videoId = await terminalVideo(strict, 'o-private', 'succeeded');
  const [row] = await deliveryRows(videoId);
  received.length = 0;
  answer = 204;
  await strict.deliver((await webhookJob(`${row.id}.0`))!);
  assert.equal(received.length, 0);
  const [r] = await deliveryRows(videoId);
  assert.equal(r.status, 'failed', 'refused targets are not retried');
  assert.equal(r.attempts, 1);
  assert.equal(r.next_attempt_at, null);
  assert.match(r.last_error ?? '', /loopback|non-public address/);
  assert.equal(await webhookJob(`${row.id}.1`), undefined, 'no second attempt scheduled');
});

test('a delivery row whose URL can never be sent (bad scheme) fails at once', async () => {
  const svc = service({ allowPrivate: false, callbackSecret: newWebhookSecret() });
  // e.g. a callbackUrl accepted by an older gateway: the row exists, the URL guard refuses its scheme
  const videoId = await terminalVideo(svc, 'o-scheme', 'succeeded', 'file:///etc/passwd');
  const [row] = await deliveryRows(videoId);
  await svc.deliver((await webhookJob(`${row.id}.0`))!);
  const [r] = await deliveryRows(videoId);
  assert.equal(r.status, 'failed');
  assert.match(r.last_error ?? '', /scheme file: is not allowed/);
  assert.equal(await webhookJob(`${row.id}.1`), undefined);
});

test('a transient failure still retries (only refusals fail at once)', async () => {
  const svc = service({ allowPrivate: true, timeoutMs: 500 });
  // a port where nothing listens: connection refused now, maybe not in 5 s
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  await svc.create('o-transient', `http://127.0.0.1:${port}/h`, ['video.succeeded']);
  const videoId = await terminalVideo(svc, 'o-transient', 'succeeded');
  const [row] = await deliveryRows(videoId);
  await svc.deliver((await webhookJob(`${row.id}.0`))!);
  const [r] = await deliveryRows(videoId);
  assert.equal(r.status, 'pending');
  assert.ok(await webhookJob(`${row.id}.1`), 'next attempt scheduled');
});

test('an attempt that ends after its video was erased schedules nothing more', async () => {
  const svc = service();
  await svc.create('o-erased', `${baseUrl}/erased`, ['video.succeeded']);
  const videoId = await terminalVideo(svc, 'o-erased', 'succeeded');
  const [row] = await deliveryRows(videoId);
  const job = (await webhookJob(`${row.id}.0`))!;
  answer = 503;
  // the row disappears (erasure) while the attempt is out
  const onRequest = () => void db.query('DELETE FROM webhook_deliveries WHERE id = $1', [row.id]);
  server.once('request', onRequest);
  await svc.deliver(job);
  assert.equal(await webhookJob(`${row.id}.1`), undefined);
  answer = 204;
});

test("callbackUrl deliveries are signed with the owner's derived secret, and not sent without one", async () => {
  const callbackSecret = newWebhookSecret();
  const svc = service({ callbackSecret });
  const videoId = await terminalVideo(svc, 'o-cb', 'succeeded', `${baseUrl}/callback`);
  const [row] = await deliveryRows(videoId);
  received.length = 0;
  answer = 204;
  await svc.deliver((await webhookJob(`${row.id}.0`))!);
  assert.equal(received.length, 1);
  const mine = svc.callbackSecret('o-cb')!;
  assert.equal(mine, callbackSecretFor(callbackSecret, 'o-cb'));
  assert.equal(verifyWebhook(mine, received[0].headers, received[0].body), true);
  // Neither the operator's own secret nor another owner's verifies it: owners cannot forge each other's callbacks.
  assert.equal(verifyWebhook(callbackSecret, received[0].headers, received[0].body), false);
  assert.equal(verifyWebhook(svc.callbackSecret('o-someone-else')!, received[0].headers, received[0].body), false);

  const unsigned = service({ callbackSecret: null });
  const v2 = await terminalVideo(unsigned, 'o-cb2', 'succeeded', `${baseUrl}/callback`);
  const [row2] = await deliveryRows(v2);
  await unsigned.deliver((await webhookJob(`${row2.id}.0`))!);
  assert.equal(received.length, 1, 'an unsigned delivery must not be sent');
  const [after2] = await deliveryRows(v2);
  assert.match(after2.last_error ?? '', /no signing secret/);
  assert.equal(after2.status, 'failed', 'no retries: without a secret none could succeed');
  assert.equal(await webhookJob(`${row2.id}.1`), undefined);
});

test('a replayed terminal event re-enqueues a pending delivery with its remaining backoff, not at once', async () => {
  const svc = service();
  await svc.create('o-replay', `${baseUrl}/replay`, ['video.succeeded']);
  const videoId = await terminalVideo(svc, 'o-replay', 'succeeded');
  const [row] = await deliveryRows(videoId);
  // attempt 1 was made and failed; attempt 2 is due in ~60 s, but its job was not added yet
  await db.query(`UPDATE webhook_deliveries SET attempts = 1, next_attempt_at = now() + interval '60 seconds' WHERE id = $1`, [row.id]);
  await svc.enqueuePendingForVideo(videoId);
  const job = (await webhookJob(`${row.id}.1`))!;
  assert.equal(await job.getState(), 'delayed');
  assert.ok(job.opts.delay! > 50_000 && job.opts.delay! <= 60_000, `delay ${job.opts.delay}`);
  await job.remove();
});

test('enqueueDue re-enqueues pending deliveries whose job vanished', async () => {
  const svc = service();
  await svc.create('o-due', `${baseUrl}/due`, ['video.succeeded']);
  const videoId = await terminalVideo(svc, 'o-due', 'succeeded');
  const [row] = await deliveryRows(videoId);
  await (await webhookJob(`${row.id}.0`))!.remove();
  await db.query(`UPDATE webhook_deliveries SET next_attempt_at = now() - interval '5 minutes' WHERE id = $1`, [row.id]);
  assert.ok((await svc.enqueueDue()) >= 1);
  assert.ok(await webhookJob(`${row.id}.0`));
});
