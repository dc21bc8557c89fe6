import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { redisConnection } from '@omniaffect/core';
import { OTHER_KEY, problemOf, slugOf, startGateway, type Gateway } from './harness';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const UNKNOWN_VIDEO = '/v1/videos/00000000-0000-4000-8000-000000000000';

async function submitUrl(gw: Gateway, key?: string): Promise<Response> {
  return gw.api('/v1/videos', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ url: 'https://93.184.215.14/clip.mp4' }),
  });
}

describe('per-API-key rate limits (real Redis)', () => {
  const prefix = `gwtest-rl-${process.pid}-${Date.now()}`;
  const redis = redisConnection(REDIS_URL);
  let a: Gateway;
  let b: Gateway;
  before(async () => {
    // Two replicas sharing one Redis prefix, as a deployment's gateways do.
    const env = { QUEUE_PREFIX: prefix, RATE_LIMIT_REQUESTS_PER_MINUTE: '6', RATE_LIMIT_SUBMISSIONS_PER_MINUTE: '2' };
    a = await startGateway(env);
    b = await startGateway(env);
  });
  after(async () => {
    await Promise.all([a.close(), b.close()]);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  test('the limit holds across replicas; 429 rate-limited with Retry-After and RateLimit-* headers; per key; public routes not counted', async () => {
    const remaining: string[] = [];
    for (let i = 0; i < 6; i++) {
      const gw = i % 2 === 0 ? a : b;
      const res = await gw.api(UNKNOWN_VIDEO);
      assert.equal(res.status, 404, `request ${i + 1} is within the limit`);
      assert.equal(res.headers.get('ratelimit-limit'), '6');
      remaining.push(res.headers.get('ratelimit-remaining') ?? '');
      // Probes never count: they carry no key.
      assert.equal((await fetch(`${gw.base}/healthz`)).status, 200);
    }
    assert.deepEqual(remaining, ['5', '4', '3', '2', '1', '0'], 'both replicas count into one window');

    for (const gw of [a, b]) {
      const over = await gw.api(UNKNOWN_VIDEO);
      assert.equal(over.status, 429);
      const problem = await problemOf(over);
      assert.equal(slugOf(problem.type), 'rate-limited');
      const retryAfter = Number(over.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assert.equal(over.headers.get('ratelimit-remaining'), '0');
      assert.equal(Number(over.headers.get('ratelimit-reset')), retryAfter);
    }
    assert.equal(a.orch.gets + b.orch.gets, 6, 'refused requests never reach the orchestrator');

    // The counter in Redis expires with the window, so a quiet key recovers by itself.
    const keys = await redis.keys(`${prefix}:ratelimit:requests:*`);
    assert.equal(keys.length, 1);
    const ttl = await redis.pttl(keys[0]);
    assert.ok(ttl > 0 && ttl <= 60_000, `window expiry ${ttl} ms`);

    // Another key has its own budget.
    const other = await a.api(UNKNOWN_VIDEO, { headers: { authorization: `Bearer ${OTHER_KEY}` } });
    assert.equal(other.status, 404);
    assert.equal(other.headers.get('ratelimit-remaining'), '5');
  });

  test('submissions have their own, lower limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await submitUrl(i === 1 ? b : a, OTHER_KEY)).status);
    assert.deepEqual(statuses, [202, 202, 429]);
    const over = await submitUrl(a, OTHER_KEY);
    assert.equal(over.status, 429);
    assert.equal(slugOf((await problemOf(over)).type), 'rate-limited');
    assert.equal(over.headers.get('ratelimit-limit'), '2', 'the headers describe the bucket that refused');
    assert.ok(Number(over.headers.get('retry-after')) >= 1);
    // Reads still have budget left (1 + 4 counted of 6 for OTHER_KEY).
    assert.equal((await a.api(UNKNOWN_VIDEO, { headers: { authorization: `Bearer ${OTHER_KEY}` } })).status, 404);
  });
});

describe('rate limiting when Redis is down or stalls (fail open)', () => {
  test('nothing listening at REDIS_URL: requests go through, one warning is logged', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const gw = await startGateway({ REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_REQUESTS_PER_MINUTE: '1', RATE_LIMIT_SUBMISSIONS_PER_MINUTE: '1' });
    try {
      for (let i = 0; i < 4; i++) assert.equal((await gw.api(UNKNOWN_VIDEO)).status, 404, `request ${i + 1}`);
      assert.equal((await submitUrl(gw)).status, 202);
      assert.equal((await submitUrl(gw)).status, 202);
      const warnings = gw.logs.filter((l) => l.includes('fail open'));
      assert.equal(warnings.length, 1, 'one warning per outage, not one per request');
      assert.match(warnings[0], /"level":"warn"/);
    } finally {
      await gw.close();
    }
  });

  test('a connected Redis that stops answering: requests go through after a short wait', async () => {
    // A TCP relay to the real Redis that can be frozen: the connection stays up, answers stop.
    let frozen = false;
    const relay = net.createServer((client) => {
      const upstream = net.connect(Number(new URL(REDIS_URL).port || 6379), new URL(REDIS_URL).hostname);
      client.on('data', (d) => {
        if (!frozen) upstream.write(d);
      });
      upstream.on('data', (d) => client.write(d));
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const port = (relay.address() as net.AddressInfo).port;
    const gw = await startGateway({ REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_REQUESTS_PER_MINUTE: '2' });
    try {
      assert.equal((await gw.api(UNKNOWN_VIDEO)).status, 404);
      assert.equal((await gw.api(UNKNOWN_VIDEO)).status, 404);
      assert.equal((await gw.api(UNKNOWN_VIDEO)).status, 429, 'the limit applies while Redis answers');
      frozen = true;
      const started = Date.now();
      assert.equal((await gw.api(UNKNOWN_VIDEO)).status, 404, 'a stalled Redis lets the request through');
      assert.ok(Date.now() - started < 2000, 'after a bounded wait');
      assert.ok(gw.logs.some((l) => l.includes('fail open') && l.includes('did not answer')));
    } finally {
      await gw.close();
      relay.close();
    }
  });
});

describe('caps on open event streams', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({ SSE_MAX_STREAMS_PER_KEY: '2', SSE_MAX_STREAMS: '3' });
  });
  after(() => gw.close());

  async function open(id: string, key?: string): Promise<{ res: Response; abort: () => void }> {
    const ctl = new AbortController();
    const res = await gw.api(`/v1/videos/${id}/events`, { signal: ctl.signal, headers: key ? { authorization: `Bearer ${key}` } : {} });
    return { res, abort: () => ctl.abort() };
  }

  test('per key and overall: 429 beyond the cap, and a slot is freed when its client disconnects', async () => {
    const mine = ((await (await submitUrl(gw)).json()) as { id: string }).id;
    const theirs = ((await (await submitUrl(gw, OTHER_KEY)).json()) as { id: string }).id;

    // Unknown videos answer 404 and hold no slot afterwards.
    for (let i = 0; i < 4; i++) assert.equal((await open('00000000-0000-4000-8000-000000000000')).res.status, 404);

    const first = await open(mine);
    const second = await open(mine);
    assert.equal(first.res.status, 200);
    assert.equal(second.res.status, 200);
    const third = await open(mine);
    assert.equal(third.res.status, 429, 'per-key cap');
    const p = await problemOf(third.res);
    assert.equal(slugOf(p.type), 'rate-limited');
    assert.match(p.detail ?? '', /per API key/);
    assert.ok(Number(third.res.headers.get('retry-after')) >= 1);

    const otherFirst = await open(theirs, OTHER_KEY);
    assert.equal(otherFirst.res.status, 200, 'another key has its own per-key budget');
    const otherSecond = await open(theirs, OTHER_KEY);
    assert.equal(otherSecond.res.status, 429, 'the overall cap (3) is reached');
    assert.match((await problemOf(otherSecond.res)).detail ?? '', /this gateway/);

    // The client goes away: its slot comes back without waiting for the video to finish.
    first.abort();
    let again: Response | null = null;
    for (let i = 0; i < 50; i++) {
      const attempt = await open(mine);
      if (attempt.res.status === 200) {
        again = attempt.res;
        second.abort();
        attempt.abort();
        break;
      }
      await attempt.res.body?.cancel();
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(again, 'a freed slot can be taken again');
    otherFirst.abort();
  });
});
