import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { StoredTensor } from '../src/embedding-store';
import { collectSequences, SEQUENCE_KIND } from '../src/fusion-inputs';

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
  assert.deepEqual(
    { ...seqs.vision, data: Array.from(seqs.vision.data) },
    { present: false, length: 1, dim: 2, data: [0, 0], items: [], model: null, stored: null },
  );
});

test('collectSequences treats an empty sequence as absent and refuses a dimension mismatch', () => {
  const empty = collectSequences([{ ...tensor('text', 'tokens', 0, 4), shape: [0, 4] }], new Set(['text']), DIMS);
  assert.equal(empty.text.present, false);
  assert.throws(
    () => collectSequences([tensor('audio', 'segments', 2, 5)], new Set(['audio']), DIMS),
    /audio embeddings have dimension 5 but the fusion model expects 3/,
  );
});
