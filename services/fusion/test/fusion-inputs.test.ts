import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { StoredTensor } from '../src/embedding-store';
import { buildRowFeeds, collectSequences, SEQUENCE_KIND, type RowSpec } from '../src/fusion-inputs';

const DIMS = { text: 4, audio: 3, vision: 2 };
const tensor = (modality: string, kind: string, rows: number, dim: number, model = `${modality}-model`): StoredTensor => ({
  modality,
  kind,
  shape: [rows, dim],
  data: Float32Array.from({ length: rows * dim }, (_, i) => i + 1),
  items: Array.from({ length: rows }, (_, i) => ({ i })),
  model,
});

test("collectSequences picks each modality's sequence kind and marks absent ones with one zero item", () => {
  const stored = [tensor('text', 'tokens', 5, 4), tensor('text', 'pooled', 1, 4), tensor('audio', 'segments', 2, 3), tensor('vision', 'frames', 3, 2)];
  const seqs = collectSequences(stored, new Set(['text', 'audio']), DIMS);
  assert.deepEqual(SEQUENCE_KIND, { text: 'tokens', audio: 'segments', vision: 'frames' });
  assert.equal(seqs.text.present, true);
  assert.equal(seqs.text.length, 5);
  assert.equal(seqs.text.model, 'text-model');
  assert.equal(seqs.text.items.length, 5);
  assert.equal(seqs.audio.length, 2);
  // vision has embeddings but was not declared present: masked out
  assert.deepEqual({ ...seqs.vision, data: Array.from(seqs.vision.data) }, { present: false, length: 1, dim: 2, data: [0, 0], items: [], model: null });
});

test('collectSequences treats an empty sequence as absent and refuses a dimension mismatch', () => {
  const empty = collectSequences([{ ...tensor('text', 'tokens', 0, 4), shape: [0, 4] }], new Set(['text']), DIMS);
  assert.equal(empty.text.present, false);
  assert.throws(
    () => collectSequences([tensor('audio', 'segments', 2, 5)], new Set(['audio']), DIMS),
    /audio embeddings have dimension 5 but the fusion model expects 3/,
  );
});

test('buildRowFeeds: each row feeds its slice, pads to the longest, masks what it does not keep', () => {
  const seqs = collectSequences([tensor('text', 'tokens', 3, 4), tensor('vision', 'frames', 3, 2)], new Set(['text', 'vision']), DIMS);
  const rows: RowSpec[] = [
    // segment A: tokens 0-1, frame 0; everything kept
    { slice: { text: [0, 1], audio: [], vision: [0] }, keep: { text: Uint8Array.of(1, 1), audio: null, vision: Uint8Array.of(1) } },
    // segment A without token 1
    { slice: { text: [0, 1], audio: [], vision: [0] }, keep: { text: Uint8Array.of(1, 0), audio: null, vision: Uint8Array.of(1) } },
    // segment B: token 2, frames 1-2, vision removed
    { slice: { text: [2], audio: [], vision: [1, 2] }, keep: { text: Uint8Array.of(1), audio: null, vision: null } },
  ];
  const feeds = buildRowFeeds(rows, seqs);
  assert.deepEqual(feeds.text_features.dims, [3, 2, 4]);
  assert.deepEqual(feeds.vision_features.dims, [3, 2, 2]);
  assert.deepEqual(feeds.audio_features.dims, [3, 1, 3]);
  assert.deepEqual(Array.from(feeds.text_mask.data), [1, 1, 1, 0, 1, 0]);
  assert.deepEqual(Array.from(feeds.vision_mask.data), [1, 0, 1, 0, 0, 0]);
  assert.deepEqual(Array.from(feeds.audio_mask.data), [0, 0, 0]);
  assert.deepEqual(Array.from(feeds.modality_mask.data), [1, 0, 1, 1, 0, 1, 1, 0, 0]);
  const t = Array.from(feeds.text_features.data);
  // row 0: tokens 0 and 1 (values 1..8); row 2: token 2 (9..12) then the zero pad
  assert.deepEqual(t.slice(0, 8), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(t.slice(16, 24), [9, 10, 11, 12, 0, 0, 0, 0]);
  // a modality fed as absent carries no features at all
  assert.deepEqual(Array.from(feeds.vision_features.data).slice(8), [0, 0, 0, 0]);
  for (const f of Object.values(feeds))
    assert.equal(
      f.data.length,
      f.dims.reduce((a, b) => a * b, 1),
    );
});

test('buildRowFeeds: a row that keeps nothing of a modality feeds it as absent; nothing present is one masked item', () => {
  const seqs = collectSequences([tensor('audio', 'segments', 2, 3)], new Set(['audio']), DIMS);
  const feeds = buildRowFeeds([{ slice: { text: [], audio: [0, 1], vision: [] }, keep: { text: null, audio: Uint8Array.of(0, 0), vision: null } }], seqs);
  assert.deepEqual(Array.from(feeds.modality_mask.data), [0, 0, 0]);
  assert.deepEqual(Array.from(feeds.audio_mask.data), [0, 0]);
  assert.deepEqual(feeds.text_features.dims, [1, 1, 4]);
});
