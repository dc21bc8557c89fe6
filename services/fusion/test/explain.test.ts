import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { MODALITIES, validateResult, type FusionManifest, type TokenItem, type SegmentItem, type FrameItem, type Modality } from '@omniaffect/core';
import { TINY_PACK_DIRS, buildTinyPack, modelFile } from '@omniaffect/models';
import type { StoredTensor } from '../src/embedding-store';
import { explain, mergeWordPieces, type Outputs } from '../src/explain';
import { buildFeeds, collectSequences } from '../src/fusion-inputs';

const dir = mkdtempSync(path.join(tmpdir(), 'oa-fusion-'));
let session: ort.InferenceSession;
let manifest: FusionManifest;

before(async () => {
  buildTinyPack(dir);
  session = await ort.InferenceSession.create(modelFile('fusion', path.join(dir, TINY_PACK_DIRS.fusion), 'model'));
  manifest = JSON.parse(readFileSync(modelFile('fusion', path.join(dir, TINY_PACK_DIRS.fusion), 'manifest'), 'utf8')) as FusionManifest;
});
after(async () => {
  await session?.release();
  rmSync(dir, { recursive: true, force: true });
});

const tok = (text: string, charStart: number, piece?: string): TokenItem => ({
  text,
  ...(piece ? { piece } : {}),
  charStart,
  charEnd: charStart + text.length,
  start: charStart * 0.1,
  end: (charStart + text.length) * 0.1,
});
const PROSODY = { f0MeanHz: 180, f0StdHz: 12, f0MinHz: 150, f0MaxHz: 220, energyDb: -18, voicedRatio: 0.7, rateProxy: 4 };

function seeded(n: number, dim: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n * dim }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
}

function stored(present: Modality[]): StoredTensor[] {
  const D = manifest.dims;
  const out: StoredTensor[] = [];
  if (present.includes('text')) {
    const items = [tok('this', 0), tok('is', 5), tok('great', 8), tok('ly', 13, '##ly'), tok('fun', 16)];
    out.push({ modality: 'text', kind: 'tokens', shape: [items.length, D.text], data: seeded(items.length, D.text, 1), items, model: 'bert' });
  }
  if (present.includes('audio')) {
    const items: SegmentItem[] = [0, 1, 2].map((i) => ({ start: i, end: i + 1, prosody: PROSODY }));
    out.push({ modality: 'audio', kind: 'segments', shape: [3, D.audio], data: seeded(3, D.audio, 2), items, model: 'e2v' });
  }
  if (present.includes('vision')) {
    const items: FrameItem[] = [0, 2].map((time) => ({ time, path: `videos/x/frames/00000${time}.jpg` }));
    out.push({ modality: 'vision', kind: 'frames', shape: [2, D.vision], data: seeded(2, D.vision, 3), items, model: 'siglip' });
  }
  return out;
}

async function fuse(present: Modality[], absent: Record<string, string> = {}) {
  const seqs = collectSequences(stored(present), new Set(present), manifest.dims);
  const { feeds, rows } = buildFeeds(seqs);
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor('float32', f.data, f.dims);
  const res = await session.run(ortFeeds);
  const outputs: Outputs = {};
  for (const [name, t] of Object.entries(res)) outputs[name] = { data: t.data as Float32Array, dims: [...t.dims] };
  return { part: explain({ outputs, rows, seqs, absent, manifest }), outputs, rows, feeds };
}

test('mergeWordPieces joins ## continuations that touch the previous word', () => {
  const items = [tok('great', 0), tok('ly', 5, '##ly'), tok('ok', 8), tok('ay', 11, '##ay')];
  const words = mergeWordPieces(items, [0.5, 0.2, 0.1, 0.2]);
  assert.deepEqual(
    words.map((w) => [w.text, w.charStart, w.charEnd]),
    [
      ['greatly', 0, 7],
      ['ok', 8, 10],
      ['ay', 11, 13],
    ],
  );
  assert.ok(Math.abs(words[0].weight - 0.7) < 1e-9);
  assert.equal(words[0].end, tok('ly', 5).end);
  assert.equal(words[2].weight, 0.2, 'a ## piece that does not touch its predecessor stays a word');
});

