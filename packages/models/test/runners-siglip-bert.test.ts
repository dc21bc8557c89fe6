import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GraphBuilder, ModelBuilder } from '../src/onnx-builder';
import { buildTinyPack, seededMatrix, TEXT_EN, tinyEmbeddings } from '../src/tiny';
import { BertRunner, SiglipRunner, TextEncoders, SIGLIP_PIXELS } from '../src/runners';

let root: string;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tiny-pack.json is read as loose JSON
let pack: any;
let en: BertRunner;
let zh: BertRunner;
let siglip: SiglipRunner;

before(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'oa-runners-text-'));
  buildTinyPack(root);
  pack = JSON.parse(readFileSync(path.join(root, 'tiny-pack.json'), 'utf8'));
  en = await BertRunner.load(path.join(root, pack.dirs.textEn));
  zh = await BertRunner.load(path.join(root, pack.dirs.textZh));
  siglip = await SiglipRunner.load(path.join(root, pack.dirs.vision));
});
after(() => rmSync(root, { recursive: true, force: true }));

function image(seed: number): Float32Array {
  const x = new Float32Array(SIGLIP_PIXELS);
  let s = seed;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = (s / 2147483648) * 2 - 1 + (i < SIGLIP_PIXELS / 3 ? 0.3 * seed : 0);
  }
  return x;
}

test('SigLIP: a batch of three equals three single runs', async () => {
  const imgs = [image(1), image(2), image(3)];
  const runsBefore = siglip.inferenceStats.sessionRuns;
  const batch = await siglip.embed(imgs);
  assert.equal(siglip.inferenceStats.sessionRuns, runsBefore + 1);
  assert.equal(batch.length, 3);
  assert.equal(batch[0]!.length, pack.models.vision.dim);
  for (let i = 0; i < 3; i++) {
    const [single] = await siglip.embed([imgs[i]!]);
    for (let d = 0; d < single!.length; d++) assert.ok(Math.abs(single![d]! - batch[i]![d]!) < 1e-5);
  }
  assert.notDeepEqual(batch[0], batch[1]);
  await assert.rejects(siglip.embed([new Float32Array(10)]), /3×224×224/);
  assert.deepEqual(await siglip.embed([]), []);
});

test('BERT: token_type_ids are fed only where the session lists them', () => {
  assert.deepEqual(pack.models['text-en'].inputs, ['input_ids', 'attention_mask', 'token_type_ids']);
  assert.equal(en.feedsTokenTypeIds, true);
  assert.equal(zh.feedsTokenTypeIds, false);
});

test('BERT en: pieces map back to the words through their char offsets; pooled is the masked mean', async () => {
  const text = 'Hello Worlds, I LOVE this movie!';
  const r = await en.embed(text);
  assert.deepEqual(
    r.tokens.map((t) => [t.piece, t.text, t.charStart, t.charEnd]),
    [
      ['hello', 'Hello', 0, 5],
      ['world', 'World', 6, 11],
      ['##s', 's', 11, 12],
      [',', ',', 12, 13],
      ['i', 'I', 14, 15],
      ['love', 'LOVE', 16, 20],
      ['this', 'this', 21, 25],
      ['movie', 'movie', 26, 31],
      ['!', '!', 31, 32],
    ],
  );
  for (const t of r.tokens) assert.equal(text.slice(t.charStart, t.charEnd), t.text);
  assert.equal(r.dim, 32);
  assert.equal(r.windows, 1);
  // Channel 0 is the planted polarity: only "love" (+1) among 9 pieces + [CLS] + [SEP].
  assert.ok(Math.abs(r.pooled[0]! - 1 / 11) < 1e-6, `pooled[0]=${r.pooled[0]}`);
  assert.equal(r.tokens[5]!.embedding[0], 1);
  assert.equal(r.model, path.basename(path.join(root, pack.dirs.textEn)));
});

