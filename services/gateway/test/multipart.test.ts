import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { KEY, filesUnder, slugOf, startGateway, uploadForm, type Gateway } from './harness';

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const BOUNDARY = 'omniaffect-test-boundary';

/** One multipart part, as bytes, without the boundary line before it. */
function part(headers: string[], content: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(`${headers.join('\r\n')}\r\n\r\n`), Buffer.from(content), Buffer.from('\r\n')]);
}
const filePart = (content: Buffer | string, name = 'file', filename = 'clip.mp4', type = 'video/mp4') =>
  part([`Content-Disposition: form-data; name="${name}"; filename="${filename}"`, `Content-Type: ${type}`], content);
const fieldPart = (name: string, value: string) => part([`Content-Disposition: form-data; name="${name}"`], value);

/** A complete multipart body from parts (closing boundary included unless `open`). */
function form(parts: Buffer[], { open = false } = {}): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) chunks.push(Buffer.from(`--${BOUNDARY}\r\n`), p);
  if (!open) chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

/**
 * A hand-written HTTP/1.1 POST /v1/videos over a raw socket, so the body can be anything a hostile
 * client sends: wrong framing, a lie in Content-Length, a stall, an abort. Resolves with the parsed
 * answer once the server closes the connection, or null when it closed without one.
 */
function rawUpload(gw: Gateway, body: Buffer, opts: { contentType?: string; contentLength?: number; abortAfterMs?: number } = {}): Promise<RawAnswer | null> {
  const port = Number(new URL(gw.base).port);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (d) => received.push(d));
    socket.on('error', () => undefined); // a reset after the answer is fine; the answer is what counts
    socket.on('close', () => {
      const text = Buffer.concat(received).toString('latin1');
      const cut = text.indexOf('\r\n\r\n');
      if (cut < 0) return resolve(null);
      const [statusLine, ...lines] = text.slice(0, cut).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: text.slice(cut + 4) });
    });
    socket.on('connect', () => {
      const head = [
        'POST /v1/videos HTTP/1.1',
        `Host: 127.0.0.1:${port}`,
        `Authorization: Bearer ${KEY}`,
        `Content-Type: ${opts.contentType ?? `multipart/form-data; boundary=${BOUNDARY}`}`,
        `Content-Length: ${opts.contentLength ?? body.length}`,
        'Connection: close',
        '',
        '',
      ].join('\r\n');
      socket.write(head);
      socket.write(body);
      if (opts.abortAfterMs !== undefined) setTimeout(() => socket.destroy(), opts.abortAfterMs);
    });
    setTimeout(() => reject(new Error('no answer within 10 s')), 10_000).unref();
  });
}

function problemSlug(answer: RawAnswer | null): string {
  assert.ok(answer, 'the server answered before closing');
  assert.match(answer.headers['content-type'] ?? '', /^application\/problem\+json/);
  return slugOf((JSON.parse(answer.body) as { type: string }).type);
}

