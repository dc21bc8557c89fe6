import { MODALITIES, type Modality } from '@omniaffect/core';
import type { ModalitySequence } from '@omniaffect/explain';
import type { StoredTensor } from './embedding-store';

/** The sequence each modality contributes to the fusion model. */
export const SEQUENCE_KIND: Record<Modality, string> = { text: 'tokens', audio: 'segments', vision: 'frames' };

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
