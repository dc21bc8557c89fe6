import { MODALITIES, type Modality } from '@omniaffect/core';
import type { ModalitySequence } from '@omniaffect/explain';
import type { StoredTensor } from './embedding-store';

/** The sequence each modality contributes to the fusion model. */
export const SEQUENCE_KIND: Record<Modality, string> = { text: 'tokens', audio: 'segments', vision: 'frames' };

/** A stored tensor, with its data (whole) or without it (read by window through the store). */
export type DescribedTensor = Omit<StoredTensor, 'data'> & { data?: Float32Array };

/** A modality's sequence and the stored tensor it came from (null when absent). */
export type CollectedSequence<T> = ModalitySequence & { stored: T | null };

export function collectSequences<T extends DescribedTensor>(
  stored: T[],
  present: Set<string>,
  dims: Record<Modality, number>,
): Record<Modality, CollectedSequence<T>> {
  const out = {} as Record<Modality, CollectedSequence<T>>;
  for (const m of MODALITIES) {
    const t = stored.find((s) => s.modality === m && s.kind === SEQUENCE_KIND[m]);
    const usable = present.has(m) && t && t.shape.length === 2 && t.shape[0] > 0;
    if (usable && t.shape[1] !== dims[m]) {
      throw new Error(
        `${m} embeddings have dimension ${t.shape[1]} but the fusion model expects ${dims[m]}: the encoder in MODEL_DIR does not match fusion.json`,
      );
    }
    out[m] = usable
      ? { present: true, length: t.shape[0]!, dim: t.shape[1]!, data: t.data ?? new Float32Array(0), items: t.items, model: t.model, stored: t }
      : { present: false, length: 1, dim: dims[m], data: new Float32Array(dims[m]), items: [], model: null, stored: null };
  }
  return out;
}
