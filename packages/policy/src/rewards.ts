import { fuseAndHeads, softmaxRow, type ForwardCache } from './forward';
import { N_MOD, N_SENT, type PolicyParams } from './params';
import type { Rng } from './prng';
import { actionLogProbs, type GrpoRollout } from './losses';

export interface RewardWeights {
  accuracy: number;
  attribution: number;
  consistency: number;
}

export const DEFAULT_REWARD_WEIGHTS: RewardWeights = { accuracy: 1, attribution: 0.5, consistency: 0.25 };

/**
 * Deletion test on the head itself: for every row and present modality, the drop of the target-class
 * probability when that modality is removed (its pooled vector and modality-mask entry zeroed, exactly
 * as if it were absent). Returns [B·3] drops (NaN for absent modalities) and [B] full probabilities.
 */
export function deletionDrops(
  params: PolicyParams,
  cache: Pick<ForwardCache, 'batchSize' | 'modality' | 'sentimentLogits' | 'batch'>,
  target: Int32Array,
): { drops: Float64Array; full: Float64Array } {
  const B = cache.batchSize;
  const mm = cache.batch.modalityMask;
  const pooled = [cache.modality.text.pooled, cache.modality.audio.pooled, cache.modality.vision.pooled];
  const full = new Float64Array(B);
  const probs = new Float64Array(N_SENT);
  for (let b = 0; b < B; b++) {
    softmaxRow(cache.sentimentLogits, b * N_SENT, N_SENT, probs, 0);
    full[b] = probs[target[b]!]!;
  }
  const drops = new Float64Array(B * N_MOD).fill(NaN);
  for (let m = 0; m < N_MOD; m++) {
    const mm2 = Float32Array.from(mm);
    for (let b = 0; b < B; b++) mm2[b * N_MOD + m] = 0;
    const pooled2 = pooled.slice();
    pooled2[m] = new Float64Array(pooled[m]!.length);
    const heads = fuseAndHeads(params, pooled2, mm2, B);
    for (let b = 0; b < B; b++) {
      if (mm[b * N_MOD + m] === 0) continue;
      softmaxRow(heads.sentimentLogits, b * N_SENT, N_SENT, probs, 0);
      drops[b * N_MOD + m] = full[b]! - probs[target[b]!]!;
    }
  }
  return { drops, full };
}

/** Present modalities of a row ordered by deletion drop, largest first (ties: MODALITIES order). */
export function deletionRanking(drops: ArrayLike<number>, off: number): number[] {
  const idx: number[] = [];
  for (let m = 0; m < N_MOD; m++) if (!Number.isNaN(drops[off + m]!)) idx.push(m);
  return idx.sort((a, b) => drops[off + b]! - drops[off + a]! || a - b);
}

/** Present modalities of a row ordered by modality weight, largest first (ties: MODALITIES order). */
export function weightRanking(weights: ArrayLike<number>, mm: ArrayLike<number>, off: number): number[] {
  const idx: number[] = [];
  for (let m = 0; m < N_MOD; m++) if (mm[off + m] !== 0) idx.push(m);
  return idx.sort((a, b) => weights[off + b]! - weights[off + a]! || a - b);
}

/** Kendall τ between two rankings of the same items; 1 = same order, −1 = reversed; 1 when < 2 items. */
export function kendallTau(r1: readonly number[], r2: readonly number[]): number {
  const n = r1.length;
  if (n < 2) return 1;
  const pos2 = new Map<number, number>();
  r2.forEach((m, i) => pos2.set(m, i));
  let c = 0;
  let d = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      // r1 puts r1[i] before r1[j]; concordant if r2 agrees
      if (pos2.get(r1[i]!)! < pos2.get(r1[j]!)!) c++;
      else d++;
    }
  }
  return (c - d) / ((n * (n - 1)) / 2);
}

/** Consistency reward: 0 when the rankings agree, −1 when reversed. */
export function consistencyReward(claimed: readonly number[], deletion: readonly number[]): number {
  return (kendallTau(claimed, deletion) - 1) / 2;
}

/**
 * Group-relative advantages of consecutive groups of `groupSize` rewards: (r − mean) / (std + 1e-4). The std is
 * the unbiased one because R1-Omni and TRL take it from torch.std; a group of equal rewards gets advantage 0.
 */
