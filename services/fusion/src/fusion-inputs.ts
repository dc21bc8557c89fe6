import { MODALITIES, type Modality } from '@omniaffect/core';
import type { StoredTensor } from './embedding-store';

/** The sequence each modality contributes to the fusion model. */
export const SEQUENCE_KIND: Record<Modality, string> = { text: 'tokens', audio: 'segments', vision: 'frames' };

export interface Feeds {
  [name: string]: { type: 'float32'; data: Float32Array; dims: number[] };
}

export interface ModalitySequence {
  present: boolean;
  length: number;
  dim: number;
  data: Float32Array;
  items: unknown[];
  model: string | null;
}

export function collectSequences(stored: StoredTensor[], present: Set<string>, dims: Record<Modality, number>): Record<Modality, ModalitySequence> {
  const out = {} as Record<Modality, ModalitySequence>;
  for (const m of MODALITIES) {
    const t = stored.find((s) => s.modality === m && s.kind === SEQUENCE_KIND[m]);
    const usable = present.has(m) && t && t.shape.length === 2 && t.shape[0] > 0;
    if (usable && t.shape[1] !== dims[m]) {
      throw new Error(
        `${m} embeddings have dimension ${t.shape[1]} but the fusion model expects ${dims[m]}: the encoder in MODEL_DIR does not match fusion.json`,
      );
    }
    out[m] = usable
      ? { present: true, length: t.shape[0], dim: t.shape[1], data: t.data, items: t.items, model: t.model }
      : { present: false, length: 1, dim: dims[m], data: new Float32Array(dims[m]), items: [], model: null };
  }
  return out;
}

/**
 * Builds a batch of 1 + P rows: row 0 is the real input; row i masks the i-th present modality. One
 * run gives both the prediction and the deletion test that makes the explanation checkable.
 */
export function buildFeeds(seqs: Record<Modality, ModalitySequence>): { feeds: Feeds; rows: (Modality | null)[] } {
  const presentList = MODALITIES.filter((m) => seqs[m].present);
  const rows: (Modality | null)[] = [null, ...presentList];
  const B = rows.length;
  const feeds: Feeds = {};
  for (const m of MODALITIES) {
    const s = seqs[m];
    const feat = new Float32Array(B * s.length * s.dim);
    const mask = new Float32Array(B * s.length);
    for (let b = 0; b < B; b++) {
      feat.set(s.data.subarray(0, s.length * s.dim), b * s.length * s.dim);
      const on = s.present && rows[b] !== m;
      if (on) mask.fill(1, b * s.length, (b + 1) * s.length);
    }
    feeds[`${m}_features`] = { type: 'float32', data: feat, dims: [B, s.length, s.dim] };
    feeds[`${m}_mask`] = { type: 'float32', data: mask, dims: [B, s.length] };
  }
  const mm = new Float32Array(B * 3);
  for (let b = 0; b < B; b++) MODALITIES.forEach((m, i) => (mm[b * 3 + i] = seqs[m].present && rows[b] !== m ? 1 : 0));
  feeds.modality_mask = { type: 'float32', data: mm, dims: [B, 3] };
  return { feeds, rows };
}
