import { MODALITIES, type Modality } from '@omniaffect/core';
import { N_EMO, N_MOD, N_SENT, type ParamTensors, type PolicyParams } from './params';
import type { FusionBatch, ModalityBatch, Vec } from './types';
// Kept hand-written, with the gradients in losses.ts: a few small matrix products, every gradient
// checked against finite differences; a tensor library would add a native runtime for nothing.

/** Outputs of the policy, flattened row-major with the fusion contract's shapes. */
export interface PolicyOutput {
  batchSize: number;
  /** [B, 3] */
  sentimentLogits: Float64Array;
  /** [B, 7] */
  emotionLogits: Float64Array;
  /** [B], tanh-bounded */
  intensity: Float64Array;
  /** [B, 3], softmax over present modalities, absent exactly 0 */
  modalityWeights: Float64Array;
  /** per modality [B, len], softmax over valid items, masked items 0 */
  importance: Record<Modality, Float64Array>;
  /** [B] */
  value: Float64Array;
}

/** Everything the part after pooling produces; deletion tests re-run only this part. */
export interface HeadOutputs {
  g1: Float64Array;
  gateLogits: Float64Array;
  modalityWeights: Float64Array;
  fused: Float64Array;
  trunk: Float64Array;
  sentimentLogits: Float64Array;
  emotionLogits: Float64Array;
  intensity: Float64Array;
  value: Float64Array;
}

export interface ModalityCache {
  /** tanh projections [B, len, H]; rows of masked items stay 0 (they never influence any output) */
  h: Float64Array;
  /** attention weights [B, len] */
  a: Float64Array;
  /** modality_mask-scaled pooled vector [B, H] */
  pooled: Float64Array;
}

export interface ForwardCache extends PolicyOutput, HeadOutputs {
  batch: FusionBatch;
  modality: Record<Modality, ModalityCache>;
}

/** Added to masked scores before the softmax; the ONNX graph uses the same constant. */
export const MASK_NEG = 1e9;

export function forward(params: PolicyParams, batch: FusionBatch): ForwardCache {
  checkBatch(params, batch);
  const t = params.tensors;
  const modality = {} as Record<Modality, ModalityCache>;
  MODALITIES.forEach((m, mi) => {
    modality[m] = encodeModality(t, m, mi, batch[m], batch.modalityMask, batch.size, params.hidden);
  });
  const pooled = MODALITIES.map((m) => modality[m].pooled);
  const heads = fuseAndHeads(params, pooled, batch.modalityMask, batch.size);
  return {
    ...heads,
    batch,
    batchSize: batch.size,
    modality,
    importance: { text: modality.text.a, audio: modality.audio.a, vision: modality.vision.a },
  };
}

function checkBatch(params: PolicyParams, batch: FusionBatch): void {
  for (const m of MODALITIES) {
    const mb = batch[m];
    if (mb.dim !== params.dims[m]) throw new Error(`${m} dim ${mb.dim} != policy dim ${params.dims[m]}`);
    if (mb.features.length !== batch.size * mb.len * mb.dim) throw new Error(`${m} features have the wrong size`);
    if (mb.mask.length !== batch.size * mb.len) throw new Error(`${m} mask has the wrong size`);
  }
  if (batch.modalityMask.length !== batch.size * N_MOD) throw new Error('modality mask has the wrong size');
}

function encodeModality(t: ParamTensors, m: Modality, mi: number, mb: ModalityBatch, mm: Float32Array, B: number, H: number): ModalityCache {
  const W = t[`${m}.W`];
  const bias = t[`${m}.b`];
  const v = t[`${m}.v`];
  const { len: L, dim: D, features: X, mask } = mb;
  const h = new Float64Array(B * L * H);
  const a = new Float64Array(B * L);
  const pooled = new Float64Array(B * H);
  const s = new Float64Array(L);
  for (let b = 0; b < B; b++) {
    let mx = -Infinity;
    for (let i = 0; i < L; i++) {
      const idx = b * L + i;
      if (mask[idx] === 0) continue;
      const ho = idx * H;
      linearRow(X, idx * D, D, W, bias, H, h, ho);
      let sc = 0;
      for (let k = 0; k < H; k++) {
        const hv = Math.tanh(h[ho + k]!);
        h[ho + k] = hv;
        sc += hv * v[k]!;
      }
      s[i] = sc;
      if (sc > mx) mx = sc;
    }
    if (mx === -Infinity) continue;
    let sum = 0;
    for (let i = 0; i < L; i++) {
      const idx = b * L + i;
      if (mask[idx] === 0) continue;
      const e = Math.exp(s[i]! - mx) * mask[idx]!;
      a[idx] = e;
      sum += e;
    }
    const mmv = mm[b * N_MOD + mi]!;
    const po = b * H;
    for (let i = 0; i < L; i++) {
      const idx = b * L + i;
      if (mask[idx] === 0) continue;
      const ai = a[idx]! / sum;
      a[idx] = ai;
      if (mmv === 0) continue;
      const ho = idx * H;
      for (let k = 0; k < H; k++) pooled[po + k] += ai * h[ho + k]!;
    }
    if (mmv !== 1) for (let k = 0; k < H; k++) pooled[po + k] *= mmv;
  }
  return { h, a, pooled };
}

