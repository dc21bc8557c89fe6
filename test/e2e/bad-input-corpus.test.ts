import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SERVICES, readinessUrl, type ServiceName } from '@omniaffect/cli';
import type { AnalysisResult, VideoDocument } from '@omniaffect/core';
import { api, problemSlug, sleep, slugOf, table, type ApiReply } from '../support/api';
import {
  absurdFrameRate,
  absurdSampleRate,
  concatScript,
  dashManifest,
  elfAsVideo,
  fillerFile,
  hlsPlaylist,
  hostMedia,
  hugeDeclaredDuration,
  pngAsVideo,
  selfConcatScript,
  subtitlesAsVideo,
  textAsVideo,
  truncatedVideo,
  zeroLength,
} from '../support/bad-media';
import { corruptVideo, speechVideo } from '../support/media-fixtures';
import { multipartBody, rawRequest, uploadHead, type RawReply } from '../support/raw-http';
import { startTestStack, type TestStack } from '../support/stack-fixture';

/**
 * The bad-input corpus (issue #7): every hostile or broken input a tenant can send, each with the
 * problem type it is documented to get, against one real stack. Afterwards the gateway and every
 * worker still serve, a good video still succeeds, and nothing of the host reached any output.
 *
 * The stack runs like production for {url} ingest (OMNIAFFECT_INGEST_ALLOW_PRIVATE=false) and with a
 * small MAX_UPLOAD_BYTES so the size limit can be hit cheaply.
 */

const MAX_UPLOAD_BYTES = 3 * 1024 * 1024;
/** What the tiny Whisper decodes for speech-like audio, i.e. what a leaked host file's transcript would read. */
const HOST_TRANSCRIPT = '你好';

interface Row {
  group: string;
  name: string;
  expected: string;
  got: string;
  ok: boolean;
}

