/**
 * The fusion model's ONNX contract (docs/model-contracts.md §6). The fusion service, the
 * tiny-model builder and the policy exporter all build or check against this one table.
 *
 * An absent modality is fed as one all-zero item with mask 0 and modality_mask 0, so no tensor ever
 * has a zero-length axis (ORT handles those poorly in Gather/Softmax paths).
 */
export interface TensorSpec {
  name: string;
  type: 'float32' | 'int64' | 'bool';
  /** number = fixed size; string = symbolic (dynamic) axis */
  shape: (number | string)[];
}

export const FUSION_INPUTS: TensorSpec[] = [
  { name: 'text_features', type: 'float32', shape: ['batch', 'text_len', 'text_dim'] },
  { name: 'text_mask', type: 'float32', shape: ['batch', 'text_len'] },
  { name: 'audio_features', type: 'float32', shape: ['batch', 'audio_len', 'audio_dim'] },
  { name: 'audio_mask', type: 'float32', shape: ['batch', 'audio_len'] },
  { name: 'vision_features', type: 'float32', shape: ['batch', 'vision_len', 'vision_dim'] },
  { name: 'vision_mask', type: 'float32', shape: ['batch', 'vision_len'] },
  /** [text, audio, vision]; 1 = present */
  { name: 'modality_mask', type: 'float32', shape: ['batch', 3] },
];

export const FUSION_OUTPUTS: TensorSpec[] = [
  /** SENTIMENT_LABELS order */
  { name: 'sentiment_logits', type: 'float32', shape: ['batch', 3] },
  /** EMOTION_LABELS order */
  { name: 'emotion_logits', type: 'float32', shape: ['batch', 7] },
  /** tanh-bounded, [-1, 1] */
  { name: 'intensity', type: 'float32', shape: ['batch'] },
  /** softmax over present modalities (absent = exactly 0), MODALITIES order */
  { name: 'modality_weights', type: 'float32', shape: ['batch', 3] },
  /** softmax over valid items of each sequence (masked items = 0) */
  { name: 'text_importance', type: 'float32', shape: ['batch', 'text_len'] },
  { name: 'audio_importance', type: 'float32', shape: ['batch', 'audio_len'] },
  { name: 'vision_importance', type: 'float32', shape: ['batch', 'vision_len'] },
  /** expected reward estimate (diagnostics) */
  { name: 'value', type: 'float32', shape: ['batch'] },
];

/** fusion.json, written next to fusion.onnx. */
export interface FusionManifest {
  name: string;
  version: string;
  dims: { text: number; audio: number; vision: number };
  sentimentLabels: readonly string[];
  emotionLabels: readonly string[];
  /** how the model was made: 'tiny-generated' or training provenance */
  provenance: Record<string, unknown>;
}