/** out[oo..oo+n) = bias + x[xo..xo+d) · W, with W row-major [d, n]. */
function linearRow(x: ArrayLike<number>, xo: number, d: number, W: Vec, bias: Vec, n: number, out: Float64Array, oo: number): void {
  for (let j = 0; j < n; j++) out[oo + j] = bias[j]!;
  for (let i = 0; i < d; i++) {
    const xv = x[xo + i]!;
    if (xv === 0) continue;
    const row = i * n;
    for (let j = 0; j < n; j++) out[oo + j] += xv * W[row + j]!;
  }
}

/**
 * Gating, fusion and heads from the pooled vectors. `pooled` must already be scaled by the modality
 * mask, so deleting a modality is: zero its pooled vector and its modality-mask entry, then call this.
 */
export function fuseAndHeads(params: PolicyParams, pooled: Float64Array[], mm: ArrayLike<number>, B: number): HeadOutputs {
  const t = params.tensors;
  const H = params.hidden;
  const G = params.gateHidden;
  const W1 = t['gate.W1'];
  const g1 = new Float64Array(B * G);
  const gateLogits = new Float64Array(B * N_MOD);
  const modalityWeights = new Float64Array(B * N_MOD);
  const fused = new Float64Array(B * H);
  const trunk = new Float64Array(B * H);
  const sentimentLogits = new Float64Array(B * N_SENT);
  const emotionLogits = new Float64Array(B * N_EMO);
  const intensity = new Float64Array(B);
  const value = new Float64Array(B);
  const tmp1 = new Float64Array(1);
  for (let b = 0; b < B; b++) {
    const go = b * G;
    const b1 = t['gate.b1'];
    for (let j = 0; j < G; j++) g1[go + j] = b1[j]!;
    for (let m = 0; m < N_MOD; m++) {
      const p = pooled[m]!;
      for (let k = 0; k < H; k++) {
        const xv = p[b * H + k]!;
        if (xv === 0) continue;
        const row = (m * H + k) * G;
        for (let j = 0; j < G; j++) g1[go + j] += xv * W1[row + j]!;
      }
    }
    for (let j = 0; j < G; j++) g1[go + j] = Math.tanh(g1[go + j]!);
    linearRow(g1, go, G, t['gate.W2'], t['gate.b2'], N_MOD, gateLogits, b * N_MOD);
    maskedSoftmaxRow(gateLogits, mm, b * N_MOD, N_MOD, modalityWeights);
    const fo = b * H;
    for (let m = 0; m < N_MOD; m++) {
      const w = modalityWeights[b * N_MOD + m]!;
      if (w === 0) continue;
      const p = pooled[m]!;
      for (let k = 0; k < H; k++) fused[fo + k] += w * p[fo + k]!;
    }
    linearRow(fused, fo, H, t['trunk.W'], t['trunk.b'], H, trunk, fo);
    for (let k = 0; k < H; k++) trunk[fo + k] = Math.tanh(trunk[fo + k]!);
    linearRow(trunk, fo, H, t['sentiment.W'], t['sentiment.b'], N_SENT, sentimentLogits, b * N_SENT);
    linearRow(trunk, fo, H, t['emotion.W'], t['emotion.b'], N_EMO, emotionLogits, b * N_EMO);
    linearRow(trunk, fo, H, t['intensity.W'], t['intensity.b'], 1, tmp1, 0);
    intensity[b] = Math.tanh(tmp1[0]!);
    linearRow(trunk, fo, H, t['value.W'], t['value.b'], 1, value, b);
  }
  return { g1, gateLogits, modalityWeights, fused, trunk, sentimentLogits, emotionLogits, intensity, value };
}