test('all three modalities: contributions sum to 1, weights in [0,1], decision path has the deletion check', async () => {
  const { part, rows } = await fuse(['text', 'audio', 'vision']);
  assert.deepEqual(rows, [null, 'text', 'audio', 'vision']);
  const total = MODALITIES.reduce((a, m) => a + part.modalities[m].contribution, 0);
  assert.ok(Math.abs(total - 1) < 1e-6, `sum ${total}`);
  for (const m of MODALITIES) assert.equal(part.modalities[m].present, true);
  const del = part.decisionPath.find((s) => /^Deletion check/.test(s.description));
  assert.ok(del, JSON.stringify(part.decisionPath));
  assert.ok(MODALITIES.includes(del.decisive as Modality));
  assert.deepEqual(Object.keys(del.deletionDrops as object).sort(), ['audio', 'text', 'vision']);
  assert.equal(typeof del.gateAgreesWithDeletion, 'boolean');
  part.decisionPath.forEach((s, i) => assert.equal(s.step, i + 1));
  const weights = [...part.evidence.words, ...part.evidence.audioSegments, ...part.evidence.frames].map((e) => e.weight);
  assert.ok(weights.length > 0 && weights.every((w) => w >= 0 && w <= 1), JSON.stringify(weights));
  assert.deepEqual(
    part.evidence.words.map((w) => w.text),
    ['this', 'is', 'greatly', 'fun'],
  );
  assert.deepEqual(
    part.evidence.frames.map((f) => f.time),
    [0, 2],
  );
  assert.equal(part.evidence.audioSegments.length, 3);
  const sp = Object.values(part.sentiment.probabilities).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sp - 1) < 1e-4);
  assert.equal(part.models.fusion.name, manifest.name);
});

test('absent modalities contribute exactly 0 and carry their reason', async () => {
  const { part, rows } = await fuse(['text', 'audio'], { vision: 'no video stream' });
  assert.deepEqual(rows, [null, 'text', 'audio']);
  assert.deepEqual(part.modalities.vision, { present: false, contribution: 0, reason: 'no video stream' });
  assert.ok(Math.abs(part.modalities.text.contribution + part.modalities.audio.contribution - 1) < 1e-6);
  assert.deepEqual(part.evidence.frames, []);
  assert.match(part.decisionPath[0].description, /vision absent \(no video stream\)/);
  const del = part.decisionPath.find((s) => /^Deletion check/.test(s.description))!;
  assert.deepEqual(Object.keys(del.deletionDrops as object).sort(), ['audio', 'text']);
});

test('a single present modality gets contribution 1; missing reasons get a default', async () => {
  const { part } = await fuse(['audio']);
  assert.equal(part.modalities.audio.contribution, 1);
  assert.equal(part.modalities.text.reason, 'no embeddings were pushed for this modality');
  assert.deepEqual(part.evidence.words, []);
});

test('the deletion drops in the decision path are what the deletion rows say', async () => {
  const { part, outputs, rows, feeds } = await fuse(['text', 'audio', 'vision']);
  // The batch must hold the real input plus one row per present modality, or there is nothing to check.
  assert.deepEqual(rows, [null, 'text', 'audio', 'vision']);
  assert.deepEqual(outputs.sentiment_logits.dims, [4, 3]);
  // Each deletion row really is the input with that modality switched off ([text, audio, vision]).
  assert.deepEqual(Array.from(feeds.modality_mask.data), [1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0]);
  const softmax = (xs: number[]) => {
    const m = Math.max(...xs);
    const e = xs.map((x) => Math.exp(x - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  };
  const logits = (b: number) => Array.from(outputs.sentiment_logits.data.subarray(b * 3, b * 3 + 3));
  const p0 = softmax(logits(0));
  const k = p0.indexOf(Math.max(...p0));
  const del = part.decisionPath.find((s) => /^Deletion check/.test(s.description));
  assert.ok(del, JSON.stringify(part.decisionPath));
  const drops = del.deletionDrops as Record<string, number>;
  assert.deepEqual(Object.keys(drops).sort(), ['audio', 'text', 'vision']);
  const expected: Record<string, number> = { text: p0[k] - softmax(logits(1))[k], audio: p0[k] - softmax(logits(2))[k], vision: p0[k] - softmax(logits(3))[k] };
  for (const m of ['text', 'audio', 'vision']) assert.ok(Math.abs(drops[m] - expected[m]) < 1e-4, `${m}: ${drops[m]} vs ${expected[m]}`);
  // The decisive modality is the one whose removal costs the predicted class most.
  const most = Object.entries(expected).sort((x, y) => y[1] - x[1])[0][0];
  assert.equal(del.decisive, most);
});

test('a full result built around the explanation passes the result schema', async () => {
  const { part } = await fuse(['text', 'vision'], { audio: 'no audio track' });
  const doc = {
    id: 'x',
    status: 'succeeded',
    language: 'en',
    ...part,
    transcript: { language: 'en', text: 'this is greatly fun', segments: [{ start: 0, end: 2, text: 'this is greatly fun' }] },
    timings: {},
    disclaimer: 'Perceived expression only, not felt emotion.',
  };
  assert.deepEqual(validateResult(doc).errors, []);
});
