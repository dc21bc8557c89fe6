/**
 * Tiny emotion2vec stand-in with the FunASR export contract (docs/model-contracts.md §4.4):
 * `input f32[batch_size, sequence_length]` → `output f32[batch_size, frames, 32]`.
 *
 * Like the official export, the utterance layer-norm (no affine, eps 1e-5) is inside the graph. Two
 * per-sample tracks pass through a depthwise averaging conv stack with emotion2vec's exact kernel/stride
 * list (EMOTION2VEC_CONV_LAYERS, owned by the runner), so the frame count follows the real formula: the zero-crossing indicator of the NORMALISED
 * waveform (pitch proxy, scale-free) and the power of the RAW waveform (loudness; read before the norm
 * because the norm erases it, which the real model compensates for with context we do not have).
 */
import { GraphBuilder, ModelBuilder } from '../onnx-builder';
import { EMOTION2VEC_CONV_LAYERS } from '../runners/emotion2vec';
import { round4, seededMatrix } from './seeded';

export const TINY_AUDIO = {
  dim: 32,
  /** ZCR per sample of a 200 Hz sine at 16 kHz: the pitch neutral point */
  zcrCenter: 0.025,
  zcrGain: 100,
  /** log10 of frame power (raw waveform) at the loudness neutral point: sine amplitude ≈ 0.32 */
  log10PowerCenter: -1.3,
  loudGain: 2,
  eps: 1e-5,
};

/**
 * Conv weights that give every input sample the same total weight (a box for k = 2s, [¼, ½, ¼] for
 * k = 3, s = 2), so the frame means of periodic signals are not aliased by the strides.
 */
function averagingKernel(k: number, s: number): number[] {
  if (k === 3 && s === 2) return [0.25, 0.5, 0.25];
  return new Array<number>(k).fill(1 / k);
}

/** Projection [3 → 32]: rows act on (pitch, loud, 1). Channel 0 = tanh(2·pitch), 1 = tanh(2·loud). */
function projection(): Float32Array {
  const D = TINY_AUDIO.dim;
  const m = seededMatrix(2001, 3, D, 1);
  for (let r = 0; r < 3; r++) {
    m[r * D + 0] = r === 0 ? 2 : 0;
    m[r * D + 1] = r === 1 ? 2 : 0;
  }
  return m;
}

export const EMOTION2VEC_TOKENS = [
  '生气/angry',
  '厌恶/disgusted',
  '恐惧/fearful',
  '开心/happy',
  '中立/neutral',
  '其他/other',
  '难过/sad',
  '吃惊/surprised',
  '<unk>',
];

/** 9×32 head over the mean frame: angry ← loud, happy ← high pitch, sad ← low pitch, neutral ← bias. */
export function tinyEmotionHead(): { weight: number[][]; bias: number[] } {
  const D = TINY_AUDIO.dim;
  const rows: [pitch: number, loud: number, bias: number][] = [
    [0, 3, 0.5], // angry
    [0, 0, -2], // disgusted
    [0, 0, -2], // fearful
    [3, -1, 0], // happy
    [0, 0, 1], // neutral
    [0, 0, -2], // other
    [-3, -0.5, 0], // sad
    [0, 0, -2], // surprised
    [0, 0, -3], // <unk>
  ];
  const weight = rows.map(([p, l]) => {
    const r = new Array<number>(D).fill(0);
    r[0] = p;
    r[1] = l;
    return r.map(round4);
  });
  return { weight, bias: rows.map(([, , b]) => b) };
}

export function buildTinyAudioEmotion(): ModelBuilder {
  const A = TINY_AUDIO;
  const g = new GraphBuilder('tiny_emotion2vec');
  const x = g.input('input', 'float32', ['batch_size', 'sequence_length']);
  const mean = g.op('ReduceMean', [x], { axes: [1], keepdims: 1 });
  const xc = g.op('Sub', [x, mean]);
  const variance = g.op('ReduceMean', [g.op('Mul', [xc, xc])], { axes: [1], keepdims: 1 });
  const xn = g.op('Div', [xc, g.op('Sqrt', [g.op('Add', [variance, g.f(A.eps)])])]);

  const sign = g.op('Sign', [xn]);
  const big = 1 << 30;
  const next = g.op('Slice', [sign, g.i64(1), g.i64(big), g.i64(1)]);
  const prev = g.op('Slice', [sign, g.i64(0), g.i64(-1), g.i64(1)]);
  const crossing = g.op('Mul', [g.op('Sub', [g.f(1), g.op('Mul', [next, prev])]), g.f(0.5)]);
  const zcr = g.op('Pad', [crossing, g.i64(0, 0, 0, 1), g.f(0)], { mode: 'constant' }); // [B,N]
  const power = g.op('Mul', [x, x]);
  let h = g.op('Concat', [g.op('Unsqueeze', [zcr, g.i64(1)]), g.op('Unsqueeze', [power, g.i64(1)])], { axis: 1 }); // [B,2,N]
  for (const [k, s] of EMOTION2VEC_CONV_LAYERS) {
    const w = g.initFloat([...averagingKernel(k, s), ...averagingKernel(k, s)], [2, 1, k]);
    h = g.op('Conv', [h, w], { group: 2, kernel_shape: [k], strides: [s] });
  }
  const frames = g.op('Transpose', [h], { perm: [0, 2, 1] }); // [B,T,2]
  const z = g.op('Slice', [frames, g.i64(0), g.i64(1), g.i64(2)]);
  const p = g.op('Slice', [frames, g.i64(1), g.i64(2), g.i64(2)]);
  const pitch = g.op('Tanh', [g.op('Mul', [g.op('Sub', [z, g.f(A.zcrCenter)]), g.f(A.zcrGain)])]);
  const log10p = g.op('Div', [g.op('Log', [g.op('Add', [p, g.f(1e-8)])]), g.f(Math.LN10)]);
  const loud = g.op('Tanh', [g.op('Mul', [g.op('Sub', [log10p, g.f(A.log10PowerCenter)]), g.f(A.loudGain)])]);
  const one = g.op('Add', [g.op('Mul', [z, g.f(0)]), g.f(1)]);
  const u = g.op('Concat', [pitch, loud, one], { axis: 2 }); // [B,T,3]
  const proj = g.initFloat(projection(), [3, A.dim]);
  g.op('Tanh', [g.op('MatMul', [u, proj])], {}, 'output');
  g.output('output', 'float32', ['batch_size', 'frames', A.dim]);
  return new ModelBuilder(g, { docString: 'OmniAffect tiny emotion2vec (normalisation in graph; see tiny-pack.json)' });
}
