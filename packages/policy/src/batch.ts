import { MODALITIES } from '@omniaffect/core';
import type { FusionBatch, ModalityBatch, ModalityDims, PolicySample, SampleFeatures } from './types';

export function isPresent(seq: SampleFeatures[keyof SampleFeatures]): boolean {
  if (!seq || seq.len === 0) return false;
  return true;
}

/**
 * Pads samples into the fusion contract's layout. An absent modality becomes one all-zero item with
 * mask 0 and modality_mask 0 (the contract never uses zero-length axes).
 */
export function collate(samples: readonly Pick<PolicySample, 'features'>[], dims: ModalityDims): FusionBatch {
  const B = samples.length;
  const modalityMask = new Float32Array(B * 3);
  const out: Partial<Record<(typeof MODALITIES)[number], ModalityBatch>> = {};
  MODALITIES.forEach((m, mi) => {
    const dim = dims[m];
    let len = 1;
    for (const s of samples) {
      const seq = s.features[m];
      if (seq && seq.len > len) len = seq.len;
    }
    const features = new Float32Array(B * len * dim);
    const mask = new Float32Array(B * len);
    samples.forEach((s, b) => {
      const seq = s.features[m];
      if (!isPresent(seq)) return;
      if (seq!.data.length !== seq!.len * dim) {
        throw new Error(`${m} features: ${seq!.data.length} floats for ${seq!.len} items of dim ${dim}`);
      }
      modalityMask[b * 3 + mi] = 1;
      features.set(seq!.data, b * len * dim);
      if (seq!.mask) mask.set(seq!.mask, b * len);
      else mask.fill(1, b * len, b * len + seq!.len);
    });
    out[m] = { features, mask, len, dim };
  });
  return { size: B, text: out.text!, audio: out.audio!, vision: out.vision!, modalityMask };
}

/** A copy of one batch row as a batch of one (used by per-clip deletion tests). */
export function sliceBatch(batch: FusionBatch, b: number): FusionBatch {
  const one = (mb: ModalityBatch): ModalityBatch => ({
    features: mb.features.slice(b * mb.len * mb.dim, (b + 1) * mb.len * mb.dim),
    mask: mb.mask.slice(b * mb.len, (b + 1) * mb.len),
    len: mb.len,
    dim: mb.dim,
  });
  return {
    size: 1,
    text: one(batch.text),
    audio: one(batch.audio),
    vision: one(batch.vision),
    modalityMask: batch.modalityMask.slice(b * 3, b * 3 + 3),
  };
}