describe('bad-input corpus', { timeout: 900_000 }, () => {
  let s: TestStack;
  const started = Date.now();
  const media = mkdtempSync(path.join(os.tmpdir(), 'oa-corpus-'));
  const rows: Row[] = [];
  /** Requests that reached the loopback server standing for "a service on the host" (must stay 0). */
  const hostHits: string[] = [];
  let hostServer: http.Server;
  let hostPort = 0;
  let host: ReturnType<typeof hostMedia>;
  const unexpectedExits: string[] = [];
  const restarting = new Set<ServiceName>();
  /** Upload cases submitted in before(), judged later (they run while the other groups are checked). */
  const uploads: { name: string; expected: string; leakCheck?: boolean; reply: ApiReply; id?: string }[] = [];
  const pidsAtStart = new Map<ServiceName, number>();

  function record(group: string, name: string, expected: string, got: string): boolean {
    const ok = expected === got;
    rows.push({ group, name, expected, got, ok });
    return ok;
  }

  function watchExits(): void {
    for (const name of SERVICES) {
      const h = s.stack.handles.get(name)!;
      h.child.once('exit', (code, signal) => {
        if (!restarting.has(name)) unexpectedExits.push(`${name} (pid ${h.pid}) exited: code ${code} signal ${signal}`);
      });
    }
  }

  /** A multipart upload through fetch with the given file name and part content type. */
  async function upload(file: string, filename: string, contentType: string): Promise<ApiReply> {
    const boundary = `----corpus${Math.random().toString(16).slice(2)}`;
    const body = multipartBody(boundary, [
      { name: 'language', data: 'auto' },
      { name: 'file', filename, contentType, data: readFileSync(file) },
    ]);
    const res = await fetch(`${s.stack.gatewayUrl}/v1/videos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.apiKey}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, contentType: (res.headers.get('content-type') ?? '').split(';')[0].trim(), text, json, headers: res.headers };
  }

  /** "failed <slug>" for a video that ended in failure, "<status>" otherwise. */
  async function outcome(id: string, timeoutMs: number): Promise<{ text: string; doc: VideoDocument | null }> {
    try {
      const doc = await s.client.waitForTerminal(id, timeoutMs);
      return { text: doc.status === 'failed' ? `failed ${slugOf(doc.error?.type)}` : doc.status, doc };
    } catch (err) {
      return { text: `not finished (${(err as Error).message.slice(0, 80)})`, doc: null };
    }
  }

  before(async () => {
    s = await startTestStack({
      OMNIAFFECT_INGEST_ALLOW_PRIVATE: 'false',
      MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
      DOWNLOAD_TIMEOUT_MS: '5000',
      // the corpus sends ~100 requests in a burst from one key: this file is not about rate limits
      RATE_LIMIT_REQUESTS_PER_MINUTE: '0',
      RATE_LIMIT_SUBMISSIONS_PER_MINUTE: '0',
    });
    for (const name of SERVICES) pidsAtStart.set(name, s.stack.handles.get(name)!.pid);
    watchExits();

    host = hostMedia(media);
    // A server on the host's loopback that holds something worth stealing; no request may ever reach it.
    hostServer = http.createServer((req, res) => {
      hostHits.push(`${req.method} ${req.url}`);
      if (req.url === '/redirect-metadata') return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam/' }).end();
      if (req.url === '/redirect-private') return void res.writeHead(302, { location: 'http://10.0.0.1/x.mp4' }).end();
      res.writeHead(200, { 'content-type': 'video/mp4' });
      res.end(readFileSync(host.mp4));
    });
    await new Promise<void>((r) => hostServer.listen(0, '127.0.0.1', r));
    hostPort = (hostServer.address() as AddressInfo).port;

    const good = speechVideo(media, 3);
    const cases: { name: string; file: string; expected: string; leakCheck?: boolean; filename?: string; contentType?: string }[] = [
      { name: 'corrupt (ftyp + random bytes)', file: corruptVideo(media), expected: 'failed unsupported-media' },
      { name: 'truncated mp4 (no moov)', file: truncatedVideo(media, good), expected: 'failed unsupported-media' },
      { name: 'zero-length file', file: zeroLength(media), expected: 'failed unsupported-media' },
      { name: 'plain text as .mp4', file: textAsVideo(media), expected: 'failed unsupported-media' },
      { name: 'SubRip subtitles as .mp4', file: subtitlesAsVideo(media), expected: 'failed unsupported-media' },
      { name: 'PNG image as .mp4', file: pngAsVideo(media), expected: 'failed unsupported-media' },
      { name: 'ELF executable as .mp4', file: elfAsVideo(media), expected: 'failed unsupported-media' },
      {
        name: 'FLAC declaring 3 h (8 KB)',
        file: hugeDeclaredDuration(media),
        expected: 'failed too-long',
        filename: 'declares-3h.flac',
        contentType: 'audio/flac',
      },
      { name: '16x16 at 1000 fps', file: absurdFrameRate(media), expected: 'failed exceeds-limits' },
      { name: 'PCM at 768 kHz', file: absurdSampleRate(media), expected: 'failed exceeds-limits', filename: 'sr768k.wav', contentType: 'audio/wav' },
      { name: 'DASH MPD -> host file', file: dashManifest(media, host.fragmentedMp4), expected: 'failed unsupported-media', leakCheck: true },
      { name: 'HLS m3u8 -> host file', file: hlsPlaylist(media, host.ts), expected: 'failed unsupported-media', leakCheck: true },
      { name: 'ffconcat -> host file', file: concatScript(media, host.mp4), expected: 'failed unsupported-media', leakCheck: true },
      { name: 'ffconcat naming itself', file: selfConcatScript(media), expected: 'failed unsupported-media', leakCheck: true },
      {
        name: 'good video, part type text/plain, name .txt',
        file: good,
        expected: '415 unsupported-content-type',
        filename: 'clip.txt',
        contentType: 'text/plain',
      },
      {
        name: `oversized upload (${MAX_UPLOAD_BYTES + 1024 * 1024} B > MAX_UPLOAD_BYTES)`,
        file: fillerFile(media, 'big.mp4', MAX_UPLOAD_BYTES + 1024 * 1024),
        expected: '413 payload-too-large',
      },
    ];
    for (const c of cases) {
      const reply = await upload(c.file, c.filename ?? path.basename(c.file), c.contentType ?? 'video/mp4');
      const id = reply.status === 202 ? (reply.json as { id: string }).id : undefined;
      uploads.push({ name: c.name, expected: c.expected, leakCheck: c.leakCheck, reply, id });
    }
  });

  after(async () => {
    hostServer?.close();
    if (process.env.E2E_SHOW_LOGS) console.log(s?.logs());
    await s?.teardown();
    const bad = rows.filter((r) => !r.ok);
    console.log(
      `bad-input corpus: ${rows.length} cases, ${rows.length - bad.length} as documented, ${bad.length} not\n` +
        table(
          ['group', 'case', 'expected', 'got', ''],
          rows.map((r) => [r.group, r.name, r.expected, r.got, r.ok ? 'ok' : 'MISMATCH']),
        ),
    );
    console.log(`bad-input corpus wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  test('malformed multipart gets a 4xx problem+json, leaves no partial file, and the gateway keeps serving', async () => {
    const port = s.stack.opts.ports.gateway;
    const key = s.apiKey;
    const clip = readFileSync(speechVideo(media, 2));
    // a file big enough to be still streaming to disk when the part after it arrives (what crashed the gateway)
    const big = readFileSync(fillerFile(media, 'two-mb.mp4', 2 * 1024 * 1024));
    const b = 'corpusboundary';
    const mp = `multipart/form-data; boundary=${b}`;
    const cases: { name: string; contentType: string; body: Buffer; expected: string; opts?: { abortAfter?: number } }[] = [
      {
        name: 'two file parts',
        contentType: mp,
        body: multipartBody(b, [
          { name: 'file', filename: 'a.mp4', contentType: 'video/mp4', data: big },
          { name: 'file', filename: 'b.mp4', contentType: 'video/mp4', data: clip },
        ]),
        expected: '400 validation',
      },
      {
        name: '80 KB text field',
        contentType: mp,
        body: multipartBody(b, [
          { name: 'metadata', data: `{"x":"${'a'.repeat(80 * 1024)}"}` },
          { name: 'file', filename: 'a.mp4', contentType: 'video/mp4', data: clip },
        ]),
        expected: '400 validation',
      },
      {
        name: '80 KB field after the file',
        contentType: mp,
        body: multipartBody(b, [
          { name: 'file', filename: 'a.mp4', contentType: 'video/mp4', data: big },
          { name: 'transcript', data: 'a'.repeat(80 * 1024) },
        ]),
        expected: '400 validation',
      },
      {
        name: 'truncated body (no closing boundary)',
        contentType: mp,
        body: multipartBody(b, [{ name: 'file', filename: 'a.mp4', contentType: 'video/mp4', data: clip.subarray(0, clip.length >> 1) }], false).subarray(
          0,
          -2,
        ),
        expected: '400 validation',
      },
      {
        name: 'boundary in header differs from body',
        contentType: 'multipart/form-data; boundary=somethingelse',
        body: multipartBody(b, [{ name: 'file', filename: 'a.mp4', contentType: 'video/mp4', data: clip }]),
        expected: '400 validation',
      },
      {
        name: 'multipart without a boundary parameter',
        contentType: 'multipart/form-data',
        body: multipartBody(b, [{ name: 'file', filename: 'a.mp4', contentType: 'video/mp4', data: clip }]),
        expected: '400 validation',
      },
      {
        name: 'random bytes as a multipart body',
        contentType: mp,
        body: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff)),
        expected: '400 validation',
      },
      {
        name: 'file under another field name',
        contentType: mp,
        body: multipartBody(b, [{ name: 'video', filename: 'a.mp4', contentType: 'video/mp4', data: clip }]),
        expected: '400 validation',
      },
      {
        name: 'plain text body (neither multipart nor JSON)',
        contentType: 'text/plain',
        body: Buffer.from('http://example.com/video.mp4'),
        expected: '415 unsupported-content-type',
      },
      {
        name: 'JSON that is not an object',
        contentType: 'application/json',
        body: Buffer.from('["http://example.com/a.mp4"]'),
        expected: '400 validation',
      },
    ];
    const results: { name: string; reply: RawReply; expected: string }[] = [];
    for (const c of cases) {
      const reply = await rawRequest(port, uploadHead(port, key, c.contentType, c.body.length), c.body, { timeoutMs: 20_000 });
      const got =
        reply.status === null ? 'no answer' : `${reply.status} ${problemSlug({ status: reply.status, contentType: reply.contentType, json: reply.json })}`;
      record('multipart', c.name, c.expected, got);
      results.push({ name: c.name, reply, expected: c.expected });
      // the gateway must survive each one; a dead gateway makes every later request fail, so say which case killed it
      const alive = await api(s.stack.gatewayUrl, null, 'GET', '/healthz', { timeoutMs: 5000 }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (!alive) record('multipart', `gateway alive after "${c.name}"`, 'alive', 'DEAD');
      if (!alive) break;
    }
    // A client that vanishes mid-file: nothing to answer, but nothing may stay behind either.
    const full = multipartBody(b, [{ name: 'file', filename: 'a.mp4', contentType: 'video/mp4', data: Buffer.concat([clip, clip, clip, clip]) }]);
    await rawRequest(port, uploadHead(port, key, mp, full.length), full, { abortAfter: Math.floor(full.length / 3) });
    const declaredLonger = multipartBody(b, [{ name: 'file', filename: 'a.mp4', contentType: 'video/mp4', data: clip }]);
    await rawRequest(port, uploadHead(port, key, mp, declaredLonger.length * 2), declaredLonger, { abortAfter: declaredLonger.length });
    await sleep(1500);
    const alive = await api(s.stack.gatewayUrl, null, 'GET', '/readyz', { timeoutMs: 5000 }).then(
      (r) => r.status,
      () => 0,
    );
    record('multipart', 'client abort mid-file (x2): gateway /readyz', '200', String(alive));

    // No partial upload left: the only video directories are those of videos the API accepted.
    const accepted = new Set(uploads.filter((u) => u.id).map((u) => u.id!));
    const videosDir = path.join(s.dir, 'artifacts', 'videos');
    let strays: string[] = [];
    for (let i = 0; i < 50; i++) {
      strays = (existsSync(videosDir) ? readdirSync(videosDir) : []).filter((d) => !accepted.has(d));
      if (strays.length === 0) break;
      await sleep(200);
    }
    const partFiles = walk(path.join(s.dir, 'artifacts')).filter((f) => /\.part-/.test(f));
    record('multipart', 'leftover upload dirs / .part files', '0 / 0', `${strays.length} / ${partFiles.length}`);
    const rowsDb = await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM videos');
    record('multipart', 'video rows created by malformed requests', String(accepted.size), String(rowsDb.rows[0].n));
    assert.deepEqual(unexpectedExits, [], 'a service died during the multipart corpus');
    const bad = rows.filter((r) => r.group === 'multipart' && !r.ok);
    assert.deepEqual(
      bad.map((r) => `${r.name}: expected ${r.expected}, got ${r.got}`),
      [],
    );
    for (const r of results) assert.equal(r.reply.contentType, 'application/problem+json', `${r.name}: problem+json`);
  });

  test('hostile URLs (>= 40 SSRF spellings) are refused at submit with 422 url-not-allowed', async () => {
    const L = `:${hostPort}/secret.mp4`;
    const urls: [string, string][] = [
      ['loopback dotted', `http://127.0.0.1${L}`],
      ['loopback short 127.1', `http://127.1${L}`],
      ['loopback short 127.0.1', `http://127.0.1${L}`],
      ['loopback decimal', `http://2130706433${L}`],
      ['loopback hex', `http://0x7f000001${L}`],
      ['loopback dotted hex', `http://0x7f.0x0.0x0.0x1${L}`],
      ['loopback octal', `http://0177.0.0.1${L}`],
      ['loopback octal 32-bit', `http://017700000001${L}`],
      ['loopback octal short', `http://0177.1${L}`],
      ['loopback mixed hex/dec', `http://0x7f.0.1${L}`],
      ['loopback trailing dot', `http://127.0.0.1.${L}`],
      ['loopback elsewhere in 127/8', `http://127.42.0.9${L}`],
      ['zero host "0"', `http://0${L}`],
      ['0.0.0.0', `http://0.0.0.0${L}`],
      ['IPv6 ::1', `http://[::1]${L}`],
      ['IPv6 loopback long form', `http://[0:0:0:0:0:0:0:1]${L}`],
      ['IPv4-compatible [::127.0.0.1]', `http://[::127.0.0.1]${L}`],
      ['IPv4-compatible [::7f00:1]', `http://[::7f00:1]${L}`],
      ['IPv4-mapped [::ffff:127.0.0.1]', `http://[::ffff:127.0.0.1]${L}`],
      ['IPv4-mapped hex [::ffff:7f00:1]', `http://[::ffff:7f00:1]${L}`],
      ['IPv4-mapped long form', `http://[0:0:0:0:0:ffff:127.0.0.1]${L}`],
      ['IPv6 unspecified [::]', `http://[::]${L}`],
      ['IPv6 link-local', `http://[fe80::1]${L}`],
      ['IPv6 link-local with zone', `http://[fe80::1%25lo]${L}`],
      ['IPv6 unique local', `http://[fd00::1]${L}`],
      ['IPv6 site-local (deprecated)', `http://[fec0::1]${L}`],
      ['NAT64 of loopback', `http://[64:ff9b::127.0.0.1]${L}`],
      ['6to4 of loopback', `http://[2002:7f00:1::]${L}`],
      ['IPv6 multicast', `http://[ff02::1]${L}`],
      ['metadata 169.254.169.254', 'http://169.254.169.254/latest/meta-data/'],
      ['metadata decimal', 'http://2852039166/latest/meta-data/'],
      ['metadata hex', 'http://0xa9fea9fe/latest/meta-data/'],
      ['metadata octal', 'http://0251.0376.0251.0376/latest/meta-data/'],
      ['metadata short form', 'http://169.254.43518/latest/meta-data/'],
      ['metadata trailing dot', 'http://169.254.169.254./latest/meta-data/'],
      ['metadata IPv4-mapped', 'http://[::ffff:169.254.169.254]/latest/meta-data/'],
      ['metadata IPv4-compatible', 'http://[::169.254.169.254]/latest/meta-data/'],
      ['private 10/8', 'http://10.0.0.1/x.mp4'],
      ['private 10/8 octal', 'http://012.0.0.1/x.mp4'],
      ['private 172.16/12', 'http://172.16.0.1/x.mp4'],
      ['private 192.168/16 hex', 'http://0xc0a80001/x.mp4'],
      ['CGNAT 100.64/10', 'http://100.64.0.1/x.mp4'],
      ['multicast 224.0.0.1', 'http://224.0.0.1/x.mp4'],
      ['broadcast', 'http://255.255.255.255/x.mp4'],
      ['userinfo user:pass@', `http://user:pass@127.0.0.1${L}`],
      ['userinfo that looks like a host', `http://example.com@127.0.0.1${L}`],
      ['userinfo on a name', `http://admin@localhost${L}`],
      ['fragment trick #@', `http://127.0.0.1${L}#@example.com`],
      ['backslash trick', `http://127.0.0.1:${hostPort}\\@example.com/secret.mp4`],
      ['DNS localhost', `http://localhost${L}`],
      ['DNS LOCALHOST (case)', `http://LOCALHOST${L}`],
      ['DNS localhost. (trailing dot)', `http://localhost.${L}`],
      [`DNS this host's name (${os.hostname()})`, `http://${os.hostname()}${L}`],
      ['redirect to metadata (local server)', `http://127.0.0.1:${hostPort}/redirect-metadata`],
      ['redirect to 10/8 (local server)', `http://localhost:${hostPort}/redirect-private`],
      ['scheme file:', 'file:///etc/passwd'],
      ['scheme gopher:', `gopher://127.0.0.1:${hostPort}/_GET`],
      ['scheme ftp:', 'ftp://127.0.0.1/x.mp4'],
      ['scheme data:', 'data:video/mp4;base64,AAAAGGZ0eXBpc29t'],
    ];
    assert.ok(urls.length >= 40);
    const accepted: [string, string][] = [];
    for (const [name, url] of urls) {
      const r = await api(s.stack.gatewayUrl, s.apiKey, 'POST', '/v1/videos', { json: { url, language: 'auto' } });
      if (r.status === 202 || r.status === 200) {
        accepted.push([name, (r.json as { id: string }).id]);
        rows.push({ group: 'ssrf', name, expected: '422 url-not-allowed', got: `${r.status} accepted`, ok: false });
      } else {
        record('ssrf', name, '422 url-not-allowed', `${r.status} ${problemSlug(r)}`);
      }
    }
    // What became of anything that got through (bounded: a wrongly accepted URL must not hang the test).
    for (const [name, id] of accepted) {
      const row = rows.find((r) => r.group === 'ssrf' && r.name === name)!;
      row.got += ` -> ${(await outcome(id, 20_000)).text}`;
    }
    record('ssrf', 'requests that reached the host-side server', '0', String(hostHits.length));
    const bad = rows.filter((r) => r.group === 'ssrf' && !r.ok);
    assert.deepEqual(
      bad.map((r) => `${r.name}: expected ${r.expected}, got ${r.got}`),
      [],
    );
  });

  test('each uploaded bad file gets its documented problem type; playlists leak nothing of the host file', async () => {
    for (const u of uploads) {
      if (!u.id) {
        record('upload', u.name, u.expected, `${u.reply.status} ${problemSlug(u.reply)}`);
        continue;
      }
      const o = await outcome(u.id, 120_000);
      record('upload', u.name, u.expected, o.text);
      if (o.doc?.status === 'failed') {
        // the result route answers the same problem; the detail names no host path
        const res = await api(s.stack.gatewayUrl, s.apiKey, 'GET', `/v1/videos/${u.id}/result`);
        const slug = problemSlug(res);
        if (`failed ${slug}` !== o.text) record('upload', `${u.name}: /result`, o.text, `${res.status} ${slug}`);
        const detail = `${o.doc.error?.detail ?? ''} ${(res.json as { detail?: string } | null)?.detail ?? ''}`;
        if (detail.includes(s.dir) || detail.includes(media))
          record('upload', `${u.name}: error detail`, 'names no host path', `names ${detail.includes(s.dir) ? 'ARTIFACT_DIR' : 'a host path'}`);
      }
      if (u.leakCheck) {
        // nothing of the host file may reach any output: status, result, features, report, DB, artifacts
        const bodies = await Promise.all(
          ['', '/result', '/features', '/report', '/events'].map((r) =>
            api(s.stack.gatewayUrl, s.apiKey, 'GET', `/v1/videos/${u.id}${r}`, { timeoutMs: 10_000 }).then(
              (x) => x.text,
              (e: Error) => e.message,
            ),
          ),
        );
        const features = await api(s.stack.gatewayUrl, s.apiKey, 'GET', `/v1/videos/${u.id}/features`);
        const tensors = features.status === 200 ? ((features.json as { tensors?: unknown[] }).tensors ?? []).length : 0;
        const emb = await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM embeddings WHERE video_id = $1', [u.id]);
        const res = await s.db.query<{ n: number }>('SELECT count(*)::int AS n FROM results WHERE video_id = $1', [u.id]);
        const vdir = path.join(s.dir, 'artifacts', 'videos', u.id);
        const derived = existsSync(vdir)
          ? readdirSync(vdir).filter((f) => /^(audio\.wav|frames|asr\.json|vision\.json|audio-emotion\.json|text\.json)/.test(f))
          : [];
        const leaks = [
          bodies.some((t) => t.includes(HOST_TRANSCRIPT)) ? 'transcript in API output' : '',
          tensors > 0 ? `${tensors} tensors via /features` : '',
          emb.rows[0].n > 0 ? `${emb.rows[0].n} embedding rows` : '',
          res.rows[0].n > 0 ? 'a result row' : '',
          derived.length > 0 ? `derived artifacts (${derived.join(', ')})` : '',
        ].filter(Boolean);
        record('upload', `${u.name}: host data in outputs`, 'none', leaks.length ? `LEAK: ${leaks.join('; ')}` : 'none');
      }
    }
    const bad = rows.filter((r) => r.group === 'upload' && !r.ok);
    assert.deepEqual(
      bad.map((r) => `${r.name}: expected ${r.expected}, got ${r.got}`),
      [],
    );
  });

  test('the media worker re-checks every URL itself (gateway check off): loopback, rebinding names, redirects fail url-not-allowed', async () => {
    // Defence in depth: restart only the gateway with private ingest allowed; the media worker keeps
    // OMNIAFFECT_INGEST_ALLOW_PRIVATE=false and must refuse at connect time, redirects included.
    assert.deepEqual(unexpectedExits, [], 'a service died during the corpus');
    restarting.add('gateway');
    s.stack.opts.env.OMNIAFFECT_INGEST_ALLOW_PRIVATE = 'true';
    try {
      await s.stack.kill('gateway', 'SIGTERM');
      await s.stack.startOne('gateway');
    } finally {
      s.stack.opts.env.OMNIAFFECT_INGEST_ALLOW_PRIVATE = 'false';
    }
    const hitsBefore = hostHits.length;
    const urls: [string, string][] = [
      ['loopback literal', `http://127.0.0.1:${hostPort}/secret.mp4`],
      ['name resolving to loopback', `http://localhost:${hostPort}/secret.mp4`],
      ['IPv4-compatible [::127.0.0.1]', `http://[::127.0.0.1]:${hostPort}/secret.mp4`],
      ['IPv4-mapped [::ffff:127.0.0.1]', `http://[::ffff:127.0.0.1]:${hostPort}/secret.mp4`],
      ['decimal loopback', `http://2130706433:${hostPort}/secret.mp4`],
    ];
    const ids: [string, string][] = [];
    for (const [name, url] of urls) {
      const r = await api(s.stack.gatewayUrl, s.apiKey, 'POST', '/v1/videos', { json: { url } });
      if (r.status !== 202) record('media-guard', name, 'failed url-not-allowed', `${r.status} ${problemSlug(r)} at submit`);
      else ids.push([name, (r.json as { id: string }).id]);
    }
    for (const [name, id] of ids) record('media-guard', name, 'failed url-not-allowed', (await outcome(id, 60_000)).text);
    record('media-guard', 'requests that reached the host-side server', '0', String(hostHits.length - hitsBefore));
    const bad = rows.filter((r) => r.group === 'media-guard' && !r.ok);
    assert.deepEqual(
      bad.map((r) => `${r.name}: expected ${r.expected}, got ${r.got}`),
      [],
    );
  });

  test('afterwards the gateway and every worker are alive and ready, and a good video still succeeds', async () => {
    assert.deepEqual(unexpectedExits, [], 'services that died during the corpus');
    for (const name of SERVICES) {
      const h = s.stack.handles.get(name)!;
      assert.equal(h.child.exitCode, null, `${name} exited`);
      assert.equal(h.child.signalCode, null, `${name} was killed`);
      if (name !== 'gateway') assert.equal(h.pid, pidsAtStart.get(name), `${name} was restarted`);
      const r = await fetch(readinessUrl(name, s.stack.opts.ports), { signal: AbortSignal.timeout(5000) });
      assert.equal(r.status, 200, `${name} /readyz`);
    }
    const { id } = await s.client.submitFile(speechVideo(media, 3));
    const doc = await s.client.waitForTerminal(id, 180_000);
    record('after', 'a good video', 'succeeded', doc.status);
    assert.equal(doc.status, 'succeeded', JSON.stringify(doc.error));
    const r = await s.client.result<AnalysisResult>(id);
    assert.ok(r.transcript.text.length > 0, 'the good video has a transcript');
    assert.deepEqual([r.modalities.text.present, r.modalities.audio.present, r.modalities.vision.present], [true, true, true]);
  });
});

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    const st = statSync(p, { throwIfNoEntry: false }); // a file may go while we look
    if (st?.isDirectory()) out.push(...walk(p));
    else if (st) out.push(p);
  }
  return out;
}
