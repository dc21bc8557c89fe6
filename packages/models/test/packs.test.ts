import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CHECKSUM_MANIFEST, PACK_RECORD, STANDARD_PACK, formatPackPlan, pullPack, readChecksumManifest, verifyModelDir } from '../src';
import { startFakeHub, type FakeHub } from './fake-hub';

let hub: FakeHub;
let root: string;
before(async () => {
  hub = await startFakeHub();
  root = mkdtempSync(path.join(tmpdir(), 'oa-packs-'));
});
after(async () => {
  await hub.close();
  rmSync(root, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const resolves = () => hub.requests.filter((r) => r.path.includes('/resolve/'));

test('--dry-run lists every kind through the hub API: repository, pinned revision, files, sizes, total; downloads nothing', async () => {
  hub.requests.length = 0;
  const r = await pullPack({ pack: STANDARD_PACK, outDir: path.join(root, 'dry'), endpoint: hub.endpoint, dryRun: true });
  assert.equal(resolves().length, 0);
  assert.ok(!existsSync(path.join(root, 'dry')));
  assert.deepEqual(
    r.models.map((m) => m.plan.model.dir),
    ['asr', 'audio-emotion', 'vision', 'text-en', 'text-zh'],
  );
  const asr = r.models[0]!.plan;
  assert.deepEqual(asr.files.map((f) => f.path).slice(0, 3), ['onnx/encoder_model.onnx', 'onnx/encoder_model.onnx_data', 'onnx/decoder_model_merged.onnx']);
  assert.ok(!asr.files.some((f) => f.path === 'onnx/decoder_model.onnx' || f.path === 'README.md'), 'only the files the worker loads');
  const encoder = hub.repos.get('onnx-community/whisper-large-v3-turbo')!.files.get('onnx/encoder_model.onnx')!.body;
  assert.equal(asr.files[0]!.sha256, sha(encoder), 'sha256 as the listing reports it');
  const expectedTotal = r.models.reduce((a, m) => a + m.plan.files.reduce((b, f) => b + f.size!, 0), 0);
  assert.equal(r.bytes, expectedTotal);
  const text = formatPackPlan(r);
  for (const m of STANDARD_PACK.models) assert.ok(text.includes(`${m.repo}@${m.revision}`), `plan names ${m.repo} and its revision`);
  assert.match(text, /emotion2vec_plus_base\.onnx → source\/emotion2vec_plus_base\.onnx/);
  assert.match(text, /^total \d/m);
});

test('--dtype fp16 picks the variants each repository publishes and falls back to fp32 where it has none', async () => {
  const r = await pullPack({ pack: STANDARD_PACK, outDir: path.join(root, 'dry16'), endpoint: hub.endpoint, dryRun: true, dtype: 'fp16' });
  const byDir = new Map(r.models.map((m) => [m.plan.model.dir, m.plan]));
  assert.deepEqual(
    byDir
      .get('asr')!
      .files.map((f) => f.path)
      .slice(0, 2),
    ['onnx/encoder_model_fp16.onnx', 'onnx/decoder_model_merged_fp16.onnx'],
  );
  assert.equal(byDir.get('vision')!.dtype, 'fp16');
  assert.equal(byDir.get('text-zh')!.dtype, 'fp32');
  assert.match(byDir.get('text-zh')!.dtypeNote!, /no fp16 variant/);
  // SigLIP advertises q8 but this hub lists none: refused before any download.
  hub.requests.length = 0;
  await assert.rejects(
    pullPack({ pack: STANDARD_PACK, outDir: path.join(root, 'bad8'), endpoint: hub.endpoint, dtype: 'q8', only: ['vision'] }),
    /Xenova\/siglip-base-patch16-224@294847d\w+ lists no onnx\/vision_model_quantized\.onnx/,
  );
  assert.equal(resolves().length, 0);
  await assert.rejects(pullPack({ pack: STANDARD_PACK, outDir: root, endpoint: hub.endpoint, dryRun: true, dtype: 'fp12' }), /unknown dtype fp12/);
});

test('--pack standard pulls every kind, adapts text and emotion2vec, writes checksums and pack.json, and every directory passes its contract', async () => {
  const out = path.join(root, 'full');
  const r = await pullPack({ pack: STANDARD_PACK, outDir: out, endpoint: hub.endpoint });
  for (const m of r.models) assert.equal(m.verify!.ok, true, `${m.plan.model.dir}: ${JSON.stringify(m.verify!.rows.filter((x) => !x.ok))}`);
  assert.equal(r.ok, true);
  // The sidecar sits next to its graph, so ORT resolves it (the verify above loaded the encoder through it).
  assert.ok(existsSync(path.join(out, 'asr', 'onnx', 'encoder_model.onnx_data')));
  // config.json names q4 for the decoder; omniaffect.json pins what was pulled.
  assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'asr', 'omniaffect.json'), 'utf8')), { dtype: 'fp32' });
  for (const m of STANDARD_PACK.models) {
    const manifest = readChecksumManifest(path.join(out, m.dir));
    const repo = hub.repos.get(m.repo)!;
    const plan = r.models.find((x) => x.plan.model.dir === m.dir)!.plan;
    for (const f of plan.files) assert.equal(manifest.get(f.dest), sha(repo.files.get(f.path)!.body), `${m.dir}/${f.dest} in ${CHECKSUM_MANIFEST}`);
  }
  assert.ok(r.models.find((m) => m.plan.model.dir === 'text-en')!.adapt!.report.changed);
  assert.match(r.models.find((m) => m.plan.model.dir === 'audio-emotion')!.adapt!.report.note, /renamed input speech → input/);
  assert.ok(existsSync(path.join(out, 'audio-emotion', 'head.json')) && existsSync(path.join(out, 'audio-emotion', 'tokens.txt')));
  const record = JSON.parse(readFileSync(path.join(out, PACK_RECORD), 'utf8')) as { models: { dir: string; revision: string; contract: string }[] };
  assert.deepEqual(
    record.models.map((m) => [m.dir, m.contract]),
    STANDARD_PACK.models.map((m) => [m.dir, 'ok']),
  );

  // A second pull re-verifies by checksum and downloads nothing.
  hub.requests.length = 0;
  const again = await pullPack({ pack: STANDARD_PACK, outDir: out, endpoint: hub.endpoint });
  assert.equal(again.ok, true);
  assert.equal(resolves().length, 0);
  assert.ok(again.models.every((m) => m.pull!.files.every((f) => f.source === 'cached')));
});

