import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHECKSUM_MANIFEST, buildTinyAudioEmotion, pullModelRepo, readChecksumManifest, verifyModelDir, type PullProgress } from '../src';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A hub serving one tiny model: model.onnx (LFS, with sha256) and tokens.txt (plain git file). */
const files = new Map<string, Buffer>();
let server: Server;
let endpoint: string;
const requests: { path: string; range?: string }[] = [];
/** behaviour switches for the next requests */
const faults = { cutNext: 0, corrupt: false, lfsSha: true, etag: false };
let pendingCut: { at: number; cut: () => void } | undefined;
/** onProgress hook that lets the server cut the connection once the first half is on disk */
const cutWhenStored = (p: PullProgress) => {
  if (pendingCut && p.state === 'downloading' && p.received >= pendingCut.at) {
    pendingCut.cut();
    pendingCut = undefined;
  }
};

before(async () => {
  files.set('model.onnx', Buffer.from(buildTinyAudioEmotion().toBytes()));
  files.set('tokens.txt', Buffer.from('生气/angry\n厌恶/disgusted\n恐惧/fearful\n开心/happy\n中立/neutral\n其他/other\n难过/sad\n吃惊/surprised\n<unk>\n'));
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    requests.push({ path: url.pathname, range: req.headers.range });
    if (req.headers.authorization !== 'Bearer hf_test') {
      res.writeHead(401).end();
      return;
    }
    if (url.pathname === '/api/models/org/tiny/revision/main') {
      const siblings = [...files].map(([rfilename, b]) =>
        rfilename.endsWith('.onnx') && faults.lfsSha ? { rfilename, lfs: { sha256: sha(b), size: b.length } } : { rfilename },
      );
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'org/tiny', siblings }));
      return;
    }
    const m = /^\/org\/tiny\/resolve\/main\/(.+)$/.exec(url.pathname);
    const body = m ? files.get(decodeURIComponent(m[1]!)) : undefined;
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    let data = faults.corrupt ? Buffer.from(body.map((v, i) => (i === 100 ? v ^ 0xff : v))) : body;
    const headers: Record<string, string | number> = {};
    if (faults.etag) headers['x-linked-etag'] = `"${sha(body)}"`;
    let status = 200;
    const r = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (r) {
      const start = Number(r[1]);
      headers['content-range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
      data = data.subarray(start);
      status = 206;
    }
    headers['content-length'] = data.length;
    res.writeHead(status, headers);
    if (faults.cutNext > 0) {
      faults.cutNext--;
      // Send half the body, then hold the connection until the client reports it has stored those bytes
      // (fetch drops chunks still queued when the stream errors, so an immediate close would race).
      const half = Math.floor(data.length / 2);
      res.write(data.subarray(0, half));
      pendingCut = { at: half, cut: () => res.socket?.destroy() };
      return;
    }
    res.end(data);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function reset(): string {
  Object.assign(faults, { cutNext: 0, corrupt: false, lfsSha: true, etag: false });
  requests.length = 0;
  pendingCut = undefined;
  return mkdtempSync(join(tmpdir(), 'pull-'));
}

test('full download: files land verified, manifest written, later pulls re-verify without downloading', async () => {
  const dest = reset();
  const progress: PullProgress[] = [];
  const r = await pullModelRepo({ endpoint, repo: 'org/tiny', files: 'all', destDir: dest, token: 'hf_test', onProgress: (p) => progress.push(p) });
  assert.deepEqual(r.files.map((f) => [f.path, f.source, f.verifiedBy]).sort(), [
    ['model.onnx', 'downloaded', 'lfs'],
    ['tokens.txt', 'downloaded', 'recorded'],
  ]);
  assert.ok(readFileSync(join(dest, 'model.onnx')).equals(files.get('model.onnx')!));
  assert.ok(!existsSync(join(dest, 'model.onnx.part')));
  const manifest = readChecksumManifest(dest);
  assert.equal(manifest.get('model.onnx'), sha(files.get('model.onnx')!));
  assert.equal(manifest.get('tokens.txt'), sha(files.get('tokens.txt')!));
  assert.match(readFileSync(join(dest, CHECKSUM_MANIFEST), 'utf8'), /^[0-9a-f]{64} {2}model\.onnx\n/);
  assert.ok(progress.some((p) => p.file === 'model.onnx' && p.state === 'done'));
  assert.equal((await verifyModelDir('audio-emotion', dest)).ok, true);

  requests.length = 0;
  const again = await pullModelRepo({ endpoint, repo: 'org/tiny', files: ['model.onnx', 'tokens.txt'], destDir: dest, token: 'hf_test' });
  assert.deepEqual(
    again.files.map((f) => f.source),
    ['cached', 'cached'],
  );
  assert.ok(!requests.some((q) => q.path.includes('/resolve/')));

  // A local file that no longer matches the manifest is fetched again.
  writeFileSync(join(dest, 'tokens.txt'), 'tampered\n');
  const healed = await pullModelRepo({ endpoint, repo: 'org/tiny', files: ['tokens.txt'], destDir: dest, token: 'hf_test' });
  assert.equal(healed.files[0]!.source, 'downloaded');
  assert.ok(readFileSync(join(dest, 'tokens.txt')).equals(files.get('tokens.txt')!));
});

test('resume: a connection cut mid-file is continued with an HTTP Range request', async () => {
  const dest = reset();
  faults.cutNext = 1;
  const r = await pullModelRepo({ endpoint, repo: 'org/tiny', files: ['model.onnx'], destDir: dest, token: 'hf_test', onProgress: cutWhenStored });
  assert.equal(r.files[0]!.source, 'resumed');
  const gets = requests.filter((q) => q.path.endsWith('/model.onnx'));
  assert.equal(gets.length, 2);
  assert.equal(gets[0]!.range, undefined);
  assert.equal(gets[1]!.range, `bytes=${Math.floor(files.get('model.onnx')!.length / 2)}-`);
  assert.ok(readFileSync(join(dest, 'model.onnx')).equals(files.get('model.onnx')!));
});

test('resume across runs: a failed pull leaves a .part that the next pull continues', async () => {
  const dest = reset();
  faults.cutNext = 1;
  await assert.rejects(
    pullModelRepo({ endpoint, repo: 'org/tiny', files: ['model.onnx'], destDir: dest, token: 'hf_test', retries: 0, onProgress: cutWhenStored }),
    /model\.onnx|terminated|closed|socket/i,
  );
  assert.ok(!existsSync(join(dest, 'model.onnx')));
  const partial = statSync(join(dest, 'model.onnx.part')).size;
  assert.ok(partial > 0 && partial < files.get('model.onnx')!.length);
  requests.length = 0;
  const r = await pullModelRepo({ endpoint, repo: 'org/tiny', files: ['model.onnx'], destDir: dest, token: 'hf_test' });
  assert.equal(r.files[0]!.source, 'resumed');
  assert.equal(requests.find((q) => q.path.endsWith('/model.onnx'))!.range, `bytes=${partial}-`);
  assert.equal(sha(readFileSync(join(dest, 'model.onnx'))), sha(files.get('model.onnx')!));
});

test('checksum mismatch against the listing sha256 is rejected and nothing is installed', async () => {
  const dest = reset();
  faults.corrupt = true;
  await assert.rejects(
    pullModelRepo({ endpoint, repo: 'org/tiny', files: ['model.onnx'], destDir: dest, token: 'hf_test' }),
    /checksum mismatch for model\.onnx: expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}/,
  );
  assert.ok(!existsSync(join(dest, 'model.onnx')));
  assert.ok(!existsSync(join(dest, 'model.onnx.part')));
});