describe('malformed multipart uploads', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({ MAX_UPLOAD_BYTES: String(256 * 1024), UPLOAD_IDLE_TIMEOUT_MS: '400' });
  });
  after(() => gw.close());

  /** Files of videos the orchestrator never accepted: what a failed upload must not leave. */
  async function orphans(): Promise<string[]> {
    return (await filesUnder(gw.artifactDir)).filter((f) => !gw.orch.submits.some((s) => f.includes(s.videoId)));
  }

  /** Waits for cleanup that runs after the client is gone (no answer to wait on). */
  async function noOrphansSoon(): Promise<void> {
    for (let i = 0; i < 100 && (await orphans()).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await orphans(), []);
  }

  /** The same process still takes a normal upload end to end. */
  async function stillServing(): Promise<void> {
    const res = await gw.api('/v1/videos', { method: 'POST', body: uploadForm(randomBytes(2000)) });
    assert.equal(res.status, 202);
  }

  const cases: { name: string; body: () => Buffer; status: number; slug: string; contentType?: string; contentLength?: number }[] = [
    // The audit's crash: busboy skips the second part and errors the first file's stream.
    { name: 'two file parts', body: () => form([filePart(randomBytes(30_000)), filePart(randomBytes(30_000))]), status: 400, slug: 'validation' },
    { name: 'two file parts, the second tiny', body: () => form([filePart(randomBytes(100)), filePart('x')]), status: 400, slug: 'validation' },
    { name: 'a file part under another name', body: () => form([filePart(randomBytes(10_000), 'video')]), status: 400, slug: 'validation' },
    {
      name: 'a file part under another name after the real one',
      body: () => form([filePart(randomBytes(10_000)), filePart(randomBytes(10), 'thumbnail')]),
      status: 400,
      slug: 'validation',
    },
    {
      name: 'an 80 KB text field before the file',
      body: () => form([fieldPart('transcript', 'a'.repeat(80_000)), filePart(randomBytes(5000))]),
      status: 400,
      slug: 'validation',
    },
    // The file is complete and stored by the time the field fails: it must still go.
    {
      name: 'an 80 KB text field after the file',
      body: () => form([filePart(randomBytes(5000)), fieldPart('metadata', 'a'.repeat(80_000))]),
      status: 400,
      slug: 'validation',
    },
    {
      name: 'too many fields',
      body: () => form([...Array.from({ length: 25 }, (_, i) => fieldPart(`f${i}`, 'v')), filePart('abc')]),
      status: 400,
      slug: 'validation',
    },
    {
      name: 'a body cut off inside the file (no closing boundary)',
      body: () => form([filePart(randomBytes(20_000))], { open: true }).subarray(0, 15_000),
      status: 400,
      slug: 'validation',
    },
    { name: 'a body cut off inside a part header', body: () => Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-da`), status: 400, slug: 'validation' },
    {
      name: 'a part header without a colon',
      body: () => Buffer.from(`--${BOUNDARY}\r\nthis is not a header\r\n\r\nxyz\r\n--${BOUNDARY}--\r\n`),
      status: 400,
      slug: 'validation',
    },
    {
      name: 'a body that uses another boundary',
      body: () => form([filePart('abc')]),
      contentType: 'multipart/form-data; boundary=something-else',
      status: 400,
      slug: 'validation',
    },
    { name: 'no boundary at all', body: () => form([filePart('abc')]), contentType: 'multipart/form-data', status: 400, slug: 'validation' },
    { name: 'an empty body', body: () => Buffer.alloc(0), status: 400, slug: 'validation' },
    { name: 'a file over MAX_UPLOAD_BYTES', body: () => form([filePart(randomBytes(300 * 1024))]), status: 413, slug: 'payload-too-large' },
    {
      name: 'a non-media file part followed by a second file',
      body: () => form([filePart('notes', 'file', 'notes.txt', 'text/plain'), filePart('x')]),
      status: 415,
      slug: 'unsupported-content-type',
    },
  ];

  for (const c of cases) {
    test(`${c.name}: ${c.status} ${c.slug}, no file left, the gateway keeps serving`, async () => {
      const before = gw.orch.submits.length;
      const answer = await rawUpload(gw, c.body(), { contentType: c.contentType, contentLength: c.contentLength });
      assert.equal(answer?.status, c.status, answer?.body);
      assert.equal(problemSlug(answer), c.slug);
      assert.equal(gw.orch.submits.length, before, 'nothing reached the orchestrator');
      assert.deepEqual(await orphans(), []);
      await stillServing();
    });
  }

  test('a client that goes away mid-file leaves no partial file and the gateway keeps serving', async () => {
    const before = gw.orch.submits.length;
    const body = form([filePart(randomBytes(40_000))]).subarray(0, 30_000);
    // Content-Length promises more than is sent, then the socket is destroyed.
    const answer = await rawUpload(gw, body, { contentLength: 200_000, abortAfterMs: 100 });
    assert.equal(answer, null, 'nobody is left to answer');
    await noOrphansSoon();
    assert.equal(gw.orch.submits.length, before);
    await stillServing();
  });

  test('a client that stalls mid-file gets a 400 after UPLOAD_IDLE_TIMEOUT_MS, and its partial file is removed', async () => {
    const before = gw.orch.submits.length;
    const started = Date.now();
    const answer = await rawUpload(gw, form([filePart(randomBytes(40_000))]).subarray(0, 30_000), { contentLength: 200_000 });
    assert.equal(answer?.status, 400, answer?.body);
    assert.equal(problemSlug(answer), 'validation');
    assert.match(answer.body, /no upload data received/);
    assert.ok(Date.now() - started >= 350, 'not before the idle timeout');
    assert.equal(gw.orch.submits.length, before);
    assert.deepEqual(await orphans(), []);
    await stillServing();
  });

  test('many hostile uploads at once leave the gateway serving and the artifact dir clean', async () => {
    const before = gw.orch.submits.length;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        rawUpload(
          gw,
          i % 2 ? form([filePart(randomBytes(20_000)), filePart('x')]) : form([filePart(randomBytes(5000)), fieldPart('language', 'e'.repeat(70_000))]),
        ),
      ),
    );
    for (const a of answers) assert.equal(a?.status, 400);
    assert.equal(gw.orch.submits.length, before);
    assert.deepEqual(await orphans(), []);
    await stillServing();
  });
});