test('BERT zh: one token per Chinese character with exact offsets', async () => {
  const text = '今天很开心！';
  const r = await zh.embed(text);
  assert.deepEqual(
    r.tokens.map((t) => t.text),
    ['今', '天', '很', '开', '心', '！'],
  );
  assert.deepEqual(
    r.tokens.map((t) => t.charStart),
    [0, 1, 2, 3, 4, 5],
  );
  assert.ok(r.pooled[0]! > 0);
});

test('BERT sliding windows: a 1,500-piece text covers every piece once, each from its most central window', async () => {
  const text = 'good day '.repeat(750);
  const r = await en.embed(text);
  assert.equal(r.windows, 4);
  assert.equal(r.tokens.length, 1500);
  r.tokens.forEach((t, i) => {
    assert.equal(t.text, i % 2 === 0 ? 'good' : 'day');
    assert.equal(t.charStart, Math.floor(i / 2) * 9 + (i % 2 === 0 ? 0 : 5));
  });
  // The tiny encoder adds a position term, so each embedding reveals its window position.
  const D = 32;
  const E = tinyEmbeddings(TEXT_EN);
  const P = seededMatrix(TEXT_EN.seed + 100, 512, D, 0.05);
  const TT = seededMatrix(TEXT_EN.seed + 200, 2, D, 0.05);
  const room = 510;
  const starts = [0, 382, 764, 1146];
  const lens = starts.map((s) => Math.min(room, 1500 - s));
  r.tokens.forEach((t, p) => {
    let bestK = -1;
    let best = -1;
    starts.forEach((s, k) => {
      const j = p - s;
      if (j < 0 || j >= lens[k]!) return;
      const c = Math.min(j, lens[k]! - 1 - j);
      if (c > best) {
        best = c;
        bestK = k;
      }
    });
    const pos = p - starts[bestK]! + 1;
    for (let d = 2; d < D; d++) {
      const expected = E[t.id * D + d]! + P[pos * D + d]! + TT[d]!;
      assert.ok(Math.abs(t.embedding[d]! - expected) < 1e-5, `piece ${p} channel ${d}`);
    }
  });
});

test('BERT refuses a fill-mask export and names the feature-extraction export', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oa-runners-fillmask-'));
  try {
    cpSync(path.join(root, pack.dirs.textEn), dir, { recursive: true });
    const g = new GraphBuilder('fill_mask');
    const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
    g.input('attention_mask', 'int64', ['batch_size', 'sequence_length']);
    g.input('token_type_ids', 'int64', ['batch_size', 'sequence_length']);
    const f = g.op('Cast', [g.op('Unsqueeze', [ids, g.i64(2)])], { to: 1 });
    g.op('Expand', [f, g.i64(1, 1, 30522)], {}, 'logits');
    g.output('logits', 'float32', ['batch_size', 'sequence_length', 30522]);
    new ModelBuilder(g).save(path.join(dir, 'onnx', 'model.onnx'));
    await assert.rejects(BertRunner.load(dir), (err: Error) => {
      assert.match(err.message, /fill-mask/);
      assert.match(err.message, /feature-extraction/);
      assert.match(err.message, /last_hidden_state/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TextEncoders picks by language and records a fallback', async () => {
  const both = new TextEncoders(en, zh);
  assert.equal(both.pick('zh').runner, zh);
  assert.equal(both.pick('en').runner, en);
  assert.equal(both.pick('en').fallbackReason, undefined);
  assert.match(both.pick('ja').fallbackReason!, /neither zh nor en/);

  const enOnly = new TextEncoders(en, null);
  const choice = enOnly.pick('zh');
  assert.equal(choice.runner, en);
  assert.equal(choice.slot, 'en');
  assert.match(choice.fallbackReason!, /no Chinese\/multilingual text model/);
  const r = await enOnly.embed('good', 'zh');
  assert.equal(r.slot, 'en');
  assert.equal(r.language, 'zh');
  assert.ok(r.fallbackReason);

  const zhOnly = await TextEncoders.load({ zh: path.join(root, pack.dirs.textZh) });
  assert.equal(zhOnly.pick('en').slot, 'zh');
  assert.throws(() => new TextEncoders(null, null), /at least one/);
});
