import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { callbackSecretFor } from '@omniaffect/core';
import { CALLBACK_OPERATOR_SECRET, OTHER_KEY, problemOf, slugOf, startGateway, type Gateway } from './harness';

describe('/v1/webhooks', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  const create = (body: unknown, key?: string) =>
    gw.api('/v1/webhooks', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify(body),
    });

  test('create shows the secret once; list never does; delete removes; deliveries are listed', async () => {
    const res = await create({ url: 'https://example.com/hook', events: ['video.succeeded', 'video.failed'] });
    assert.equal(res.status, 201);
    const hook = (await res.json()) as { id: string; url: string; events: string[]; secret: string };
    assert.equal(hook.url, 'https://example.com/hook');
    assert.deepEqual(hook.events, ['video.succeeded', 'video.failed']);
    assert.match(hook.secret, /^whsec_[A-Za-z0-9+/=]+$/);
    assert.equal(res.headers.get('cache-control'), 'no-store');

    const list = await gw.api('/v1/webhooks');
    assert.equal(list.status, 200);
    const { webhooks } = (await list.json()) as { webhooks: Record<string, unknown>[] };
    assert.equal(webhooks.length, 1);
    assert.equal(webhooks[0].id, hook.id);
    assert.equal('secret' in webhooks[0], false, 'the list never carries the secret');

    const otherList = await gw.api('/v1/webhooks', { headers: { authorization: `Bearer ${OTHER_KEY}` } });
    assert.deepEqual(((await otherList.json()) as { webhooks: unknown[] }).webhooks, [], 'subscriptions are per API key');

    // A delivery that used up its retries, as the orchestrator's delivery log holds it.
    await gw.orch.sql(
      `INSERT INTO webhook_deliveries (id, webhook_id, target_url, video_id, event_type, payload, status, attempts, last_status, last_error)
       VALUES ('d-1', $1, 'https://example.com/hook', '00000000-0000-4000-8000-000000000001', 'video.succeeded', '{}', 'failed', 9, 500, 'HTTP 500')`,
      [hook.id],
    );
    const deliveries = await gw.api(`/v1/webhooks/${hook.id}/deliveries`);
    assert.equal(deliveries.status, 200);
    const log = (await deliveries.json()) as { deliveries: { id: string; attempts: number }[] };
    assert.deepEqual(
      log.deliveries.map((d) => [d.id, d.attempts]),
      [['d-1', 9]],
    );

    const del = await gw.api(`/v1/webhooks/${hook.id}`, { method: 'DELETE' });
    assert.equal(del.status, 204);
    assert.equal(await del.text(), '');
    const again = await gw.api(`/v1/webhooks/${hook.id}`, { method: 'DELETE' });
    assert.equal(again.status, 404);
    assert.equal(slugOf((await problemOf(again)).type), 'not-found');
  });

  test('events outside WEBHOOK_EVENTS, an empty list or a bad URL are refused', async () => {
    const bad = await create({ url: 'https://example.com/hook', events: ['video.started'] });
    assert.equal(bad.status, 400);
    assert.match((await problemOf(bad)).detail ?? '', /video\.started/);
    const empty = await create({ url: 'https://example.com/hook', events: [] });
    assert.equal(empty.status, 400);
    const scheme = await create({ url: 'ftp://example.com/hook', events: ['video.failed'] });
    assert.equal(scheme.status, 422);
    assert.equal(slugOf((await problemOf(scheme)).type), 'url-not-allowed');
    const list = (await (await gw.api('/v1/webhooks')).json()) as { webhooks: unknown[] };
    assert.deepEqual(list.webhooks, [], 'nothing reached the orchestrator');
  });

  test('missing events subscribe to all of them', async () => {
    const res = await create({ url: 'https://example.com/all' });
    assert.equal(res.status, 201);
    assert.deepEqual(((await res.json()) as { events: string[] }).events, ['video.succeeded', 'video.failed']);
  });

  test('GET /v1/callback-secret gives each API key its own secret, and says so when the operator set none', async () => {
    const mine = await gw.api('/v1/callback-secret');
    assert.equal(mine.status, 200);
    assert.equal(mine.headers.get('cache-control'), 'no-store', 'secrets are never cached');
    const a = ((await mine.json()) as { secret: string }).secret;
    assert.match(a, /^whsec_[A-Za-z0-9+/=]+$/);
    const theirs = await gw.api('/v1/callback-secret', { headers: { authorization: `Bearer ${OTHER_KEY}` } });
    const b = ((await theirs.json()) as { secret: string }).secret;
    assert.notEqual(a, b, 'another key gets another secret');
    assert.equal(((await (await gw.api('/v1/callback-secret')).json()) as { secret: string }).secret, a, 'stable across calls');
    const anon = await gw.api('/v1/callback-secret', { headers: { authorization: 'Bearer nope' } });
    assert.equal(anon.status, 401);

    // Derived from the operator's secret for this key's owner, as documented.
    const owner = gw.orch.requests.filter((r) => r.method === 'GetCallbackSecret').at(-1)!.request.owner as string;
    assert.equal(a, callbackSecretFor(CALLBACK_OPERATOR_SECRET, owner));
  });

  test('GET /v1/callback-secret says so when the operator set no OMNIAFFECT_CALLBACK_SECRET', async () => {
    const bare = await startGateway({}, { callbackSecret: null });
    try {
      const off = await bare.api('/v1/callback-secret');
      assert.equal(off.status, 501);
      const p = await problemOf(off);
      assert.equal(slugOf(p.type), 'not-configured');
      assert.match(p.detail ?? '', /OMNIAFFECT_CALLBACK_SECRET/);
    } finally {
      await bare.close();
    }
  });
});
