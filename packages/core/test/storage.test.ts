import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { ArtifactStore, SizeLimitError, artifactPaths } from '../src/storage';

const root = mkdtempSync(path.join(tmpdir(), 'oa-store-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function listAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listAll(p)));
    else out.push(path.relative(root, p));
  }
  return out.sort();
}

test('writeJson/readJson round trip leaves only the final file (no temp files)', async () => {
  const store = new ArtifactStore(root);
  const rel = artifactPaths.stageOutput('vid-1', 'media');
  await store.writeJson(rel, { a: 1, b: [1, 2] });
  assert.deepEqual(await store.readJson(rel), { a: 1, b: [1, 2] });
  assert.equal(await store.exists(rel), true);
  assert.equal(await store.exists(artifactPaths.stageOutput('vid-1', 'asr')), false);
  assert.deepEqual(await listAll(path.join(root, 'videos', 'vid-1')).then((l) => l.map((f) => path.basename(f))), ['media.json']);
});

test('overwriting replaces the content atomically: readers see old or new, never a mix', async () => {
  const store = new ArtifactStore(root);
  const rel = 'videos/vid-2/big.json';
  const big = (c: string) => ({ fill: c.repeat(200_000) });
  await store.writeJson(rel, big('a'));
  const reads: string[] = [];
  const reader = (async () => {
    for (let i = 0; i < 30; i++) {
      const text = await fs.readFile(store.resolve(rel), 'utf8');
      reads.push(text);
    }
  })();
  await store.writeJson(rel, big('b'));
  await reader;
  for (const text of reads) {
    const v = JSON.parse(text) as { fill: string };
    assert.ok(v.fill === 'a'.repeat(200_000) || v.fill === 'b'.repeat(200_000), 'a torn read');
  }
  assert.equal((await store.readJson<{ fill: string }>(rel)).fill[0], 'b');
});

test('concurrent writes of the same artifact all succeed and leave one whole version', async () => {
  // At-least-once delivery can run the same handler twice at once; both writes must land cleanly.
  const store = new ArtifactStore(root);
  const rel = 'videos/vid-3/asr.json';
  const values = Array.from({ length: 10 }, (_, i) => ({ writer: i, pad: String(i).repeat(50_000) }));
  const results = await Promise.allSettled(values.map((v) => store.writeJson(rel, v)));
  const failures = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
  assert.deepEqual(failures, []);
  const final = await store.readJson<{ writer: number; pad: string }>(rel);
  assert.equal(final.pad, String(final.writer).repeat(50_000));
  assert.deepEqual((await fs.readdir(path.dirname(store.resolve(rel)))).sort(), ['asr.json']);
});

test('resolve keeps paths inside the root and refuses escapes', () => {
  const store = new ArtifactStore(root);
  assert.equal(store.resolve('videos/x/source'), path.join(root, 'videos', 'x', 'source'));
  assert.equal(store.resolve('videos/x/../y/source'), path.join(root, 'videos', 'y', 'source'));
  assert.equal(store.resolve('.'), root);
  for (const bad of ['../outside', 'videos/../../outside', '/etc/passwd', `../${path.basename(root)}-evil/f`, 'videos/x/../../../../etc/passwd']) {
    assert.throws(() => store.resolve(bad), /path escapes artifact store/, bad);
  }
  assert.equal(store.relative(path.join(root, 'videos', 'x', 'a.wav')), path.join('videos', 'x', 'a.wav'));
});

test('videoDir refuses ids that are not safe path components', () => {
  const store = new ArtifactStore(root);
  assert.equal(store.videoDir('abc-123_X'), path.join(root, 'videos', 'abc-123_X'));
  for (const bad of ['..', '../x', 'a/b', '', 'a.b']) assert.throws(() => store.videoDir(bad), /invalid video id/, bad);
});

test('writeStream writes the stream and returns its size', async () => {
  const store = new ArtifactStore(root);
  const data = Buffer.alloc(300_000, 7);
  const n = await store.writeStream('videos/vid-4/source', Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]), 1_000_000);
  assert.equal(n, 300_000);
  assert.deepEqual(await fs.readFile(store.resolve('videos/vid-4/source')), data);
});