/** Softmax over entries whose mask is non-zero; masked entries get exactly 0 (all masked → all 0). */
export function maskedSoftmaxRow(x: ArrayLike<number>, mask: ArrayLike<number>, off: number, n: number, out: Float64Array): void {
  let mx = -Infinity;
  for (let i = 0; i < n; i++) if (mask[off + i] !== 0 && x[off + i]! > mx) mx = x[off + i]!;
  if (mx === -Infinity) {
    for (let i = 0; i < n; i++) out[off + i] = 0;
    return;
  }
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = mask[off + i] !== 0 ? Math.exp(x[off + i]! - mx) * mask[off + i]! : 0;
    out[off + i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) out[off + i] = out[off + i]! / sum;
}

export function logSoftmaxRow(x: ArrayLike<number>, off: number, n: number, out: Float64Array, outOff = off): void {
  let mx = -Infinity;
  for (let i = 0; i < n; i++) if (x[off + i]! > mx) mx = x[off + i]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(x[off + i]! - mx);
  const lse = mx + Math.log(sum);
  for (let i = 0; i < n; i++) out[outOff + i] = x[off + i]! - lse;
}

export function softmaxRow(x: ArrayLike<number>, off: number, n: number, out: Float64Array, outOff = off): void {
  logSoftmaxRow(x, off, n, out, outOff);
  for (let i = 0; i < n; i++) out[outOff + i] = Math.exp(out[outOff + i]!);
}

/** Gradients of a scalar loss with respect to the policy outputs; omitted = 0. */
export interface OutputGrads {
  sentimentLogits?: Float64Array;
  emotionLogits?: Float64Array;
  /** w.r.t. the tanh-bounded intensity */
  intensity?: Float64Array;
  value?: Float64Array;
  /** w.r.t. the gate logits directly (Plackett–Luce log-probs of sampled modality rankings) */
  gateLogits?: Float64Array;
  /** w.r.t. the fused vector directly (contrastive term) */
  fused?: Float64Array;
}

/** Accumulates d loss / d params into `grads` (hand-written reverse pass of `forward`). */
export function backward(params: PolicyParams, cache: ForwardCache, seeds: OutputGrads, grads: ParamTensors<Float64Array>): void {
  const t = params.tensors;
  const B = cache.batchSize;
  const H = params.hidden;
  const G = params.gateHidden;
  const mm = cache.batch.modalityMask;
  const pooled = MODALITIES.map((m) => cache.modality[m].pooled);
  const dPooled = MODALITIES.map(() => new Float64Array(B * H));
  const dT = new Float64Array(H);
  const dTpre = new Float64Array(H);
  const dF = new Float64Array(H);
  const dw = new Float64Array(N_MOD);
  const dgl = new Float64Array(N_MOD);
  const dg1 = new Float64Array(G);

  const headBack = (name: 'sentiment' | 'emotion' | 'intensity' | 'value', d: ArrayLike<number>, dOff: number, K: number, to: number) => {
    const W = t[`${name}.W`];
    const gW = grads[`${name}.W`];
    const gb = grads[`${name}.b`];
    for (let j = 0; j < K; j++) gb[j] += d[dOff + j]!;
    for (let k = 0; k < H; k++) {
      const tv = cache.trunk[to + k]!;
      let acc = 0;
      for (let j = 0; j < K; j++) {
        const dj = d[dOff + j]!;
        gW[k * K + j] += tv * dj;
        acc += W[k * K + j]! * dj;
      }
      dT[k] += acc;
    }
  };

  const dIntPre = new Float64Array(1);
  for (let b = 0; b < B; b++) {
    const to = b * H;
    dT.fill(0);
    if (seeds.sentimentLogits) headBack('sentiment', seeds.sentimentLogits, b * N_SENT, N_SENT, to);
    if (seeds.emotionLogits) headBack('emotion', seeds.emotionLogits, b * N_EMO, N_EMO, to);
    if (seeds.intensity) {
      const y = cache.intensity[b]!;
      dIntPre[0] = seeds.intensity[b]! * (1 - y * y);
      headBack('intensity', dIntPre, 0, 1, to);
    }
    if (seeds.value) headBack('value', seeds.value, b, 1, to);

    // trunk
    for (let k = 0; k < H; k++) {
      const tv = cache.trunk[to + k]!;
      dTpre[k] = dT[k]! * (1 - tv * tv);
    }
    const Wt = t['trunk.W'];
    const gWt = grads['trunk.W'];
    const gbt = grads['trunk.b'];
    for (let k = 0; k < H; k++) gbt[k] += dTpre[k]!;
    for (let i = 0; i < H; i++) {
      const fv = cache.fused[to + i]!;
      let acc = 0;
      for (let k = 0; k < H; k++) {
        gWt[i * H + k] += fv * dTpre[k]!;
        acc += Wt[i * H + k]! * dTpre[k]!;
      }
      dF[i] = acc + (seeds.fused ? seeds.fused[to + i]! : 0);
    }

    // fusion: fused = Σ w_m pooled_m
    let wdw = 0;
    for (let m = 0; m < N_MOD; m++) {
      const w = cache.modalityWeights[b * N_MOD + m]!;
      const p = pooled[m]!;
      const dp = dPooled[m]!;
      let acc = 0;
      for (let k = 0; k < H; k++) {
        acc += dF[k]! * p[to + k]!;
        dp[to + k] += w * dF[k]!;
      }
      dw[m] = acc;
      wdw += w * acc;
    }
    for (let m = 0; m < N_MOD; m++) {
      const w = cache.modalityWeights[b * N_MOD + m]!;
      dgl[m] = w * (dw[m]! - wdw) + (seeds.gateLogits ? seeds.gateLogits[b * N_MOD + m]! : 0);
    }

    // gate MLP
    const go = b * G;
    const W2 = t['gate.W2'];
    const gW2 = grads['gate.W2'];
    const gb2 = grads['gate.b2'];
    for (let m = 0; m < N_MOD; m++) gb2[m] += dgl[m]!;
    for (let j = 0; j < G; j++) {
      const gv = cache.g1[go + j]!;
      let acc = 0;
      for (let m = 0; m < N_MOD; m++) {
        gW2[j * N_MOD + m] += gv * dgl[m]!;
        acc += W2[j * N_MOD + m]! * dgl[m]!;
      }
      dg1[j] = acc * (1 - gv * gv);
    }
    const W1 = t['gate.W1'];
    const gW1 = grads['gate.W1'];
    const gb1 = grads['gate.b1'];
    for (let j = 0; j < G; j++) gb1[j] += dg1[j]!;
    for (let m = 0; m < N_MOD; m++) {
      const p = pooled[m]!;
      const dp = dPooled[m]!;
      for (let k = 0; k < H; k++) {
        const xv = p[to + k]!;
        const row = (m * H + k) * G;
        let acc = 0;
        for (let j = 0; j < G; j++) {
          gW1[row + j] += xv * dg1[j]!;
          acc += W1[row + j]! * dg1[j]!;
        }
        dp[to + k] += acc;
      }
    }
  }

  MODALITIES.forEach((m, mi) => backModality(t, grads, m, mi, cache.batch[m], cache.modality[m], dPooled[mi]!, mm, B, H));
}

