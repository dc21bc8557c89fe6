import { MODALITIES, type Modality } from '@omniaffect/core';

/** The feeds of one fusion.onnx run, by input name (docs/model-contracts.md §6). */
export interface Feeds {
  [name: string]: { type: 'float32'; data: Float32Array; dims: number[] };
}

/** One modality's whole-video sequence as fusion feeds it: `length` items of `dim` floats, with their metadata. */
export interface ModalitySequence {
  present: boolean;
  length: number;
  dim: number;
  data: Float32Array;
  items: unknown[];
  model: string | null;
}

/**
 * One row of a fusion batch: which of a slice's items it keeps, per modality. `keep[m]` has one entry
 * per item of the slice (1 = fed, 0 = masked); null, or nothing kept, feeds the modality as absent
 * (modality_mask 0), as the contract asks of a modality with no item.
 */
export interface RowSpec {
  /** indices into the whole video's sequence of each modality (the segment's items) */
  slice: Record<Modality, readonly number[]>;
  keep: Record<Modality, Uint8Array | null>;
}

/** Bytes of feature data one row takes, for sizing runs. */
export function rowBytes(row: RowSpec, seqs: Record<Modality, ModalitySequence>): number {
  return MODALITIES.reduce((a, m) => a + Math.max(1, row.slice[m].length) * seqs[m].dim * 4, 0);
}

const kept = (row: RowSpec, m: Modality) => {
  const k = row.keep[m];
  return k !== null && k.some((v) => v === 1);
};

/**
 * The feeds for a batch of rows. Each modality's sequence axis is as long as the longest slice in the
 * batch; shorter slices are padded with masked zero items, which the contract guarantees change
 * nothing (masked items get importance 0 and never reach the pooled vector).
 */
export function buildRowFeeds(rows: readonly RowSpec[], seqs: Record<Modality, ModalitySequence>): Feeds {
  const B = rows.length;
  const feeds: Feeds = {};
  for (const m of MODALITIES) {
    const s = seqs[m];
    const L = Math.max(1, ...rows.map((r) => r.slice[m].length));
    const feat = new Float32Array(B * L * s.dim);
    const mask = new Float32Array(B * L);
    rows.forEach((r, b) => {
      if (!s.present || !kept(r, m)) return;
      const keep = r.keep[m]!;
      r.slice[m].forEach((item, j) => {
        feat.set(s.data.subarray(item * s.dim, (item + 1) * s.dim), (b * L + j) * s.dim);
        if (keep[j] === 1) mask[b * L + j] = 1;
      });
    });
    feeds[`${m}_features`] = { type: 'float32', data: feat, dims: [B, L, s.dim] };
    feeds[`${m}_mask`] = { type: 'float32', data: mask, dims: [B, L] };
  }
  const mm = new Float32Array(B * 3);
  rows.forEach((r, b) => MODALITIES.forEach((m, i) => (mm[b * 3 + i] = seqs[m].present && kept(r, m) ? 1 : 0)));
  feeds.modality_mask = { type: 'float32', data: mm, dims: [B, 3] };
  return feeds;
}