export function groupAdvantages(total: ArrayLike<number>, groupSize: number): { advantages: Float64Array; rewardMean: Float64Array; rewardStd: number } {
  const Gs = groupSize;
  const B = total.length / Gs;
  if (!Number.isInteger(B)) throw new Error(`${total.length} rewards do not form groups of ${Gs}`);
  const advantages = new Float64Array(total.length);
  const rewardMean = new Float64Array(B);
  let stdSum = 0;
  for (let b = 0; b < B; b++) {
    let mean = 0;
    for (let g = 0; g < Gs; g++) mean += total[b * Gs + g]! / Gs;
    let v = 0;
    for (let g = 0; g < Gs; g++) v += (total[b * Gs + g]! - mean) ** 2;
    const std = Gs > 1 ? Math.sqrt(v / (Gs - 1)) : 0;
    stdSum += std;
    rewardMean[b] = mean;
    for (let g = 0; g < Gs; g++) advantages[b * Gs + g] = (total[b * Gs + g]! - mean) / (std + 1e-4);
  }
  return { advantages, rewardMean, rewardStd: stdSum / B };
}

export interface RolloutResult {
  rollout: GrpoRollout;
  /** per-action reward components, [B·G] */
  accuracy: Float64Array;
  attribution: Float64Array;
  consistency: Float64Array;
  total: Float64Array;
  /** mean over groups of the within-group reward std */
  rewardStd: number;
}

/**
 * Samples G actions per row from the policy that produced `cache`, scores them with the three
 * verifiable rewards and turns the rewards into group-relative advantages.
 */
export function buildRollout(
  params: PolicyParams,
  cache: ForwardCache,
  refCache: ForwardCache,
  gold: Int32Array,
  groupSize: number,
  weights: RewardWeights,
  rng: Rng,
): RolloutResult {
  const B = cache.batchSize;
  const Gs = groupSize;
  const mm = cache.batch.modalityMask;
  const { drops } = deletionDrops(params, cache, gold);
  const labels = new Int32Array(B * Gs);
  const rankings = new Int8Array(B * Gs * N_MOD).fill(-1);
  const accuracy = new Float64Array(B * Gs);
  const attribution = new Float64Array(B * Gs);
  const consistency = new Float64Array(B * Gs);
  const total = new Float64Array(B * Gs);
  const probs = new Float64Array(N_SENT);
  const w = new Float64Array(N_MOD);
  for (let b = 0; b < B; b++) {
    softmaxRow(cache.sentimentLogits, b * N_SENT, N_SENT, probs, 0);
    const delRank = deletionRanking(drops, b * N_MOD);
    const decisive = delRank[0];
    for (let g = 0; g < Gs; g++) {
      const k = b * Gs + g;
      const y = rng.categorical(probs);
      labels[k] = y;
      // Plackett–Luce: draw without replacement in proportion to the modality weights
      for (let m = 0; m < N_MOD; m++) w[m] = mm[b * N_MOD + m] !== 0 ? Math.max(cache.modalityWeights[b * N_MOD + m]!, 1e-12) : 0;
      const ranking: number[] = [];
      for (let j = 0; j < delRank.length; j++) {
        const m = rng.categorical(w);
        ranking.push(m);
        w[m] = 0;
        rankings[k * N_MOD + j] = m;
      }
      accuracy[k] = y === gold[b] ? 1 : 0;
      attribution[k] = ranking[0] === decisive ? 1 : 0;
      consistency[k] = consistencyReward(ranking, delRank);
      total[k] = weights.accuracy * accuracy[k]! + weights.attribution * attribution[k]! + weights.consistency * consistency[k]!;
    }
  }
  const { advantages, rewardMean, rewardStd } = groupAdvantages(total, Gs);
  const partial = { groupSize: Gs, labels, rankings };
  const oldLogp = actionLogProbs(cache, partial);
  const refLogp = actionLogProbs(refCache, partial);
  return {
    rollout: { ...partial, oldLogp, refLogp, advantages, rewardMean },
    accuracy,
    attribution,
    consistency,
    total,
    rewardStd,
  };
}
