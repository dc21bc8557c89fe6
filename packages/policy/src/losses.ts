import { N_EMO, N_MOD, N_SENT } from './params';
import { logSoftmaxRow, type ForwardCache, type OutputGrads } from './forward';

/** Per-sample training targets of one batch. */
export interface BatchTargets {
  /** SENTIMENT_LABELS index */
  sentiment: Int32Array;
  /** EMOTION_LABELS index, -1 = unlabelled */
  emotion: Int32Array;
  intensity: Float64Array;
  /** 0 = zh, 1 = en */
  language: Uint8Array;
}

export interface LossResult {
  loss: number;
  seeds: OutputGrads;
}

/** Mean cross-entropy of the sentiment head, plus `emotionWeight` × mean CE over emotion-labelled rows. */
export function crossEntropyLoss(out: ForwardCache, tg: BatchTargets, emotionWeight = 1): LossResult {
  const B = out.batchSize;
  const dS = new Float64Array(B * N_SENT);
  const dE = new Float64Array(B * N_EMO);
  let loss = 0;
  const ls = new Float64Array(N_EMO);
  for (let b = 0; b < B; b++) {
    logSoftmaxRow(out.sentimentLogits, b * N_SENT, N_SENT, ls, 0);
    const y = tg.sentiment[b]!;
    loss -= ls[y]! / B;
    for (let j = 0; j < N_SENT; j++) dS[b * N_SENT + j] = (Math.exp(ls[j]!) - (j === y ? 1 : 0)) / B;
  }
  let nEmo = 0;
  for (let b = 0; b < B; b++) if (tg.emotion[b]! >= 0) nEmo++;
  if (nEmo > 0 && emotionWeight !== 0) {
    const scale = emotionWeight / nEmo;
    for (let b = 0; b < B; b++) {
      const y = tg.emotion[b]!;
      if (y < 0) continue;
      logSoftmaxRow(out.emotionLogits, b * N_EMO, N_EMO, ls, 0);
      loss -= scale * ls[y]!;
      for (let j = 0; j < N_EMO; j++) dE[b * N_EMO + j] = scale * (Math.exp(ls[j]!) - (j === y ? 1 : 0));
    }
  }
  return { loss, seeds: { sentimentLogits: dS, emotionLogits: dE } };
}

/** weight × mean squared error of the tanh intensity head. */
export function intensityLoss(out: ForwardCache, tg: BatchTargets, weight = 1): LossResult {
  const B = out.batchSize;
  const d = new Float64Array(B);
  let loss = 0;
  for (let b = 0; b < B; b++) {
    const e = out.intensity[b]! - tg.intensity[b]!;
    loss += (weight * e * e) / B;
    d[b] = (2 * weight * e) / B;
  }
  return { loss, seeds: { intensity: d } };
}

/**
 * Supervised contrastive term (Khosla et al. 2020) on the L2-normalised fused vector. Positives of an
 * anchor are the other-language samples with the same sentiment label, so it pulls zh and en together
 * per class; the denominator runs over every other sample of the batch. Anchors with no positive are
 * skipped; the loss is the mean over anchors that have one, times `weight`.
 */
