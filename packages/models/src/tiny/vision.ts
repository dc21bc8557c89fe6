/**
 * Tiny SigLIP vision tower: `pixel_values f32[batch_size,3,224,224]` → `pooler_output f32[batch_size,32]`
 * and `last_hidden_state f32[batch_size,196,32]`. pooler = tanh(meanRGB·W + b); each patch row is the
 * same map on its 16×16 patch mean. Channels 0/1/2 are tanh(2·mean R/G/B) exactly (pixels in [-1, 1]),
 * so the mean frame colour is carried; channels 3..31 are a fixed seeded map.
 */
import { GraphBuilder, ModelBuilder } from '../onnx-builder';
import { seededMatrix } from './seeded';

export const TINY_VISION = { dim: 32, patch: 16, image: 224 };

function colourMap(): { w: Float32Array; b: Float32Array } {
  const D = TINY_VISION.dim;
  const w = seededMatrix(3001, 3, D, 1);
  const b = seededMatrix(3002, 1, D, 0.2);
  for (let c = 0; c < 3; c++) {
    for (let r = 0; r < 3; r++) w[r * D + c] = r === c ? 2 : 0;
    b[c] = 0;
  }
  return { w, b };
}

export function buildTinyVision(): ModelBuilder {
  const { dim: D, patch, image } = TINY_VISION;
  const n = (image / patch) ** 2;
  const g = new GraphBuilder('tiny_siglip_vision');
  const x = g.input('pixel_values', 'float32', ['batch_size', 3, image, image]);
  const { w, b } = colourMap();
  const W = g.initFloat(w, [3, D]);
  const B = g.initFloat(b, [D]);
  const mean = g.op('ReduceMean', [x], { axes: [2, 3], keepdims: 0 }); // [B,3]
  g.op('Tanh', [g.op('Add', [g.op('MatMul', [mean, W]), B])], {}, 'pooler_output');
  const pooled = g.op('AveragePool', [x], { kernel_shape: [patch, patch], strides: [patch, patch] }); // [B,3,14,14]
  const rows = g.op('Transpose', [g.op('Reshape', [pooled, g.i64(0, 3, n)])], { perm: [0, 2, 1] }); // [B,196,3]
  g.op('Tanh', [g.op('Add', [g.op('MatMul', [rows, W]), B])], {}, 'last_hidden_state');
  g.output('last_hidden_state', 'float32', ['batch_size', n, D]);
  g.output('pooler_output', 'float32', ['batch_size', D]);
  return new ModelBuilder(g, { docString: 'OmniAffect tiny SigLIP vision tower (see tiny-pack.json)' });
}