test('without LFS info the X-Linked-ETag sha256 is used, and a mismatch is rejected', async () => {
  const dest = reset();
  Object.assign(faults, { lfsSha: false, etag: true });
  const ok = await pullModelRepo({ endpoint, repo: 'org/tiny', files: ['model.onnx'], destDir: dest, token: 'hf_test' });
  assert.equal(ok.files[0]!.verifiedBy, 'etag');
  const dest2 = mkdtempSync(join(tmpdir(), 'pull-'));
  faults.corrupt = true;
  await assert.rejects(pullModelRepo({ endpoint, repo: 'org/tiny', files: ['model.onnx'], destDir: dest2, token: 'hf_test' }), /checksum mismatch/);
});

test('missing files and auth failures are explained', async () => {
  const dest = reset();
  await assert.rejects(pullModelRepo({ endpoint, repo: 'org/tiny', files: ['onnx/nope.onnx'], destDir: dest, token: 'hf_test' }), /has no onnx\/nope\.onnx/);
  const skipped = await pullModelRepo({
    endpoint,
    repo: 'org/tiny',
    files: ['onnx/nope.onnx', 'tokens.txt'],
    destDir: dest,
    token: 'hf_test',
    skipMissing: true,
  });
  assert.deepEqual(skipped.skipped, ['onnx/nope.onnx']);
  assert.deepEqual(
    skipped.files.map((f) => f.path),
    ['tokens.txt'],
  );
  await assert.rejects(pullModelRepo({ endpoint, repo: 'org/tiny', files: 'all', destDir: dest }), /HTTP 401 \(gated or private: pass a token\)/);
});
