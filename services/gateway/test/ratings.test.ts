import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AnalysisResult } from '@omniaffect/core';
import { OTHER_KEY, problemOf, sampleResult, slugOf, startGateway, uploadForm, type Gateway } from './harness';

interface Rating {
  id: string;
  videoId: string;
  clarity: number;
  relevance: number;
  comment: string | null;
  fusionModel: string;
  createdAt: string;
}
interface Scores {
  mean: number;
  median: number;
  histogram: number[];
}
interface Summary {
  models: { fusionModel: string; count: number; clarity: Scores; relevance: Scores }[];
}

describe('ratings: /v1/videos/:id/ratings and /v1/ratings/summary', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  const as = (key?: string): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {});

  async function submit(key?: string): Promise<string> {
    const res = await gw.api('/v1/videos', { method: 'POST', headers: as(key), body: uploadForm(new Uint8Array([1, 2, 3])) });
    assert.equal(res.status, 202);
    return ((await res.json()) as { id: string }).id;
  }

  /** A video of `key` that succeeded with a result made by the fusion model `name@version`. */
  async function succeeded(version: string | undefined, key?: string): Promise<string> {
    const id = await submit(key);
    const result: AnalysisResult = { ...sampleResult(id), models: { fusion: version ? { name: 'fusion-test', version } : { name: 'fusion-test' } } };
    await gw.orch.succeed(id, result);
    return id;
  }

  const rate = (id: string, body: unknown, key?: string) =>
    gw.api(`/v1/videos/${id}/ratings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...as(key) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const ratingsOf = async (id: string, key?: string): Promise<Rating[]> => {
    const res = await gw.api(`/v1/videos/${id}/ratings`, { headers: as(key) });
    assert.equal(res.status, 200);
    return ((await res.json()) as { ratings: Rating[] }).ratings;
  };

  test('a rating is stored with the fusion model version, listed newest first, and summarised per version', async () => {
    const v2 = await succeeded('2');
    const v3 = await succeeded('3');
    const res = await rate(v2, { clarity: 4, relevance: 5, comment: '清楚 — clear <b>enough</b>' });
    assert.equal(res.status, 201);
    const first = (await res.json()) as Rating;
    assert.deepEqual(Object.keys(first).sort(), ['clarity', 'comment', 'createdAt', 'fusionModel', 'id', 'relevance', 'videoId']);
    assert.match(first.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      { videoId: first.videoId, clarity: first.clarity, relevance: first.relevance, comment: first.comment, fusionModel: first.fusionModel },
      { videoId: v2, clarity: 4, relevance: 5, comment: '清楚 — clear <b>enough</b>', fusionModel: 'fusion-test@2' },
    );
    assert.ok(Math.abs(Date.parse(first.createdAt) - Date.now()) < 60_000);
    const second = (await (await rate(v2, { clarity: 1, relevance: 2 })).json()) as Rating;
    assert.equal(second.comment, null, 'no comment is null');
    const third = (await (await rate(v2, { clarity: 2, relevance: 2, comment: null })).json()) as Rating;
    await rate(v3, { clarity: 5, relevance: 4 });

    assert.deepEqual(
      (await ratingsOf(v2)).map((r) => r.id),
      [third.id, second.id, first.id],
      'newest first',
    );
    const summary = await gw.api('/v1/ratings/summary');
    assert.equal(summary.status, 200);
    assert.deepEqual(((await summary.json()) as Summary).models, [
      {
        fusionModel: 'fusion-test@2',
        count: 3,
        clarity: { mean: 7 / 3, median: 2, histogram: [1, 1, 0, 1, 0] },
        relevance: { mean: 3, median: 2, histogram: [0, 2, 0, 0, 1] },
      },
      {
        fusionModel: 'fusion-test@3',
        count: 1,
        clarity: { mean: 5, median: 5, histogram: [0, 0, 0, 0, 1] },
        relevance: { mean: 4, median: 4, histogram: [0, 0, 0, 1, 0] },
      },
    ]);
    // the reviewer is the rating key's hash (the owner id the gateway derives), never the key itself
    const stored = await gw.orch.rows<{ reviewer: string; owner: string }>('SELECT reviewer, owner FROM ratings WHERE id = $1', [first.id]);
    assert.deepEqual(stored, [{ reviewer: gw.orch.ownerOf(v2), owner: gw.orch.ownerOf(v2) }]);
    assert.match(stored[0].reviewer, /^[0-9a-f]{32}$/);
  });

  const BAD_BODIES: [string, unknown, RegExp][] = [
    ['an empty object', {}, /clarity must be an integer from 1 to 5 \(got nothing\)/],
    ['clarity 0', { clarity: 0, relevance: 3 }, /clarity must be an integer from 1 to 5 \(got 0\)/],
    ['clarity 6', { clarity: 6, relevance: 3 }, /clarity must be an integer from 1 to 5/],
    ['clarity 3.5', { clarity: 3.5, relevance: 3 }, /clarity must be an integer from 1 to 5 \(got 3\.5\)/],
    ['clarity "3"', { clarity: '3', relevance: 3 }, /clarity must be an integer from 1 to 5 \(got "3"\)/],
    ['clarity null', { clarity: null, relevance: 3 }, /clarity must be an integer/],
    ['clarity true', { clarity: true, relevance: 3 }, /clarity must be an integer/],
    ['relevance missing', { clarity: 3 }, /relevance must be an integer from 1 to 5 \(got nothing\)/],
    ['relevance -1', { clarity: 3, relevance: -1 }, /relevance must be an integer/],
    ['a numeric comment', { clarity: 3, relevance: 3, comment: 42 }, /comment must be a string \(got 42\)/],
    ['an object comment', { clarity: 3, relevance: 3, comment: { text: 'x' } }, /comment must be a string/],
    ['a comment of 2001 characters', { clarity: 3, relevance: 3, comment: '好'.repeat(2001) }, /comment must be at most 2000 characters \(got 2001\)/],
    ['an unknown field', { clarity: 3, relevance: 3, reviewer: 'someone-else' }, /unknown field "reviewer"; expected clarity, relevance, comment/],
    ['two unknown fields', { clarity: 3, relevance: 3, a: 1, b: 2 }, /unknown fields "a", "b"/],
    ['an array', [3, 3], /the body must be a JSON object/],
    // body-parser (strict) refuses JSON scalars itself, with the same 400 validation
    ['a JSON string', '"3,3"', /not valid JSON/],
  ];

  test('every malformed body is 400 validation with a detail naming the problem, and nothing is stored', async () => {
    const id = await succeeded('2');
    for (const [what, body, detail] of BAD_BODIES) {
      const res = await rate(id, body);
      assert.equal(res.status, 400, what);
      const p = await problemOf(res);
      assert.equal(slugOf(p.type), 'validation', what);
      assert.match(p.detail ?? '', detail, what);
      assert.equal(p.instance, `/v1/videos/${id}/ratings`);
    }
    const malformed = await rate(id, '{"clarity": 3,');
    assert.equal(malformed.status, 400, 'malformed JSON');
    assert.equal(slugOf((await problemOf(malformed)).type), 'validation');
    const plain = await gw.api(`/v1/videos/${id}/ratings`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'clarity=3&relevance=3' });
    assert.equal(plain.status, 400, 'not JSON');
    assert.match((await problemOf(plain)).detail ?? '', /application\/json/);
    assert.equal((await rate(id, { clarity: 3, relevance: 3, comment: '好'.repeat(2000) })).status, 201, '2000 characters is the limit, inclusive');
    assert.equal((await ratingsOf(id)).length, 1, 'only the valid rating was stored');
  });

  test('a video that has not succeeded is 409 not-ready, queued or failed', async () => {
    const queued = await submit();
    const res = await rate(queued, { clarity: 3, relevance: 3 });
    assert.equal(res.status, 409);
    const p = await problemOf(res);
    assert.equal(slugOf(p.type), 'not-ready');
    assert.match(p.detail ?? '', /queued/);
    const failed = await submit();
    await gw.orch.fail(failed, 'unsupported-media', 'not a video');
    assert.equal((await rate(failed, { clarity: 3, relevance: 3 })).status, 409);
    assert.deepEqual(await ratingsOf(queued), []);
  });

  test("another key's video answers 404 like an id that does not exist, and its ratings stay out of that key's summary", async () => {
    const mine = await succeeded('9');
    await rate(mine, { clarity: 5, relevance: 5, comment: 'only-for-alpha' });
    for (const id of [mine, randomUUID()]) {
      const post = await rate(id, { clarity: 1, relevance: 1 }, OTHER_KEY);
      assert.equal(post.status, 404);
      assert.equal(slugOf((await problemOf(post)).type), 'not-found');
      const get = await gw.api(`/v1/videos/${id}/ratings`, { headers: as(OTHER_KEY) });
      assert.equal(get.status, 404);
      const text = await get.text();
      assert.doesNotMatch(text, /only-for-alpha/);
    }
    const theirs = await succeeded('9', OTHER_KEY);
    await rate(theirs, { clarity: 2, relevance: 2 }, OTHER_KEY);
    const summary = (await (await gw.api('/v1/ratings/summary', { headers: as(OTHER_KEY) })).json()) as Summary;
    assert.deepEqual(
      summary.models.map((m) => [m.fusionModel, m.count, m.clarity.mean]),
      [['fusion-test@9', 1, 2]],
      "only the other key's own rating",
    );
    assert.equal((await gw.api('/v1/videos/not-a-uuid/ratings')).status, 404);
  });

  test('after DELETE the ratings are gone: 410 for the owner on both routes, no rows, no longer in the summary', async () => {
    const id = await succeeded('erase');
    assert.equal((await rate(id, { clarity: 4, relevance: 4, comment: 'to be erased' })).status, 201);
    const countOf = async () => (await gw.orch.rows<{ n: number }>('SELECT count(*)::int AS n FROM ratings WHERE video_id = $1', [id]))[0].n;
    assert.equal(await countOf(), 1);
    const del = await gw.api(`/v1/videos/${id}`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    assert.equal(await countOf(), 0, 'the rating rows are erased with the video');
    const get = await gw.api(`/v1/videos/${id}/ratings`);
    assert.equal(get.status, 410);
    assert.equal(slugOf((await problemOf(get)).type), 'gone');
    const post = await rate(id, { clarity: 4, relevance: 4 });
    assert.equal(post.status, 410);
    assert.equal(slugOf((await problemOf(post)).type), 'gone');
    assert.equal((await gw.api(`/v1/videos/${id}/ratings`, { headers: as(OTHER_KEY) })).status, 404, 'another key still sees nothing');
    const summary = (await (await gw.api('/v1/ratings/summary')).json()) as Summary;
    assert.ok(!summary.models.some((m) => m.fusionModel === 'fusion-test@erase'), 'the erased rating no longer counts');
  });
});
