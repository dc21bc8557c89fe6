import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { VideoDocument } from '@omniaffect/core';
import { OTHER_KEY, problemOf, slugOf, startGateway, uploadForm, type Gateway } from './harness';

interface Page {
  videos: VideoDocument[];
  next: string | null;
}

describe('GET /v1/videos', () => {
  let gw: Gateway;
  const mine: string[] = []; // in submission order
  const theirs: string[] = [];
  before(async () => {
    gw = await startGateway();
    for (let i = 0; i < 5; i++) mine.push(await submit());
    for (let i = 0; i < 2; i++) theirs.push(await submit(OTHER_KEY));
  });
  after(() => gw.close());

  const as = (key?: string): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {});

  async function submit(key?: string): Promise<string> {
    const res = await gw.api('/v1/videos', { method: 'POST', headers: as(key), body: uploadForm(new Uint8Array([1, 2, 3])) });
    assert.equal(res.status, 202);
    return ((await res.json()) as { id: string }).id;
  }

  async function page(query: string, key?: string): Promise<Page> {
    const res = await gw.api(`/v1/videos${query}`, { headers: as(key) });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as Page;
  }

  /** Every page from the newest, following `next`. */
  async function walk(limit: number, key?: string): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let pages = 0;
    let q = `?limit=${limit}`;
    for (;;) {
      const p = await page(q, key);
      pages++;
      assert.ok(p.videos.length <= limit);
      ids.push(...p.videos.map((v) => v.id));
      if (p.next === null) return { ids, pages };
      q = `?limit=${limit}&before=${encodeURIComponent(p.next)}`;
    }
  }

  test('pages of the key’s videos, newest first, through the next cursor; each entry is the GET /v1/videos/:id document', async () => {
    const { ids, pages } = await walk(2);
    assert.equal(pages, 3);
    assert.deepEqual(ids, [...mine].reverse(), 'each video once, newest first, none of the other key');
    const first = await page('?limit=1');
    const doc = (await (await gw.api(`/v1/videos/${first.videos[0].id}`)).json()) as VideoDocument;
    assert.deepEqual(first.videos[0], doc);
    const all = await page('');
    assert.equal(all.videos.length, 5, 'the default page (20) holds them all');
    assert.equal(all.next, null);
    assert.deepEqual((await page('?limit=5')).next, null, 'a page that ends exactly at the last video says there is no next');
  });

  test('another key sees only its own videos, even with this key’s cursor', async () => {
    const { ids } = await walk(1, OTHER_KEY);
    assert.deepEqual(ids, [...theirs].reverse());
    const cursor = (await page('?limit=1')).next!;
    const borrowed = await page(`?before=${encodeURIComponent(cursor)}`, OTHER_KEY);
    assert.ok(
      borrowed.videos.every((v) => theirs.includes(v.id)),
      'a cursor is only a position: it shows nothing of the key that made it',
    );
  });

  test('bad limits and cursors are 400 validation', async () => {
    for (const q of ['?limit=0', '?limit=101', '?limit=abc', '?limit=1.5', '?limit=-1', '?limit=', '?limit=1&limit=2']) {
      const res = await gw.api(`/v1/videos${q}`);
      assert.equal(res.status, 400, q);
      const p = await problemOf(res);
      assert.equal(slugOf(p.type), 'validation', q);
      assert.match(p.detail ?? '', /limit must be an integer from 1 to 100/, q);
    }
    for (const q of ['?before=not-a-cursor', '?before=', `?before=${'x'.repeat(200)}`, '?before=a&before=b']) {
      const res = await gw.api(`/v1/videos${q}`);
      assert.equal(res.status, 400, q);
      assert.match((await problemOf(res)).detail ?? '', /before must be the `next` cursor of a previous page/, q);
    }
    assert.equal((await gw.api('/v1/videos', { headers: { authorization: 'Bearer nope' } })).status, 401);
  });

  test('an erased video is never listed', async () => {
    const gone = await submit();
    assert.ok((await page('?limit=100')).videos.some((v) => v.id === gone));
    assert.equal((await gw.api(`/v1/videos/${gone}`, { method: 'DELETE' })).status, 202);
    const { ids } = await walk(100);
    assert.ok(!ids.includes(gone));
    assert.deepEqual(ids, [...mine].reverse());
  });
});
