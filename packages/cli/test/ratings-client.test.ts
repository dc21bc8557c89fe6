import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { RatingsSummaryDocument } from '@omniaffect/core';
import { GatewayClient } from '../src/client';
import { fetchRatingsSummary } from '../src/research-eval';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

/** A stand-in gateway: records each request and answers with `reply(request)`. */
async function gateway(reply: (r: Seen) => { status: number; body: string; delayMs?: number }) {
  const seen: Seen[] = [];
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(r);
      const out = reply(r);
      const problem = out.status >= 400;
      setTimeout(
        () => res.writeHead(out.status, { 'content-type': problem ? 'application/problem+json' : 'application/json' }).end(out.body),
        out.delayMs ?? 0,
      );
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, seen, close: () => new Promise((r) => srv.close(r)) };
}

const SUMMARY: RatingsSummaryDocument = {
  models: [
    {
      fusionModel: 'policy@3',
      count: 2,
      clarity: { mean: 4.5, median: 4.5, histogram: [0, 0, 0, 1, 1] },
      relevance: { mean: 3, median: 3, histogram: [0, 1, 0, 1, 0] },
    },
  ],
};

test('rate, ratings, ratingsSummary and videos call the gateway routes with the key', async () => {
  const gw = await gateway((r) => {
    if (r.method === 'POST') return { status: 201, body: JSON.stringify({ id: 'r1', ...JSON.parse(r.body) }) };
    if (r.url.endsWith('/ratings')) return { status: 200, body: JSON.stringify({ ratings: [{ id: 'r1' }] }) };
    if (r.url.startsWith('/v1/ratings/summary')) return { status: 200, body: JSON.stringify(SUMMARY) };
    return { status: 200, body: JSON.stringify({ videos: [], next: null }) };
  });
  try {
    const c = new GatewayClient(gw.url, 'oa_key');
    const rated = await c.rate('vid-1', { clarity: 4, relevance: 2, comment: 'ok' });
    assert.deepEqual(rated, { id: 'r1', clarity: 4, relevance: 2, comment: 'ok' });
    assert.deepEqual(
      (await c.ratings('vid-1')).map((r) => r.id),
      ['r1'],
    );
    assert.deepEqual(await c.ratingsSummary(), SUMMARY);
    assert.deepEqual(await c.videos({ limit: 5, before: 'abc=' }), { videos: [], next: null });
    assert.deepEqual(
      gw.seen.map((r) => `${r.method} ${r.url}`),
      ['POST /v1/videos/vid-1/ratings', 'GET /v1/videos/vid-1/ratings', 'GET /v1/ratings/summary', 'GET /v1/videos?limit=5&before=abc%3D'],
    );
    assert.ok(gw.seen.every((r) => r.authorization === 'Bearer oa_key'));
    assert.equal(gw.seen[0].contentType, 'application/json');
  } finally {
    await gw.close();
  }
});

test('the evaluation report gets the ratings summary, and an unreachable, failing, malformed or empty gateway leaves it out (logged when it failed)', async () => {
  const ok = await gateway(() => ({ status: 200, body: JSON.stringify(SUMMARY) }));
  const empty = await gateway(() => ({ status: 200, body: JSON.stringify({ models: [] }) }));
  const broken = await gateway(() => ({ status: 503, body: JSON.stringify({ type: 'https://omniaffect.dev/problems/unavailable', detail: 'down' }) }));
  const shapeless = await gateway(() => ({ status: 200, body: JSON.stringify({ summary: 'none' }) }));
  try {
    const logs: string[] = [];
    const ui = { log: (l: string) => logs.push(l) };
    assert.deepEqual(await fetchRatingsSummary(new GatewayClient(ok.url, 'k'), ui), SUMMARY.models);
    assert.match(logs.pop()!, /reviewer ratings: 2 over 1 fusion model version/);
    assert.equal(await fetchRatingsSummary(new GatewayClient(empty.url, 'k'), ui), undefined, 'no ratings, no section');
    assert.equal(await fetchRatingsSummary(new GatewayClient(broken.url, 'k'), ui), undefined);
    assert.match(logs.pop()!, /reviewer ratings left out of the report: HTTP 503/);
    assert.equal(await fetchRatingsSummary(new GatewayClient(shapeless.url, 'k'), ui), undefined);
    assert.match(logs.pop()!, /no models list/);
    // a port nobody listens on (the server just closed)
    const gone = await gateway(() => ({ status: 200, body: '{}' }));
    await gone.close();
    assert.equal(await fetchRatingsSummary(new GatewayClient(gone.url, 'k'), ui), undefined);
    assert.match(logs.pop()!, /reviewer ratings left out of the report/);
  } finally {
    await Promise.all([ok.close(), empty.close(), broken.close(), shapeless.close()]);
  }
});