function backModality(
  t: ParamTensors,
  grads: ParamTensors<Float64Array>,
  m: Modality,
  mi: number,
  mb: ModalityBatch,
  mc: ModalityCache,
  dPooled: Float64Array,
  mm: Float32Array,
  B: number,
  H: number,
): void {
  const v = t[`${m}.v`];
  const gW = grads[`${m}.W`];
  const gb = grads[`${m}.b`];
  const gv = grads[`${m}.v`];
  const { len: L, dim: D, features: X, mask } = mb;
  const da = new Float64Array(L);
  const dz = new Float64Array(H);
  const dp = new Float64Array(H);
  for (let b = 0; b < B; b++) {
    const mmv = mm[b * N_MOD + mi]!;
    if (mmv === 0) continue;
    for (let k = 0; k < H; k++) dp[k] = dPooled[b * H + k]! * mmv;
    let ada = 0;
    for (let i = 0; i < L; i++) {
      const idx = b * L + i;
      if (mask[idx] === 0) continue;
      const ho = idx * H;
      let acc = 0;
      for (let k = 0; k < H; k++) acc += mc.h[ho + k]! * dp[k]!;
      da[i] = acc;
      ada += mc.a[idx]! * acc;
    }
    for (let i = 0; i < L; i++) {
      const idx = b * L + i;
      if (mask[idx] === 0) continue;
      const ai = mc.a[idx]!;
      const ds = ai * (da[i]! - ada);
      const ho = idx * H;
      for (let k = 0; k < H; k++) {
        const hv = mc.h[ho + k]!;
        gv[k] += ds * hv;
        dz[k] = (ai * dp[k]! + ds * v[k]!) * (1 - hv * hv);
        gb[k] += dz[k]!;
      }
      const xo = idx * D;
      for (let d = 0; d < D; d++) {
        const xv = X[xo + d]!;
        if (xv === 0) continue;
        const row = d * H;
        for (let k = 0; k < H; k++) gW[row + k] += xv * dz[k]!;
      }
    }
  }
}
