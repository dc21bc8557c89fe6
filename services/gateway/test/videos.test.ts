import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { artifactPaths } from '@omniaffect/core';
import { OTHER_KEY, filesUnder, problemOf, sampleResult, slugOf, startGateway, uploadForm, type Gateway } from './harness';

describe('POST /v1/videos', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({ MAX_UPLOAD_BYTES: String(64 * 1024) });
  });
  after(() => gw.close());

  test('a multipart upload is streamed to the artifact store byte for byte and submitted', async () => {
    const bytes = randomBytes(50_000);
    const res = await gw.api('/v1/videos', {
      method: 'POST',
      body: uploadForm(bytes, { fields: { language: 'zh', metadata: '{"customer":"c-1"}', callbackUrl: 'https://example.com/cb' } }),
    });
    assert.equal(res.status, 202);
    const body = (await res.json()) as { id: string; status: string; links: { self: string; result: string } };
    assert.equal(body.status, 'queued');
    assert.equal(body.links.self, `/v1/videos/${body.id}`);
    assert.equal(res.headers.get('location'), `/v1/videos/${body.id}`);
    const stored = await readFile(path.join(gw.artifactDir, artifactPaths.source(body.id)));
    assert.ok(stored.equals(bytes), 'stored bytes equal the upload');
    const submit = gw.orch.submits.find((s) => s.videoId === body.id);
    assert.ok(submit);
    assert.equal(submit.sourceKind, 'upload');
    assert.equal(submit.sourcePath, artifactPaths.source(body.id));
    assert.equal(submit.sizeBytes, bytes.length);
    assert.equal(submit.filename, 'clip.mp4');
    assert.equal(submit.contentType, 'video/mp4');
    assert.equal(submit.language, 'zh');
    assert.equal(submit.callbackUrl, 'https://example.com/cb');
    assert.deepEqual(JSON.parse(submit.metadataJson), { customer: 'c-1' });
    assert.match(submit.owner, /^[0-9a-f]{32}$/);
  });

  test('fields after the file still count', async () => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array([1, 2, 3])]), 'talk.wav');
    form.append('language', 'en');
    const res = await gw.api('/v1/videos', { method: 'POST', body: form });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    const submit = gw.orch.submits.find((s) => s.videoId === id);
    assert.equal(submit?.language, 'en');
    assert.equal(submit?.contentType, 'application/octet-stream');
  });

  test('an upload over MAX_UPLOAD_BYTES is 413 and leaves no file behind', async () => {
    const before = gw.orch.submits.length;
    const res = await gw.api('/v1/videos', { method: 'POST', body: uploadForm(randomBytes(300_000)) });
    const problem = await problemOf(res);
    assert.equal(res.status, 413);
    assert.equal(slugOf(problem.type), 'payload-too-large');
    assert.equal(problem.instance, '/v1/videos');
    assert.equal(gw.orch.submits.length, before, 'nothing submitted');
    const left = (await filesUnder(gw.artifactDir)).filter((f) => !gw.orch.submits.some((s) => f.includes(s.videoId)));
    assert.deepEqual(left, []);
  });

  test('a part that is not audio or video is 415 and leaves no file behind', async () => {
    const before = gw.orch.submits.length;
    const res = await gw.api('/v1/videos', {
      method: 'POST',
      body: uploadForm(new TextEncoder().encode('just notes'), { type: 'text/plain', filename: 'notes.txt' }),
    });
    assert.equal(res.status, 415);
    assert.equal(slugOf((await problemOf(res)).type), 'unsupported-content-type');
    assert.equal(gw.orch.submits.length, before);
    const left = (await filesUnder(gw.artifactDir)).filter((f) => !gw.orch.submits.some((s) => f.includes(s.videoId)));
    assert.deepEqual(left, []);
  });

  test('a known media extension is accepted whatever the declared type', async () => {
    const res = await gw.api('/v1/videos', { method: 'POST', body: uploadForm(new Uint8Array([0, 1]), { type: 'text/plain', filename: 'x.MKV' }) });
    assert.equal(res.status, 202);
  });

  test('a multipart request without a file is 400', async () => {
    const form = new FormData();
    form.append('language', 'en');
    const res = await gw.api('/v1/videos', { method: 'POST', body: form });
    assert.equal(res.status, 400);
    assert.equal(slugOf((await problemOf(res)).type), 'validation');
  });

  test('an unsupported language is 400 unsupported-language, for uploads and URLs, and the upload is removed', async () => {
    const up = await gw.api('/v1/videos', { method: 'POST', body: uploadForm(new Uint8Array([1]), { fields: { language: 'fr' } }) });
    assert.equal(up.status, 400);
    assert.equal(slugOf((await problemOf(up)).type), 'unsupported-language');
    const left = (await filesUnder(gw.artifactDir)).filter((f) => !gw.orch.submits.some((s) => f.includes(s.videoId)));
    assert.deepEqual(left, []);
    const json = await gw.api('/v1/videos', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://93.184.215.14/a.mp4', language: 'de' }),
    });
    assert.equal(json.status, 400);
    assert.equal(slugOf((await problemOf(json)).type), 'unsupported-language');
  });

  for (const url of [
    'http://127.0.0.1/a.mp4',
    'http://10.0.0.1/a.mp4',
    'file:///etc/passwd',
    'http://user:pw@example.com/a.mp4',
    'http://[::1]/a.mp4',
    'http://localhost:8080/a.mp4',
  ]) {
    test(`JSON url ${url} is 422 url-not-allowed`, async () => {
      const res = await gw.api('/v1/videos', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url }),
      });
      assert.equal(res.status, 422);
      assert.equal(slugOf((await problemOf(res)).type), 'url-not-allowed');
    });
  }

  test('a JSON url to a public address is submitted for the media worker to fetch', async () => {
    const res = await gw.api('/v1/videos', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://93.184.215.14/clip.mp4', metadata: { a: 1 } }),
    });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    const submit = gw.orch.submits.find((s) => s.videoId === id);
    assert.equal(submit?.sourceKind, 'url');
    assert.equal(submit?.sourceUrl, 'https://93.184.215.14/clip.mp4');
    assert.equal(submit?.language, 'auto');
    assert.equal(submit?.sourcePath, '');
  });

  test('a provided transcript cannot exceed 64 KiB (JSON body limit; multipart fields have the same bound)', async () => {
    const submit = (transcript: string) =>
      gw.api('/v1/videos', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'https://93.184.215.14/clip.mp4', transcript }),
      });
    const before = gw.orch.submits.length;
    const long = await submit('a'.repeat(70_000));
    assert.equal(long.status, 413);
    assert.equal(slugOf((await problemOf(long)).type), 'payload-too-large');
    assert.equal(gw.orch.submits.length, before, 'nothing reached the orchestrator');
    assert.equal((await submit('a'.repeat(60_000))).status, 202, 'a long transcript under the bound is accepted');
  });

  test('a body that is neither multipart nor JSON is 415', async () => {
    const res = await gw.api('/v1/videos', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    assert.equal(res.status, 415);
    assert.equal(slugOf((await problemOf(res)).type), 'unsupported-content-type');
  });

  test('the same Idempotency-Key returns the same video (200) and drops the duplicate upload', async () => {
    const headers = { 'idempotency-key': 'order-42' };
    const first = await gw.api('/v1/videos', { method: 'POST', headers, body: uploadForm(randomBytes(1000)) });
    assert.equal(first.status, 202);
    const a = (await first.json()) as { id: string };
    const second = await gw.api('/v1/videos', { method: 'POST', headers, body: uploadForm(randomBytes(1000)) });
    assert.equal(second.status, 200);
    const b = (await second.json()) as { id: string };
    assert.equal(b.id, a.id);
    const dupId = gw.orch.submits
      .filter((s) => s.idempotencyKey === 'order-42')
      .map((s) => s.videoId)
      .find((id) => id !== a.id);
    assert.ok(dupId, 'the second request proposed its own id');
    assert.deepEqual(
      (await filesUnder(gw.artifactDir)).filter((f) => f.includes(dupId)),
      [],
    );
    assert.ok(
      (await filesUnder(gw.artifactDir)).some((f) => f.includes(a.id)),
      'the original upload stays',
    );

    // Keys are per API key: another key with the same Idempotency-Key gets its own video.
    const other = await gw.api('/v1/videos', {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${OTHER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://93.184.215.14/x.mp4' }),
    });
    assert.equal(other.status, 202);
    assert.notEqual(((await other.json()) as { id: string }).id, a.id);
  });
});

