import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { MODALITIES, type Modality } from '@omniaffect/core';
import { buildRowFeeds, type ModalitySequence, type RowSpec } from '../src/fusion-feeds';

const DIMS = { text: 4, audio: 3, vision: 2 };

/** Sequences whose values count up from 1 (row-major), so a test can see which item went where; absent ones are one zero item. */
function collectSequences(present: Partial<Record<Modality, number>>): Record<Modality, ModalitySequence> {
  const out = {} as Record<Modality, ModalitySequence>;
  for (const m of MODALITIES) {
    const rows = present[m];
    out[m] = rows
      ? { present: true, length: rows, dim: DIMS[m], data: Float32Array.from({ length: rows * DIMS[m] }, (_, i) => i + 1), items: [], model: m }
      : { present: false, length: 1, dim: DIMS[m], data: new Float32Array(DIMS[m]), items: [], model: null };
  }
  return out;
}

test('buildRowFeeds: each row feeds its slice, pads to the longest, masks what it does not keep', () => {
  const seqs = collectSequences({ text: 3, vision: 3 });
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
  const seqs = collectSequences({ audio: 2 });
  const feeds = buildRowFeeds([{ slice: { text: [], audio: [0, 1], vision: [] }, keep: { text: null, audio: Uint8Array.of(0, 0), vision: null } }], seqs);
  assert.deepEqual(Array.from(feeds.modality_mask.data), [0, 0, 0]);
  assert.deepEqual(Array.from(feeds.audio_mask.data), [0, 0]);
  assert.deepEqual(feeds.text_features.dims, [1, 1, 4]);
});

test('buildRowFeeds: `masked` positions on a shared keep feed what the same keep spelled out would, and masking all of a modality removes it', () => {
  const seqs = collectSequences({ text: 3, audio: 2, vision: 3 });
  const slice = { text: [0, 1, 2], audio: [0, 1], vision: [1] };
  const keep = { text: Uint8Array.of(1, 1, 1), audio: Uint8Array.of(1, 1), vision: Uint8Array.of(1) };
  const shared: RowSpec[] = [
    { slice, keep, masked: { modality: 'text', positions: [0, 2] } },
    { slice, keep, masked: { modality: 'vision', positions: [0] } },
  ];
  const spelled: RowSpec[] = [
    { slice, keep: { ...keep, text: Uint8Array.of(0, 1, 0) } },
    { slice, keep: { ...keep, vision: null } },
  ];
  const a = buildRowFeeds(shared, seqs);
  const b = buildRowFeeds(spelled, seqs);
  for (const name of Object.keys(b)) assert.deepEqual(Array.from(a[name]!.data), Array.from(b[name]!.data), name);
  assert.deepEqual(Array.from(a.modality_mask.data), [1, 1, 1, 1, 1, 0]);
  assert.deepEqual(Array.from(keep.text), [1, 1, 1], 'the shared keep is not written to');
});