export function contrastiveLoss(out: ForwardCache, tg: BatchTargets, temperature = 0.1, weight = 1): LossResult {
  const B = out.batchSize;
  const H = out.fused.length / B;
  const z = new Float64Array(B * H);
  const norms = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let n2 = 1e-12;
    for (let k = 0; k < H; k++) n2 += out.fused[b * H + k]! ** 2;
    const n = Math.sqrt(n2);
    norms[b] = n;
    for (let k = 0; k < H; k++) z[b * H + k] = out.fused[b * H + k]! / n;
  }
  const pos = (i: number, j: number) => i !== j && tg.sentiment[i] === tg.sentiment[j] && tg.language[i] !== tg.language[j];
  let anchors = 0;
  for (let i = 0; i < B; i++) {
    for (let j = 0; j < B; j++) {
      if (pos(i, j)) {
        anchors++;
        break;
      }
    }
  }
  const dFused = new Float64Array(B * H);
  if (anchors === 0 || weight === 0) return { loss: 0, seeds: { fused: dFused } };
  const sim = new Float64Array(B);
  const dz = new Float64Array(B * H);
  let loss = 0;
  for (let i = 0; i < B; i++) {
    let nPos = 0;
    for (let j = 0; j < B; j++) if (pos(i, j)) nPos++;
    if (nPos === 0) continue;
    let mx = -Infinity;
    for (let a = 0; a < B; a++) {
      if (a === i) continue;
      let dot = 0;
      for (let k = 0; k < H; k++) dot += z[i * H + k]! * z[a * H + k]!;
      sim[a] = dot / temperature;
      if (sim[a]! > mx) mx = sim[a]!;
    }
    let sum = 0;
    for (let a = 0; a < B; a++) if (a !== i) sum += Math.exp(sim[a]! - mx);
    const lse = mx + Math.log(sum);
    const scale = weight / anchors;
    for (let a = 0; a < B; a++) {
      if (a === i) continue;
      const isPos = pos(i, a);
      if (isPos) loss -= (scale * (sim[a]! - lse)) / nPos;
      // d loss_i / d sim_ia = softmax_a − 1[a ∈ P] / |P|
      const g = (scale * (Math.exp(sim[a]! - lse) - (isPos ? 1 / nPos : 0))) / temperature;
      for (let k = 0; k < H; k++) {
        dz[i * H + k] += g * z[a * H + k]!;
        dz[a * H + k] += g * z[i * H + k]!;
      }
    }
  }
  for (let b = 0; b < B; b++) {
    let zdz = 0;
    for (let k = 0; k < H; k++) zdz += z[b * H + k]! * dz[b * H + k]!;
    for (let k = 0; k < H; k++) dFused[b * H + k] = (dz[b * H + k]! - z[b * H + k]! * zdz) / norms[b]!;
  }
  return { loss, seeds: { fused: dFused } };
}

/** Element-wise sum of output gradients (missing entries count as 0). */
export function addSeeds(...all: OutputGrads[]): OutputGrads {
  const out: OutputGrads = {};
  for (const s of all) {
    for (const key of Object.keys(s) as (keyof OutputGrads)[]) {
      const src = s[key];
      if (!src) continue;
      const dst = out[key];
      if (!dst) out[key] = Float64Array.from(src);
      else for (let i = 0; i < src.length; i++) dst[i] += src[i]!;
    }
  }
  return out;
}

/**
 * G sampled actions per input. An action is a sentiment label plus a ranking of the present modalities
 * (Plackett–Luce over the modality weights); its first entry is the claimed decisive modality.
 */
export interface GrpoRollout {
  groupSize: number;
  /** [B·G] */
  labels: Int32Array;
  /** [B·G·3], modality indices, -1 after the last present modality */
  rankings: Int8Array;
  /** log-probabilities under the policy that sampled them, [B·G] */
  oldLogp: Float64Array;
  /** log-probabilities under the frozen warm-start policy, [B·G] */
  refLogp: Float64Array;
  /** group-relative advantages, [B·G] */
  advantages: Float64Array;
  /** mean reward of each group (value-head target), [B] */
  rewardMean: Float64Array;
}

export interface GrpoLossOptions {
  clipEps: number;
  beta: number;
  /** weight of the value head's MSE to the group mean reward (diagnostic head; small) */
  valueCoef: number;
}

/** log π(label) + log π(ranking) for every action, given sentiment logits and gate logits. */
export function actionLogProbs(
  out: Pick<ForwardCache, 'sentimentLogits' | 'gateLogits' | 'batchSize'>,
  rollout: Pick<GrpoRollout, 'groupSize' | 'labels' | 'rankings'>,
): Float64Array {
  const B = out.batchSize;
  const Gs = rollout.groupSize;
  const lp = new Float64Array(B * Gs);
  const ls = new Float64Array(N_SENT);
  for (let b = 0; b < B; b++) {
    logSoftmaxRow(out.sentimentLogits, b * N_SENT, N_SENT, ls, 0);
    for (let g = 0; g < Gs; g++) {
      const k = b * Gs + g;
      lp[k] = ls[rollout.labels[k]!]! + rankingLogProb(out.gateLogits, b * N_MOD, rollout.rankings, k * N_MOD, null);
    }
  }
  return lp;
}

/**
 * Plackett–Luce log-probability of a ranking of the present modalities under softmax(gate logits);
 * when `grad` is given, adds `coef ×` its gradient w.r.t. the gate logits. Computed in logit space so a
 * near-zero weight never turns into 1/w.
 */
