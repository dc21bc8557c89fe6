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
  /** the features of items offset, offset + 1, …: the whole sequence, or the window being fused */
  data: Float32Array;
  /** index of the first item `data` holds (0 when absent) */
  offset?: number;
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
  /**
   * positions of one modality masked on top of `keep`: a deletion row shares its segment's `keep`
   * and names the item it removes, instead of carrying masks of its own
   */
  masked?: { modality: Modality; positions: readonly number[] };
}

/** Bytes of feature data one row takes, for sizing runs. */
export function rowBytes(row: RowSpec, seqs: Record<Modality, ModalitySequence>): number {
  return MODALITIES.reduce((a, m) => a + Math.max(1, row.slice[m].length) * seqs[m].dim * 4, 0);
}

/** Zero-filled floats for a feed (a caller may hand out reused buffers, zeroed). */
export type FeedAllocator = (floats: number) => Float32Array;
const zeros: FeedAllocator = (n) => new Float32Array(n);

/** Whether the row feeds anything of modality m (a kept position that `masked` does not remove). */
const kept = (row: RowSpec, m: Modality) => {
  const k = row.keep[m];
  if (k === null) return false;
  const off = row.masked?.modality === m ? row.masked.positions : null;
  for (let j = 0; j < k.length; j++) if (k[j] === 1 && !(off && off.includes(j))) return true;
  return false;
};

/**
 * The feeds for a batch of rows. Each modality's sequence axis is as long as the longest slice in the
 * batch; shorter slices are padded with masked zero items, which the contract guarantees change
 * nothing (masked items get importance 0 and never reach the pooled vector).
 */
export function buildRowFeeds(rows: readonly RowSpec[], seqs: Record<Modality, ModalitySequence>, allocate: FeedAllocator = zeros): Feeds {
  const B = rows.length;
  const feeds: Feeds = {};
  for (const m of MODALITIES) {
    const s = seqs[m];
    const L = Math.max(1, ...rows.map((r) => r.slice[m].length));
    const feat = allocate(B * L * s.dim);
    const mask = allocate(B * L);
    rows.forEach((r, b) => {
      if (!s.present || !kept(r, m)) return;
      const keep = r.keep[m]!;
      const base = s.offset ?? 0;
      r.slice[m].forEach((item, j) => {
        const at = (item - base) * s.dim;
        if (at < 0 || at + s.dim > s.data.length)
          throw new RangeError(`${m} item ${item} is outside the rows read (${base}…${base + s.data.length / s.dim - 1})`);
        feat.set(s.data.subarray(at, at + s.dim), (b * L + j) * s.dim);
        if (keep[j] === 1) mask[b * L + j] = 1;
      });
      if (r.masked?.modality === m) for (const p of r.masked.positions) mask[b * L + p] = 0;
    });
    feeds[`${m}_features`] = { type: 'float32', data: feat, dims: [B, L, s.dim] };
    feeds[`${m}_mask`] = { type: 'float32', data: mask, dims: [B, L] };
  }
  const mm = new Float32Array(B * 3);
  rows.forEach((r, b) => MODALITIES.forEach((m, i) => (mm[b * 3 + i] = seqs[m].present && kept(r, m) ? 1 : 0)));
  feeds.modality_mask = { type: 'float32', data: mm, dims: [B, 3] };
  return feeds;
}
