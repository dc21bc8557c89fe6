import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMOTION_LABELS, FUSION_INPUTS, FUSION_OUTPUTS, MODALITIES, SENTIMENT_LABELS, type FusionManifest, type Modality } from '@omniaffect/core';
import { GraphBuilder, ModelBuilder } from '@omniaffect/models';
import { MASK_NEG } from './forward';
import { N_EMO, N_MOD, N_SENT, paramCount, type ParamName, type PolicyParams } from './params';

/** Floor for the softmax denominators: a fully masked row gives 0/tiny = 0, as the TS forward does. */
const TINY = 1e-30;

export interface ExportManifestInput {
  name?: string;
  version?: string;
  /** training provenance (e.g. TrainSummary.provenance plus a data description) */
  provenance?: Record<string, unknown>;
  /**
   * Modalities the graph treats as absent whatever is fed (the policy was trained with them masked): their
   * modality_mask column is multiplied by 0, so they get weight exactly 0 and change no output.
   */
  maskedModalities?: readonly Modality[];
}

export interface PolicyGraphOptions {
  maskedModalities?: readonly Modality[];
}

export interface ExportResult {
  onnxPath: string;
  manifestPath: string;
  manifest: FusionManifest;
}

/**
 * Builds the fusion graph: the same computation as `forward`, op for op, with dynamic batch and
 * sequence lengths. Masked scores get −1e9 added before the max-shift, exp is multiplied by the mask,
 * and the sum is floored, which is exactly the TS masked softmax for 0/1 masks.
 */
