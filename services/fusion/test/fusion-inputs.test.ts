import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { StoredTensor } from '../src/embedding-store';
import { buildFeeds, collectSequences, SEQUENCE_KIND } from '../src/fusion-inputs';

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

test('buildFeeds: row 0 is the real input, one deletion row per present modality', () => {
  const seqs = collectSequences([tensor('text', 'tokens', 2, 4), tensor('vision', 'frames', 3, 2)], new Set(['text', 'vision']), DIMS);
  const { feeds, rows } = buildFeeds(seqs);
  assert.deepEqual(rows, [null, 'text', 'vision']);
  assert.deepEqual(feeds.text_features.dims, [3, 2, 4]);
  assert.deepEqual(feeds.text_mask.dims, [3, 2]);
  assert.deepEqual(feeds.audio_features.dims, [3, 1, 3]);
  assert.deepEqual(feeds.vision_features.dims, [3, 3, 2]);
  assert.deepEqual(feeds.modality_mask.dims, [3, 3]);
  assert.deepEqual(Array.from(feeds.text_mask.data), [1, 1, 0, 0, 1, 1]);
  assert.deepEqual(Array.from(feeds.vision_mask.data), [1, 1, 1, 1, 1, 1, 0, 0, 0]);
  assert.deepEqual(Array.from(feeds.audio_mask.data), [0, 0, 0]);
  assert.deepEqual(Array.from(feeds.modality_mask.data), [1, 0, 1, 0, 0, 1, 1, 0, 0]);
  // features are repeated unchanged in every row (only masks differ)
  const t = feeds.text_features.data;
  for (let b = 0; b < 3; b++) assert.deepEqual(Array.from(t.subarray(b * 8, (b + 1) * 8)), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(Array.from(feeds.audio_features.data).every((x) => x === 0));
  for (const f of Object.values(feeds))
    assert.equal(
      f.data.length,
      f.dims.reduce((a, b) => a * b, 1),
    );
});

test('buildFeeds with nothing present is a single all-masked row', () => {
  const { feeds, rows } = buildFeeds(collectSequences([], new Set(), DIMS));
  assert.deepEqual(rows, [null]);
  assert.deepEqual(Array.from(feeds.modality_mask.data), [0, 0, 0]);
});
