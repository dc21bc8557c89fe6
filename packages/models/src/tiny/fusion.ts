/**
 * Tiny fusion policy with the FUSION_INPUTS/FUSION_OUTPUTS contract of @omniaffect/core, dims 32/32/32.
 * Per modality: importance = masked softmax of (score vector · item); pooled = Σ importance·item.
 * Modality weights = softmax of a gate over present modalities (absent exactly 0); fused = Σ weight·pooled;
 * linear heads. Channel 0 of the fused vector drives polarity (text polarity, audio pitch, vision red)
 * and channel 1 arousal/intensity, matching the tiny encoders' planted channels. A trained policy
 * replaces this file with the same contract.
 */
import { EMOTION_LABELS, FUSION_INPUTS, FUSION_OUTPUTS, MODALITIES, SENTIMENT_LABELS, type FusionManifest } from '@omniaffect/core';
import { GraphBuilder, ModelBuilder } from '../onnx-builder';
import { seededMatrix } from './seeded';

export const TINY_FUSION_DIM = 32;
/** gate bias per modality (text, audio, vision): text leads when evidence is equal */
export const TINY_FUSION_GATE_BIAS = [0.5, 0, -0.5];
const NEG = 1e4;

function plant(m: Float32Array, cols: number, entries: [row: number, col: number, v: number][]): Float32Array {
  for (const [r, c, v] of entries) m[r * cols + c] = v;
  return m;
}

/** Score vectors per modality [32]: items with high channel 1 (planted intensity / loudness) get attention. */
function scoreVector(i: number): Float32Array {
  const v = seededMatrix(5001 + i, 1, TINY_FUSION_DIM, 0.1);
  v[0] = 0;
  v[1] = i === 2 ? 0 : 3;
  return v;
}

function gateVector(i: number): Float32Array {
  const v = seededMatrix(5011 + i, 1, TINY_FUSION_DIM, 0.1);
  v[0] = 0;
  v[1] = 1;
  return v;
}

export function tinyFusionHeads(): {
  sentiment: Float32Array;
  emotion: Float32Array;
  intensity: Float32Array;
  value: Float32Array;
  biases: Record<string, number[]>;
} {
  const D = TINY_FUSION_DIM;
  // sentiment [D,3] (negative, neutral, positive)
  const sentiment = plant(seededMatrix(5101, D, 3, 0.05), 3, [
    [0, 0, -2],
    [0, 1, 0],
    [0, 2, 2],
    [1, 0, 0],
    [1, 1, -0.5],
    [1, 2, 0],
  ]);
  // emotion [D,7] (happy, sad, angry, fearful, disgusted, surprised, neutral)
  const emotion = plant(seededMatrix(5102, D, 7, 0.05), 7, [
    [0, 0, 2],
    [0, 1, -2],
    [0, 2, -0.5],
    [0, 3, 0],
    [0, 4, 0],
    [0, 5, 0],
    [0, 6, 0],
    [1, 0, 0],
    [1, 1, 0],
    [1, 2, 2],
    [1, 3, 0],
    [1, 4, 0],
    [1, 5, 0.5],
    [1, 6, -1],
  ]);
  const intensity = plant(seededMatrix(5103, D, 1, 0.05), 1, [
    [0, 0, 1.5],
    [1, 0, 0],
  ]);
  const value = plant(seededMatrix(5104, D, 1, 0.05), 1, [
    [0, 0, 0],
    [1, 0, 0.5],
  ]);
  return {
    sentiment,
    emotion,
    intensity,
    value,
    biases: { sentiment: [0, 0.3, 0], emotion: [0, 0, 0, -1, -1, -1, 0.5], intensity: [0], value: [0] },
  };
}

function maskedSoftmax(g: GraphBuilder, scores: string, mask: string, out?: string): string {
  const shifted = g.op('Add', [scores, g.op('Mul', [g.op('Sub', [mask, g.f(1)]), g.f(NEG)])]);
  const p = g.op('Mul', [g.op('Softmax', [shifted], { axis: -1 }), mask]);
  const total = g.op('Add', [g.op('ReduceSum', [p, g.i64(-1)], { keepdims: 1 }), g.f(1e-12)]);
  return g.op('Div', [p, total], {}, out);
}

export function buildTinyFusion(): ModelBuilder {
  const D = TINY_FUSION_DIM;
  const g = new GraphBuilder('tiny_fusion_policy');
  for (const spec of FUSION_INPUTS) {
    g.input(
      spec.name,
      spec.type,
      spec.shape.map((d) => (typeof d === 'string' && d.endsWith('_dim') ? D : d)),
    );
  }
  const pooled: string[] = [];
  const gates: string[] = [];
  MODALITIES.forEach((m, i) => {
    const x = `${m}_features`;
    const mask = `${m}_mask`;
    const scores = g.op('Squeeze', [g.op('MatMul', [x, g.initFloat(scoreVector(i), [D, 1])]), g.i64(2)]); // [B,L]
    const imp = maskedSoftmax(g, scores, mask, `${m}_importance`);
    const p = g.op('Squeeze', [g.op('MatMul', [g.op('Unsqueeze', [imp, g.i64(1)]), x]), g.i64(1)]); // [B,D]
    pooled.push(p);
    gates.push(g.op('Add', [g.op('MatMul', [p, g.initFloat(gateVector(i), [D, 1])]), g.f(TINY_FUSION_GATE_BIAS[i]!)])); // [B,1]
  });
  const weights = maskedSoftmax(g, g.op('Concat', gates, { axis: 1 }), 'modality_mask', 'modality_weights'); // [B,3]
  const terms = pooled.map((p, i) => g.op('Mul', [g.op('Slice', [weights, g.i64(i), g.i64(i + 1), g.i64(1)]), p]));
  const fused = g.op('Sum', terms);
  const h = tinyFusionHeads();
  const linear = (w: Float32Array, cols: number, bias: number[]) =>
    g.op('Add', [g.op('MatMul', [fused, g.initFloat(w, [D, cols])]), g.initFloat(bias, [cols])]);
  g.op('Identity', [linear(h.sentiment, 3, h.biases.sentiment!)], {}, 'sentiment_logits');
  g.op('Identity', [linear(h.emotion, 7, h.biases.emotion!)], {}, 'emotion_logits');
  g.op('Tanh', [g.op('Squeeze', [linear(h.intensity, 1, h.biases.intensity!), g.i64(1)])], {}, 'intensity');
  g.op('Squeeze', [linear(h.value, 1, h.biases.value!), g.i64(1)], {}, 'value');
  for (const spec of FUSION_OUTPUTS) g.output(spec.name, spec.type, spec.shape);
  return new ModelBuilder(g, { docString: 'OmniAffect tiny fusion policy (deterministic, untrained; see tiny-pack.json)' });
}

export function tinyFusionManifest(): FusionManifest {
  return {
    name: 'omniaffect-tiny-fusion',
    version: '0.1.0',
    dims: { text: TINY_FUSION_DIM, audio: TINY_FUSION_DIM, vision: TINY_FUSION_DIM },
    sentimentLabels: SENTIMENT_LABELS,
    emotionLabels: EMOTION_LABELS,
    provenance: {
      kind: 'tiny-generated',
      generator: '@omniaffect/models tiny/fusion.ts',
      note: 'fixed seeded weights with planted channels; not trained',
    },
  };
}