export function buildPolicyGraph(params: PolicyParams, opts: PolicyGraphOptions = {}): ModelBuilder {
  const g = new GraphBuilder('omniaffect_fusion_policy', 'policy');
  const H = params.hidden;
  const G = params.gateHidden;
  const t = params.tensors;
  const w = (name: ParamName, dims: number[]) => g.initFloat(Float32Array.from(t[name]), dims, name);
  for (const spec of FUSION_INPUTS) {
    const shape = spec.shape.map((d) => {
      if (typeof d === 'string' && d.endsWith('_dim')) return params.dims[d.slice(0, -4) as keyof PolicyParams['dims']];
      return d;
    });
    g.input(spec.name, spec.type, shape);
  }
  const one = g.f(1);
  const neg = g.f(MASK_NEG);
  const tiny = g.f(TINY);
  const axis1 = g.i64(1);
  const axis2 = g.i64(2);
  // A masked modality's column of modality_mask is zeroed inside the graph; the unmasked graph is unchanged.
  const masked = new Set(opts.maskedModalities ?? []);
  const modalityMask = masked.size
    ? g.op('Mul', ['modality_mask', g.initFloat(Float32Array.from(MODALITIES.map((m) => (masked.has(m) ? 0 : 1))), [1, N_MOD], 'modality_keep')])
    : 'modality_mask';

  const maskedSoftmax = (x: string, mask: string, out?: string) => {
    const shifted = g.op('Add', [x, g.op('Mul', [g.op('Sub', [mask, one]), neg])]);
    const mx = g.op('ReduceMax', [shifted], { axes: [1], keepdims: 1 });
    const e = g.op('Mul', [g.op('Exp', [g.op('Sub', [shifted, mx])]), mask]);
    const sum = g.op('ReduceSum', [e, axis1], { keepdims: 1 });
    return g.op('Div', [e, g.op('Max', [sum, tiny])], {}, out);
  };

  const pooled: string[] = [];
  MODALITIES.forEach((m, mi) => {
    const x = `${m}_features`;
    const mask = `${m}_mask`;
    const h = g.op('Tanh', [g.op('Add', [g.op('MatMul', [x, w(`${m}.W`, [params.dims[m], H])]), w(`${m}.b`, [H])])]); // [B,L,H]
    const scores = g.op('Squeeze', [g.op('MatMul', [h, w(`${m}.v`, [H, 1])]), axis2]); // [B,L]
    const a = maskedSoftmax(scores, mask, `${m}_importance`);
    const p = g.op('ReduceSum', [g.op('Mul', [h, g.op('Unsqueeze', [a, axis2])]), axis1], { keepdims: 0 }); // [B,H]
    const mmCol = g.op('Slice', [modalityMask, g.i64(mi), g.i64(mi + 1), axis1]); // [B,1]
    pooled.push(g.op('Mul', [p, mmCol]));
  });
  const cat = g.op('Concat', pooled, { axis: 1 }); // [B,3H]
  const g1 = g.op('Tanh', [g.op('Add', [g.op('MatMul', [cat, w('gate.W1', [N_MOD * H, G])]), w('gate.b1', [G])])]);
  const gl = g.op('Add', [g.op('MatMul', [g1, w('gate.W2', [G, N_MOD])]), w('gate.b2', [N_MOD])]);
  const weights = maskedSoftmax(gl, modalityMask, 'modality_weights'); // [B,3]
  const stacked = g.op(
    'Concat',
    pooled.map((p) => g.op('Unsqueeze', [p, axis1])),
    { axis: 1 },
  ); // [B,3,H]
  const fused = g.op('ReduceSum', [g.op('Mul', [stacked, g.op('Unsqueeze', [weights, axis2])]), axis1], { keepdims: 0 });
  const trunk = g.op('Tanh', [g.op('Add', [g.op('MatMul', [fused, w('trunk.W', [H, H])]), w('trunk.b', [H])])]);
  g.op('Add', [g.op('MatMul', [trunk, w('sentiment.W', [H, N_SENT])]), w('sentiment.b', [N_SENT])], {}, 'sentiment_logits');
  g.op('Add', [g.op('MatMul', [trunk, w('emotion.W', [H, N_EMO])]), w('emotion.b', [N_EMO])], {}, 'emotion_logits');
  const intensityPre = g.op('Add', [g.op('MatMul', [trunk, w('intensity.W', [H, 1])]), w('intensity.b', [1])]);
  g.op('Tanh', [g.op('Squeeze', [intensityPre, axis1])], {}, 'intensity');
  const valuePre = g.op('Add', [g.op('MatMul', [trunk, w('value.W', [H, 1])]), w('value.b', [1])]);
  g.op('Squeeze', [valuePre, axis1], {}, 'value');
  for (const spec of FUSION_OUTPUTS) g.output(spec.name, spec.type, spec.shape);
  return new ModelBuilder(g, {
    producerName: 'omniaffect-policy',
    docString: 'OmniAffect fusion policy (supervised warm start + GRPO with verifiable rewards)',
  });
}

/** Writes fusion.onnx and fusion.json (FusionManifest) into outDir. */
export function exportPolicyOnnx(params: PolicyParams, manifest: ExportManifestInput, outDir: string): ExportResult {
  mkdirSync(outDir, { recursive: true });
  const onnxPath = join(outDir, 'fusion.onnx');
  const maskedModalities = [...new Set(manifest.maskedModalities ?? [])].sort();
  buildPolicyGraph(params, { maskedModalities }).save(onnxPath);
  const full: FusionManifest = {
    name: manifest.name ?? 'omniaffect-fusion-policy',
    version: manifest.version ?? '0.1.0',
    dims: { ...params.dims },
    sentimentLabels: SENTIMENT_LABELS,
    emotionLabels: EMOTION_LABELS,
    provenance: {
      kind: 'trained-policy',
      ...(manifest.provenance ?? {}),
      ...(maskedModalities.length ? { maskedModalities } : {}),
      architecture: {
        hidden: params.hidden,
        gateHidden: params.gateHidden,
        parameters: paramCount(params),
        maskedScore: -MASK_NEG,
      },
      exportedAt: new Date().toISOString(),
    },
  };
  const manifestPath = join(outDir, 'fusion.json');
  writeFileSync(manifestPath, `${JSON.stringify(full, null, 2)}\n`);
  return { onnxPath, manifestPath, manifest: full };
}