test('a cut connection is resumed with a Range request and the pack still verifies', async () => {
  const out = path.join(root, 'resume');
  hub.requests.length = 0;
  hub.faults.cutFile = 'onnx/model.onnx';
  const r = await pullPack({ pack: STANDARD_PACK, outDir: out, endpoint: hub.endpoint, only: ['text-en'], onProgress: hub.progress });
  const pulled = r.models[0]!.pull!.files.find((f) => f.path === 'source/model.onnx')!;
  assert.equal(pulled.source, 'resumed');
  const gets = resolves().filter((q) => q.path.endsWith('/onnx/model.onnx'));
  const body = hub.repos.get('Xenova/bert-base-uncased')!.files.get('onnx/model.onnx')!.body;
  assert.equal(gets.length, 2);
  assert.equal(gets[0]!.range, undefined);
  assert.equal(gets[1]!.range, `bytes=${Math.floor(body.length / 2)}-`);
  assert.equal(sha(readFileSync(path.join(out, 'text-en', 'source', 'model.onnx'))), sha(body));
  assert.equal(r.ok, true);
});

test('a checksum mismatch is refused: nothing installed under the name, the pack fails', async () => {
  const out = path.join(root, 'corrupt');
  hub.faults.corruptFile = 'onnx/vision_model.onnx';
  try {
    await assert.rejects(
      pullPack({ pack: STANDARD_PACK, outDir: out, endpoint: hub.endpoint, only: ['vision'] }),
      /checksum mismatch for onnx\/vision_model\.onnx: expected sha256 [0-9a-f]{64}/,
    );
  } finally {
    hub.faults.corruptFile = undefined;
  }
  assert.ok(!existsSync(path.join(out, 'vision', 'onnx', 'vision_model.onnx')));
  assert.ok(!existsSync(path.join(out, 'vision', 'onnx', 'vision_model.onnx.part')));
  assert.equal((await verifyModelDir('vision', path.join(out, 'vision'))).ok, false);
});

test('unknown pack directories and revisions are explained', async () => {
  await assert.rejects(pullPack({ pack: STANDARD_PACK, outDir: root, endpoint: hub.endpoint, only: ['fusion'] }), /has no fusion; it has asr, audio-emotion/);
  await assert.rejects(
    pullPack({ pack: STANDARD_PACK, outDir: root, endpoint: hub.endpoint, unpinned: true, dryRun: true, only: ['asr'] }),
    /listing onnx-community\/whisper-large-v3-turbo@main failed: HTTP 404 \(unknown repository or revision\)/,
  );
});
