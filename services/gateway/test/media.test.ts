import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigError, artifactPaths } from '@omniaffect/core';
import { loadGatewayConfig } from '../src/config';
import { parseRange, servedContentType } from '../src/media.controller';
import { signedMediaLink, verifyMediaLink } from '../src/media-link';
import { OTHER_KEY, problemOf, sampleResult, slugOf, startGateway, uploadForm, type Gateway } from './harness';

const SECRET = 'media-link-secret-for-the-gateway-tests-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function upload(gw: Gateway, bytes: Uint8Array, opts: { type?: string; filename?: string; key?: string } = {}): Promise<string> {
  const res = await gw.api('/v1/videos', {
    method: 'POST',
    headers: opts.key ? { authorization: `Bearer ${opts.key}` } : {},
    body: uploadForm(bytes, { type: opts.type, filename: opts.filename }),
  });
  assert.equal(res.status, 202);
  return ((await res.json()) as { id: string }).id;
}

/** fetch without any API key: what a browser's <video src> sends */
const anonymous = (gw: Gateway, pathAndQuery: string, headers: Record<string, string> = {}) => fetch(gw.base + pathAndQuery, { headers });

describe('GET /v1/videos/:id/media', () => {
  let gw: Gateway;
  const bytes = randomBytes(100_000);
  let id: string;
  before(async () => {
    gw = await startGateway({ MEDIA_LINK_SECRET: SECRET, RATE_LIMIT_REQUESTS_PER_MINUTE: '1000' });
    id = await upload(gw, bytes, { type: 'video/mp4' });
    await gw.orch.succeed(id, sampleResult(id));
  });
  after(() => gw.close());

  test('the whole file, streamed with its declared video type and no-store, nosniff headers', async () => {
    const res = await gw.api(`/v1/videos/${id}/media`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'video/mp4');
    assert.equal(res.headers.get('content-length'), String(bytes.length));
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.equal(res.headers.get('cache-control'), 'private, no-store');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('content-range'), null);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes), 'the stored bytes');
    const head = await gw.api(`/v1/videos/${id}/media`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(bytes.length));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
  });

  test('a Range is answered 206 with exactly those bytes and Content-Range', async () => {
    const cases: [string, number, number][] = [
      ['bytes=100-199', 100, 199],
      ['bytes=0-0', 0, 0],
      ['bytes=99990-', 99_990, 99_999],
      ['bytes=-10', 99_990, 99_999],
      ['bytes=50000-999999999', 50_000, 99_999], // an end past the file is clamped
      ['bytes=-200000', 0, 99_999], // a suffix longer than the file is the whole file
    ];
    for (const [range, start, end] of cases) {
      const res = await gw.api(`/v1/videos/${id}/media`, { headers: { range } });
      assert.equal(res.status, 206, range);
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${bytes.length}`, range);
      assert.equal(res.headers.get('content-length'), String(end - start + 1), range);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(start, end + 1)), `${range}: the bytes of the range`);
    }
    // what the server may ignore (several ranges, another unit, nonsense) gets the whole file
    for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=9-3', 'bytes=abc']) {
      const res = await gw.api(`/v1/videos/${id}/media`, { headers: { range } });
      assert.equal(res.status, 200, range);
      assert.equal((await res.arrayBuffer()).byteLength, bytes.length, range);
    }
  });

  test('a range past the end is 416 with Content-Range naming the size', async () => {
    for (const range of ['bytes=100000-', 'bytes=200000-200010', 'bytes=-0']) {
      const res = await gw.api(`/v1/videos/${id}/media`, { headers: { range } });
      assert.equal(res.status, 416, range);
      assert.equal(res.headers.get('content-range'), `bytes */${bytes.length}`, range);
      assert.equal(slugOf((await problemOf(res)).type), 'range-not-satisfiable', range);
    }
  });

  test('a signed link works without a key, with ranges, and counts against the owner’s rate limit', async () => {
    const link = signedMediaLink(id, 300, SECRET);
    assert.match(link, new RegExp(`^/v1/videos/${id}/media\\?exp=\\d+&sig=[A-Za-z0-9_-]{43}$`));
    const full = await anonymous(gw, link);
    assert.equal(full.status, 200);
    assert.equal(full.headers.get('cache-control'), 'private, no-store');
    assert.ok(Buffer.from(await full.arrayBuffer()).equals(bytes));
    const part = await anonymous(gw, link, { range: 'bytes=10-19' });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(10, 20)));
    const remaining = async () => Number((await gw.api(`/v1/videos/${id}`)).headers.get('ratelimit-remaining'));
    const before = await remaining();
    const counted = await anonymous(gw, link, { range: 'bytes=0-0' });
    assert.ok(counted.headers.get('ratelimit-limit'), 'a signed request is rate limited');
    await counted.arrayBuffer();
    assert.equal(await remaining(), before - 2, "the link's request was counted against the owner's key");
  });

  test('an expired, tampered, foreign or half link is refused with one answer that does not say which part failed', async () => {
    const valid = new URL(signedMediaLink(id, 300, SECRET), gw.base);
    const exp = valid.searchParams.get('exp')!;
    const sig = valid.searchParams.get('sig')!;
    const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    const other = new URL(signedMediaLink(randomUUID(), 300, SECRET), gw.base);
    const links = {
      expired: signedMediaLink(id, 60, SECRET, Date.now() - 120_000),
      'tampered signature': `/v1/videos/${id}/media?exp=${exp}&sig=${flipped}`,
      'extended expiry': `/v1/videos/${id}/media?exp=${Number(exp) + 3600}&sig=${sig}`,
      "another video's signature": `/v1/videos/${id}/media?exp=${other.searchParams.get('exp')}&sig=${other.searchParams.get('sig')}`,
      'another secret': signedMediaLink(id, 300, `${SECRET}-not`),
      'no expiry': `/v1/videos/${id}/media?sig=${sig}`,
      'a repeated signature': `/v1/videos/${id}/media?exp=${exp}&sig=${sig}&sig=${sig}`,
      'a short signature': `/v1/videos/${id}/media?exp=${exp}&sig=${sig.slice(0, 20)}`,
    };
    const details = new Set<string>();
    for (const [what, link] of Object.entries(links)) {
      const res = await anonymous(gw, link);
      assert.equal(res.status, 401, what);
      const p = await problemOf(res);
      assert.equal(slugOf(p.type), 'unauthorized', what);
      details.add(p.detail ?? '');
    }
    assert.deepEqual([...details], ['the media link is not valid or has expired']);
    const bare = await anonymous(gw, `/v1/videos/${id}/media`);
    assert.equal(bare.status, 401, 'neither key nor link');
    // a link does not open any other route of the video
    const result = await anonymous(gw, `/v1/videos/${id}/result?exp=${exp}&sig=${sig}`);
    assert.equal(result.status, 401);
    // and a bad key is judged as a key, whatever the query carries
    const badKey = await anonymous(gw, valid.pathname + valid.search, { authorization: 'Bearer wrong' });
    assert.equal(badKey.status, 401);
  });

  test("another key's video is 404, like an id that does not exist", async () => {
    for (const target of [id, randomUUID()]) {
      const res = await gw.api(`/v1/videos/${target}/media`, { headers: { authorization: `Bearer ${OTHER_KEY}` } });
      assert.equal(res.status, 404);
      assert.equal(slugOf((await problemOf(res)).type), 'not-found');
    }
    // a signed link of an id nobody has is a valid signature for nothing
    const nobody = await anonymous(gw, signedMediaLink(randomUUID(), 60, SECRET));
    assert.equal(nobody.status, 404);
    assert.equal((await gw.api('/v1/videos/not-a-uuid/media')).status, 404);
  });

  test('Content-Type is the upload’s audio/video type, else application/octet-stream', async () => {
    const mkv = await upload(gw, new Uint8Array([1, 2, 3]), { type: 'text/plain', filename: 'talk.mkv' });
    const res = await gw.api(`/v1/videos/${mkv}/media`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.equal(servedContentType('audio/wav'), 'audio/wav');
    assert.equal(servedContentType('Video/WebM; codecs="vp9"'), 'video/webm');
    assert.equal(servedContentType('video/mp4\r\nSet-Cookie: a=b'), 'application/octet-stream');
    assert.equal(servedContentType('text/html'), 'application/octet-stream');
    assert.equal(servedContentType(null), 'application/octet-stream');
  });

  test('a {url} video whose media is not downloaded yet is 409 not-ready', async () => {
    const res = await gw.api('/v1/videos', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://93.184.215.14/clip.mp4' }),
    });
    const { id: urlId } = (await res.json()) as { id: string };
    const media = await gw.api(`/v1/videos/${urlId}/media`);
    assert.equal(media.status, 409);
    assert.equal(slugOf((await problemOf(media)).type), 'not-ready');
  });

  test('an erased video is 410 to its owner and to its signed links, 404 to another key', async () => {
    const erased = await upload(gw, randomBytes(100));
    const link = signedMediaLink(erased, 300, SECRET);
    assert.equal((await anonymous(gw, link)).status, 200);
    assert.equal((await gw.api(`/v1/videos/${erased}`, { method: 'DELETE' })).status, 202);
    const owner = await gw.api(`/v1/videos/${erased}/media`);
    assert.equal(owner.status, 410);
    assert.equal(slugOf((await problemOf(owner)).type), 'gone');
    assert.equal((await anonymous(gw, link)).status, 410);
    assert.equal((await gw.api(`/v1/videos/${erased}/media`, { headers: { authorization: `Bearer ${OTHER_KEY}` } })).status, 404);
  });

  test('the helpers: ranges, link expiry and ttl checks', () => {
    assert.deepEqual(parseRange(undefined, 10), { kind: 'full' });
    assert.deepEqual(parseRange('bytes=2-4', 10), { kind: 'partial', start: 2, end: 4 });
    assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' });
    const now = Date.parse('2025-01-01T00:00:00Z');
    const u = new URL(signedMediaLink(id, 10, SECRET, now), 'http://x');
    const [exp, sig] = [u.searchParams.get('exp'), u.searchParams.get('sig')];
    assert.equal(verifyMediaLink(id, exp, sig, SECRET, now + 9_000), true);
    assert.equal(verifyMediaLink(id, exp, sig, SECRET, now + 10_000), false, 'expired at exp');
    assert.throws(() => signedMediaLink(id, 0, SECRET), RangeError);
    assert.throws(() => signedMediaLink(id, 1.5, SECRET), RangeError);
  });
});

describe('media retention and the media link secret', () => {
  let gw: Gateway;
  before(async () => {
    // retention of about a second, checked five times a second: the real reconciler erases the media
    gw = await startGateway({}, { env: { MEDIA_RETENTION_HOURS: '0.0003', RECONCILE_INTERVAL_MS: '200' } });
  });
  after(() => gw.close());

  test('media erased by retention is 404 "the media is no longer retained"; the video and its result stay', async () => {
    const id = await upload(gw, randomBytes(1000));
    await gw.orch.succeed(id, sampleResult(id));
    const source = path.join(gw.artifactDir, artifactPaths.source(id));
    let res: Response | undefined;
    for (let i = 0; i < 150; i++) {
      res = await gw.api(`/v1/videos/${id}/media`);
      if (res.status !== 200) break;
      await res.arrayBuffer();
      await sleep(100);
    }
    assert.equal(res!.status, 404);
    const p = await problemOf(res!);
    assert.equal(slugOf(p.type), 'not-found');
    assert.equal(p.detail, 'the media is no longer retained');
    assert.equal(existsSync(source), false, 'the reconciler removed the file');
    assert.equal((await gw.api(`/v1/videos/${id}`)).status, 200, 'the video itself stays');
    assert.equal((await gw.api(`/v1/videos/${id}/result`)).status, 200, 'and so does its result');
  });

  test('without MEDIA_LINK_SECRET the gateway signs with a per-process secret and says so once', () => {
    const warnings = gw.logs.filter((l) => l.includes('MEDIA_LINK_SECRET is not set'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /"level":"warn"/);
  });

  test('a MEDIA_LINK_SECRET shorter than 32 characters is a configuration error naming it', () => {
    assert.throws(
      () => loadGatewayConfig({ OMNIAFFECT_API_KEYS: 'k', MEDIA_LINK_SECRET: 'short' }),
      (err: unknown) => err instanceof ConfigError && err.message.includes('MEDIA_LINK_SECRET'),
    );
    assert.equal(loadGatewayConfig({ OMNIAFFECT_API_KEYS: 'k' }).MEDIA_LINK_SECRET, undefined);
    assert.equal(loadGatewayConfig({ OMNIAFFECT_API_KEYS: 'k', MEDIA_LINK_SECRET: SECRET }).MEDIA_LINK_SECRET, SECRET);
  });
});
