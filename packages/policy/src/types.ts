import type { Language, Modality } from '@omniaffect/core';

/** Float32 in storage; Float64 when a gradient check needs exact arithmetic. */
export type Vec = Float32Array | Float64Array;

export interface ModalityDims {
  text: number;
  audio: number;
  vision: number;
}

/** One modality of one clip: `len` items of `dim` floats, row-major. */
export interface ModalitySequence {
  data: Float32Array;
  len: number;
  /** 1 = valid item; omitted = all valid. Must be 0/1. */
  mask?: Float32Array;
}

/** null (or len 0) = modality absent for this clip. */
export type SampleFeatures = Record<Modality, ModalitySequence | null>;

export interface PolicySample {
  id: string;
  language: Language;
  features: SampleFeatures;
  /** SENTIMENT_LABELS index */
  sentiment: number;
  /** EMOTION_LABELS index, when labelled */
  emotion?: number;
  /** in [-1, 1] */
  intensity: number;
  /** synthetic sets only: the modality that carries the label */
  plantedModality?: Modality;
  /** synthetic sets only: indices of the items of the planted modality that carry the label */
  plantedItems?: number[];
  /**
   * Unimodal labels (CH-SIMS v2's label_T/A/V): the sentiment each modality expresses on its own, as a
   * SENTIMENT_LABELS index and an intensity in [-1, 1]. Used by TrainOptions.unimodalCopies.
   */
  unimodal?: Partial<Record<Modality, { sentiment: number; intensity: number }>>;
}

/** A padded batch laid out exactly like the fusion ONNX inputs (fusion-contract.ts). */
export interface ModalityBatch {
  /** [B, len, dim] */
  features: Float32Array;
  /** [B, len] */
  mask: Float32Array;
  len: number;
  dim: number;
}

export interface FusionBatch {
  size: number;
  text: ModalityBatch;
  audio: ModalityBatch;
  vision: ModalityBatch;
  /** [B, 3] in MODALITIES order */
  modalityMask: Float32Array;
}