describe('GET /v1/videos/:id and /result', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  async function submit(): Promise<string> {
    const res = await gw.api('/v1/videos', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://93.184.215.14/clip.mp4' }),
    });
    assert.equal(res.status, 202);
    return ((await res.json()) as { id: string }).id;
  }

  test('status passes the orchestrator document through; result is 409 not-ready until it succeeds', async () => {
    const id = await submit();
    const status = await gw.api(`/v1/videos/${id}`);
    assert.equal(status.status, 200);
    const doc = (await status.json()) as { id: string; status: string; links: { report: string } };
    assert.equal(doc.id, id);
    assert.equal(doc.status, 'queued');
    assert.equal(doc.links.report, `/v1/videos/${id}/report`);

    const early = await gw.api(`/v1/videos/${id}/result`);
    assert.equal(early.status, 409);
    const problem = await problemOf(early);
    assert.equal(slugOf(problem.type), 'not-ready');
    assert.equal(problem.instance, `/v1/videos/${id}/result`);

    const stored = await gw.orch.succeed(id, sampleResult(id));
    const done = await gw.api(`/v1/videos/${id}/result`);
    assert.equal(done.status, 200);
    // Exactly the orchestrator's document, which carries what the stages produced (timings and the
    // stages' model entries are its own).
    assert.deepEqual(await done.json(), stored);
    const sample = sampleResult(id);
    const { languageProbability, ...transcript } = stored.transcript;
    assert.equal(typeof languageProbability, 'number', 'the orchestrator adds the asr language probability');
    assert.deepEqual({ ...stored, transcript, timings: {}, models: {} }, { ...sample, timings: {}, models: {} });
    assert.deepEqual(stored.models.asr, sample.models.asr);
    assert.deepEqual(stored.models.fusion, sample.models.fusion);
  });

  test('a failed video answers its own problem', async () => {
    const id = await submit();
    await gw.orch.fail(id, 'no-audio-track', 'the file has no audio stream');
    const res = await gw.api(`/v1/videos/${id}/result`);
    assert.equal(res.status, 422);
    const problem = await problemOf(res);
    assert.equal(slugOf(problem.type), 'no-audio-track');
    assert.equal(problem.detail, 'the file has no audio stream');
  });

  test("unknown, malformed and other owners' ids are 404", async () => {
    const id = await submit();
    const other = await gw.api(`/v1/videos/${id}`, { headers: { authorization: `Bearer ${OTHER_KEY}` } });
    assert.equal(other.status, 404);
    assert.equal(slugOf((await problemOf(other)).type), 'not-found');
    const unknown = await gw.api('/v1/videos/00000000-0000-4000-8000-000000000000');
    assert.equal(unknown.status, 404);
    const malformed = await gw.api('/v1/videos/..%2F..%2Fetc');
    assert.equal(malformed.status, 404);
    assert.equal(slugOf((await problemOf(malformed)).type), 'not-found');
  });

  test('DELETE cancels through the orchestrator and answers 202 with the tombstone', async () => {
    const id = await submit();
    const res = await gw.api(`/v1/videos/${id}`, { method: 'DELETE' });
    assert.equal(res.status, 202);
    const body = (await res.json()) as { id: string; status: string; erasedAt: string };
    assert.equal(body.id, id);
    assert.equal(body.status, 'erased');
    assert.ok(Number.isFinite(Date.parse(body.erasedAt)), body.erasedAt);
    // The real orchestrator keeps no canceled video behind: only the tombstone, which answers 'gone'.
    assert.equal(await gw.orch.problemOf(id), 'gone');
    const after = await gw.api(`/v1/videos/${id}`);
    assert.equal(after.status, 410);
  });
});

describe('ingest of private URLs when the operator allows it', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({ OMNIAFFECT_INGEST_ALLOW_PRIVATE: 'true' });
  });
  after(() => gw.close());

  test('127.0.0.1 and 10.0.0.1 are accepted; file:// and credentials still are not', async () => {
    for (const url of ['http://127.0.0.1:9000/a.mp4', 'http://10.0.0.1/a.mp4']) {
      const res = await gw.api('/v1/videos', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url }) });
      assert.equal(res.status, 202, url);
    }
    for (const url of ['file:///etc/passwd', 'http://user:pw@10.0.0.1/a.mp4']) {
      const res = await gw.api('/v1/videos', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url }) });
      assert.equal(res.status, 422, url);
      assert.equal(slugOf((await problemOf(res)).type), 'url-not-allowed');
    }
  });
});