test('writeStream over the size limit rejects with SizeLimitError and leaves no file behind', async () => {
  const store = new ArtifactStore(root);
  const chunks = Array.from({ length: 20 }, () => Buffer.alloc(64 * 1024, 1));
  await assert.rejects(
    store.writeStream('videos/vid-5/source', Readable.from(chunks), 200_000),
    (err: unknown) => err instanceof SizeLimitError && err.limitBytes === 200_000,
  );
  assert.equal(await store.exists('videos/vid-5/source'), false);
  assert.deepEqual(await fs.readdir(path.join(root, 'videos', 'vid-5')), [], 'the partial file must be removed');
});

test('writeStream refuses an escaping path before creating anything', async () => {
  const store = new ArtifactStore(root);
  await assert.rejects(store.writeStream('../escape', Readable.from([Buffer.from('x')])), /escapes/);
  await assert.rejects(fs.access(path.join(path.dirname(root), 'escape')));
});

test('removeVideo erases the video directory', async () => {
  const store = new ArtifactStore(root);
  await store.writeFile(artifactPaths.frame('vid-6', 1), Buffer.from('jpg'));
  assert.equal(await store.exists('videos/vid-6/frames/000001.jpg'), true);
  await store.removeVideo('vid-6');
  assert.equal(await store.exists('videos/vid-6'), false);
});

test('createJsonExclusive: of concurrent writers exactly one creates the file, and it stays whole', async () => {
  const store = new ArtifactStore(root);
  const rel = artifactPaths.stageOutput('vid-7', 'media');
  const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => store.createJsonExclusive(rel, { writer: n })));
  assert.equal(results.filter(Boolean).length, 1);
  const winner = results.indexOf(true) + 1;
  assert.deepEqual(await store.readJson(rel), { writer: winner });
  assert.equal(await store.createJsonExclusive(rel, { writer: 99 }), false, 'an existing file is never replaced');
  assert.deepEqual(await listAll(path.join(root, 'videos', 'vid-7')).then((l) => l.map((f) => path.basename(f))), ['media.json']);
});

test('removeMedia erases source, audio, frames and what a killed write left half-done; keeps outputs', async () => {
  const store = new ArtifactStore(root);
  const dir = path.join(root, 'videos', 'vid-8');
  await store.writeFile(artifactPaths.source('vid-8'), Buffer.from('src'));
  await store.writeFile(artifactPaths.audio('vid-8'), Buffer.from('wav'));
  await store.writeFile(artifactPaths.frame('vid-8', 0), Buffer.from('jpg'));
  await store.writeJson(artifactPaths.stageOutput('vid-8', 'media'), {});
  await fs.writeFile(path.join(dir, 'audio.wav.tmp-1b4e28ba-2fa1-11d2-883f-0016d3cca427'), 'partial');
  await fs.mkdir(path.join(dir, 'frames.tmp-1b4e28ba-2fa1-11d2-883f-0016d3cca427'));
  await fs.writeFile(path.join(dir, 'source.part-1b4e28ba-2fa1-11d2-883f-0016d3cca427'), 'half a download');
  await store.removeMedia('vid-8');
  assert.deepEqual(await fs.readdir(dir), ['media.json']);
});

test('createJsonExclusive on a volume without hard links (link fails with EPERM) is still exclusive', async (t) => {
  const store = new ArtifactStore(root);
  const rel = artifactPaths.stageOutput('vid-9', 'media');
  // SMB shares and some FUSE mounts refuse link(2) like this
  const link = t.mock.method(fs, 'link', async () => {
    throw Object.assign(new Error('operation not permitted'), { code: 'EPERM' });
  });
  assert.equal(await store.createJsonExclusive(rel, { writer: 1 }), true);
  assert.equal(await store.createJsonExclusive(rel, { writer: 2 }), false);
  assert.deepEqual(await store.readJson(rel), { writer: 1 });
  assert.equal(link.mock.callCount(), 2, 'both calls went through the refused link(2)');
  assert.deepEqual(await listAll(path.join(root, 'videos', 'vid-9')).then((l) => l.map((f) => path.basename(f))), ['media.json']);
});