export function rankingLogProb(gl: ArrayLike<number>, glOff: number, rankings: Int8Array, rOff: number, grad: Float64Array | null, coef = 1): number {
  let n = 0;
  while (n < N_MOD && rankings[rOff + n]! >= 0) n++;
  let lp = 0;
  for (let j = 0; j < n - 1; j++) {
    let mx = -Infinity;
    for (let l = j; l < n; l++) mx = Math.max(mx, gl[glOff + rankings[rOff + l]!]!);
    let sum = 0;
    for (let l = j; l < n; l++) sum += Math.exp(gl[glOff + rankings[rOff + l]!]! - mx);
    const lse = mx + Math.log(sum);
    const rj = rankings[rOff + j]!;
    lp += gl[glOff + rj]! - lse;
    if (grad) {
      grad[glOff + rj] += coef;
      for (let l = j; l < n; l++) {
        const rl = rankings[rOff + l]!;
        grad[glOff + rl] -= coef * Math.exp(gl[glOff + rl]! - lse);
      }
    }
  }
  return lp;
}

export interface GrpoStats {
  /** mean k3 estimate of KL(π_θ ‖ π_ref) over actions */
  kl: number;
  /** fraction of actions whose ratio was clipped */
  clipFraction: number;
  /** mean surrogate objective */
  surrogate: number;
  valueLoss: number;
}

/**
 * GRPO loss (to minimise): −mean[min(ρA, clip(ρ, 1−ε, 1+ε)A) − β·k3] + valueCoef·mean (V − r̄)²,
 * ρ = π_θ/π_old, k3 = exp(ref − logp) − (ref − logp) − 1, gradients through log π(label) + log π(ranking).
 */
export function grpoLoss(out: ForwardCache, rollout: GrpoRollout, opts: GrpoLossOptions): LossResult & { stats: GrpoStats } {
  const B = out.batchSize;
  const Gs = rollout.groupSize;
  const N = B * Gs;
  const dS = new Float64Array(B * N_SENT);
  const dGl = new Float64Array(B * N_MOD);
  const dV = new Float64Array(B);
  const ls = new Float64Array(N_SENT);
  let loss = 0;
  let kl = 0;
  let clipped = 0;
  let surrTotal = 0;
  for (let b = 0; b < B; b++) {
    logSoftmaxRow(out.sentimentLogits, b * N_SENT, N_SENT, ls, 0);
    for (let g = 0; g < Gs; g++) {
      const k = b * Gs + g;
      const y = rollout.labels[k]!;
      const lp = ls[y]! + rankingLogProb(out.gateLogits, b * N_MOD, rollout.rankings, k * N_MOD, null);
      const A = rollout.advantages[k]!;
      const ratio = Math.exp(lp - rollout.oldLogp[k]!);
      const clippedRatio = Math.min(Math.max(ratio, 1 - opts.clipEps), 1 + opts.clipEps);
      const unclippedTerm = ratio * A;
      const clippedTerm = clippedRatio * A;
      const surr = Math.min(unclippedTerm, clippedTerm);
      // the min picks the clipped branch (zero gradient) only when it is strictly smaller
      const dSurr = clippedTerm < unclippedTerm ? 0 : ratio * A;
      if (clippedTerm < unclippedTerm) clipped++;
      const d = rollout.refLogp[k]! - lp;
      const k3 = Math.exp(d) - d - 1;
      const dK3 = 1 - Math.exp(d);
      loss += -(surr - opts.beta * k3) / N;
      kl += k3 / N;
      surrTotal += surr / N;
      const c = -(dSurr - opts.beta * dK3) / N;
      for (let j = 0; j < N_SENT; j++) dS[b * N_SENT + j] += c * ((j === y ? 1 : 0) - Math.exp(ls[j]!));
      rankingLogProb(out.gateLogits, b * N_MOD, rollout.rankings, k * N_MOD, dGl, c);
    }
  }
  let valueLoss = 0;
  if (opts.valueCoef !== 0) {
    for (let b = 0; b < B; b++) {
      const e = out.value[b]! - rollout.rewardMean[b]!;
      valueLoss += (opts.valueCoef * e * e) / B;
      dV[b] = (2 * opts.valueCoef * e) / B;
    }
  }
  return {
    loss: loss + valueLoss,
    seeds: { sentimentLogits: dS, gateLogits: dGl, value: dV },
    stats: { kl, clipFraction: clipped / N, surrogate: surrTotal, valueLoss },
  };
}
