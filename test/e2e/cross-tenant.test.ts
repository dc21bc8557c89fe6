import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GatewayClient } from '@omniaffect/cli';
import type { AnalysisResult, VideoDocument } from '@omniaffect/core';
import { api, problemSlug, sleep, table, type ApiReply } from '../support/api';
import { audioOnly, speechVideo } from '../support/media-fixtures';
import { startTestStack, type TestStack } from '../support/stack-fixture';
import { startWebhookReceiver } from '../support/webhook-receiver';

/**
 * Tenant isolation through the public API: a second API key (tenant B) cannot read, delete, stream,
 * fetch the result / report / features of, or see the webhooks and deliveries of the first key's
 * (tenant A's) videos and webhooks. Every attempt answers 404 `not-found` — the same answer as for an
 * id that does not exist, so B cannot even learn that A's ids exist — and A's data is untouched.
 */
describe('cross-tenant isolation', { timeout: 600_000 }, () => {
  let s: TestStack;
  let a: GatewayClient;
  let receiverA: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let receiverB: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const media = mkdtempSync(path.join(os.tmpdir(), 'oa-tenant-'));
  let doneId = ''; // A's finished video
  let liveId = ''; // A's video still in flight when B probes it (or finished by then: checked either way)
  let hookA = '';
  let hookB = '';
  let resultBefore: AnalysisResult;
  let featuresBefore: number;
  let docBefore: VideoDocument;
  const rows: (string | number)[][] = [];
  const started = Date.now();

  before(async () => {
    s = await startTestStack();
    a = s.client;
    receiverA = await startWebhookReceiver();
    receiverB = await startWebhookReceiver();
    const ha = await api(s.stack.gatewayUrl, s.apiKey, 'POST', '/v1/webhooks', { json: { url: receiverA.url } });
    assert.equal(ha.status, 201, ha.text);
    hookA = (ha.json as { id: string }).id;
    const file = speechVideo(media, 3);
    doneId = (await a.submitFile(file, { metadata: { tenant: 'A', secretNote: 'only-for-A' }, idempotencyKey: 'shared-key-1' })).id;
    const done = await a.waitForTerminal(doneId, 180_000);
    assert.equal(done.status, 'succeeded', `${JSON.stringify(done.error)}\n${s.logs()}`);
    resultBefore = await a.result<AnalysisResult>(doneId);
    featuresBefore = (await a.features(doneId)).length;
    assert.ok(featuresBefore > 0, 'A has features to protect');
    docBefore = await a.status(doneId);
    // A's delivery for the finished video has arrived, so the delivery log has a row to protect.
    for (let i = 0; i < 300 && !receiverA.received.some((r) => r.body.includes(doneId)); i++) await sleep(100);
    assert.ok(
      receiverA.received.some((r) => r.body.includes(doneId)),
      "A's webhook delivery arrived",
    );
    liveId = (await a.submitFile(speechVideo(media, 8))).id;
  });

  after(async () => {
    await receiverA?.close();
    await receiverB?.close();
    if (process.env.E2E_SHOW_LOGS) console.log(s?.logs());
    await s?.teardown();
    console.log(`cross-tenant: ${rows.length} cross-tenant requests checked\n${table(['request by B', 'target', 'expected', 'got'], rows)}`);
    console.log(`cross-tenant wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  /** B's request for A's object, and the same request for an id that does not exist: both 404 not-found, same shape. */
  async function assertHidden(method: string, route: (id: string) => string, realId: string, fakeId: string, what: string): Promise<void> {
    const real = await api(s.stack.gatewayUrl, s.otherApiKey, method, route(realId), { timeoutMs: 10_000 });
    const fake = await api(s.stack.gatewayUrl, s.otherApiKey, method, route(fakeId), { timeoutMs: 10_000 });
    rows.push([`${method} ${route(':id')}`, what, '404 not-found', `${real.status} ${problemSlug(real)}`]);
    assert.equal(real.status, 404, `${method} ${route(realId)} by B: ${real.status} ${real.text.slice(0, 300)}`);
    assert.equal(problemSlug(real), 'not-found', `${method} ${route(realId)} by B`);
    assert.ok(!real.text.includes('only-for-A') && !real.text.includes(receiverA.url), 'nothing of A in the answer');
    // no existence oracle: B sees for A's id exactly what it sees for an id nobody has
    assert.equal(fake.status, real.status, `${method} ${route(fakeId)}: a missing id answers like A's id`);
    assert.equal(problemSlug(fake), problemSlug(real));
    const strip = (r: ApiReply, id: string) => JSON.stringify({ ...(r.json as object), detail: undefined, instance: undefined }).replaceAll(id, '<id>');
    assert.equal(strip(real, realId), strip(fake, fakeId), 'same problem document apart from the id');
  }

  test("B cannot read, stream, or get the result, report or features of A's videos", async () => {
    for (const [label, id] of [
      ['finished video', doneId],
      ['video in flight', liveId],
    ] as const) {
      const fake = randomUUID();
      await assertHidden('GET', (x) => `/v1/videos/${x}`, id, fake, label);
      await assertHidden('GET', (x) => `/v1/videos/${x}/result`, id, fake, label);
      await assertHidden('GET', (x) => `/v1/videos/${x}/report`, id, fake, label);
      await assertHidden('GET', (x) => `/v1/videos/${x}/features`, id, fake, label);
      await assertHidden('GET', (x) => `/v1/videos/${x}/events`, id, fake, label);
    }
    // the event stream really is there for A (the 404 above is not a broken route)
    const ctl = new AbortController();
    const res = await fetch(`${s.stack.gatewayUrl}/v1/videos/${doneId}/events`, { headers: { authorization: `Bearer ${s.apiKey}` }, signal: ctl.signal });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type')?.split(';')[0], 'text/event-stream');
    const first = await res.body!.getReader().read();
    assert.match(Buffer.from(first.value ?? new Uint8Array()).toString(), /retry:|event: status/);
    ctl.abort();
  });

  test("B cannot delete A's videos (finished or in flight)", async () => {
    await assertHidden('DELETE', (x) => `/v1/videos/${x}`, doneId, randomUUID(), 'finished video');
    await assertHidden('DELETE', (x) => `/v1/videos/${x}`, liveId, randomUUID(), 'video in flight');
  });

  test("B cannot see, read the deliveries of, or delete A's webhooks; B's list holds only B's", async () => {
    const hb = await api(s.stack.gatewayUrl, s.otherApiKey, 'POST', '/v1/webhooks', { json: { url: receiverB.url } });
    assert.equal(hb.status, 201, hb.text);
    hookB = (hb.json as { id: string }).id;
    const listB = await api(s.stack.gatewayUrl, s.otherApiKey, 'GET', '/v1/webhooks');
    assert.equal(listB.status, 200);
    const idsB = (listB.json as { webhooks: { id: string }[] }).webhooks.map((w) => w.id);
    rows.push(['GET /v1/webhooks', "A's subscription", 'absent from the list', idsB.includes(hookA) ? 'LISTED' : 'absent']);
    assert.deepEqual(idsB, [hookB], "B lists exactly its own webhook, not A's");
    assert.ok(!listB.text.includes(receiverA.url), "A's target URL is not shown to B");
    const fake = `wh_${randomUUID().replace(/-/g, '')}`;
    await assertHidden('GET', (x) => `/v1/webhooks/${x}/deliveries`, hookA, fake, "A's subscription");
    await assertHidden('DELETE', (x) => `/v1/webhooks/${x}`, hookA, fake, "A's subscription");
    // and the other way round: B's webhook is as hidden from A
    const listA = await api(s.stack.gatewayUrl, s.apiKey, 'GET', '/v1/webhooks');
    assert.deepEqual(
      (listA.json as { webhooks: { id: string }[] }).webhooks.map((w) => w.id),
      [hookA],
    );
    const aOnB = await api(s.stack.gatewayUrl, s.apiKey, 'GET', `/v1/webhooks/${hookB}/deliveries`);
    assert.equal(aOnB.status, 404);
    assert.equal(problemSlug(aOnB), 'not-found');
  });

  test("B's Idempotency-Key equal to A's makes B a video of its own, and B's events never reach A's webhook", async () => {
    const b = new GatewayClient(s.stack.gatewayUrl, s.otherApiKey);
    const sub = await b.submitFile(audioOnly(media, 2), { idempotencyKey: 'shared-key-1' });
    assert.notEqual(sub.id, doneId, "the same Idempotency-Key under another key must not return A's video");
    rows.push(['POST /v1/videos (Idempotency-Key of A)', "A's video", 'a new video of B', sub.id === doneId ? "A's VIDEO" : 'a new video']);
    const doc = await b.waitForTerminal(sub.id, 180_000);
    assert.equal(doc.status, 'succeeded', JSON.stringify(doc.error));
    assert.ok(!JSON.stringify(doc).includes('only-for-A'));
    // B's own webhook gets B's video; A's receiver never sees it
    for (let i = 0; i < 300 && !receiverB.received.some((r) => r.body.includes(sub.id)); i++) await sleep(100);
    assert.equal(receiverB.received.filter((r) => r.body.includes(sub.id)).length >= 1, true, "B's delivery arrived at B");
    assert.equal(receiverA.received.filter((r) => r.body.includes(sub.id)).length, 0, "B's video was delivered to A's webhook");
    assert.equal(receiverB.received.filter((r) => r.body.includes(doneId) || r.body.includes(liveId)).length, 0, "A's videos were delivered to B's webhook");
    // A's videos are not visible to B via B's own resources either
    const delB = await api(s.stack.gatewayUrl, s.otherApiKey, 'GET', `/v1/webhooks/${hookB}/deliveries`);
    assert.equal(delB.status, 200);
    assert.ok(!delB.text.includes(doneId) && !delB.text.includes(liveId), "B's delivery log names A's videos");
  });

  test("afterwards A's videos, result, features, webhook and deliveries are untouched", async () => {
    const doc = await a.status(doneId);
    assert.equal(doc.status, 'succeeded');
    assert.deepEqual(doc.metadata, docBefore.metadata);
    assert.deepEqual(doc.metadata, { tenant: 'A', secretNote: 'only-for-A' });
    assert.deepEqual(await a.result<AnalysisResult>(doneId), resultBefore, "A's result changed");
    assert.equal((await a.features(doneId)).length, featuresBefore, "A's features changed");
    const report = await api(s.stack.gatewayUrl, s.apiKey, 'GET', `/v1/videos/${doneId}/report`);
    assert.equal(report.status, 200);
    assert.ok(existsSync(path.join(s.dir, 'artifacts', 'videos', doneId)), "A's artifacts are still on disk");
    assert.ok(readdirSync(path.join(s.dir, 'artifacts', 'videos', doneId)).length > 0);
    // the in-flight video was not canceled by B's DELETE: it finishes
    const live = await a.waitForTerminal(liveId, 180_000);
    assert.equal(live.status, 'succeeded', JSON.stringify(live.error));
    const listA = await api(s.stack.gatewayUrl, s.apiKey, 'GET', '/v1/webhooks');
    assert.deepEqual(
      (listA.json as { webhooks: { id: string; url: string }[] }).webhooks.map((w) => [w.id, w.url]),
      [[hookA, receiverA.url]],
    );
    for (let i = 0; i < 300 && !receiverA.received.some((r) => r.body.includes(liveId)); i++) await sleep(100);
    const deliveries = await api(s.stack.gatewayUrl, s.apiKey, 'GET', `/v1/webhooks/${hookA}/deliveries`);
    assert.equal(deliveries.status, 200);
    const dl = (deliveries.json as { deliveries: { videoId: string }[] }).deliveries;
    assert.deepEqual(dl.map((d) => d.videoId).sort(), [doneId, liveId].sort(), "A's delivery log holds exactly A's two videos");
    // one webhook-id per video at A's receiver
    for (const id of [doneId, liveId]) assert.equal(new Set(receiverA.received.filter((r) => r.body.includes(id)).map((r) => r.headers['webhook-id'])).size, 1);
  });
});
