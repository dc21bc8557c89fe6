import { MODALITIES, type Modality } from '@omniaffect/core';
import { collate } from './batch';
import { forward, softmaxRow, type ForwardCache } from './forward';
import { N_MOD, N_SENT, type PolicyParams } from './params';
import { deletionDrops, deletionRanking, weightRanking } from './rewards';
import type { FusionBatch, PolicySample } from './types';

type FeatureSample = Pick<PolicySample, 'features'> & Partial<Pick<PolicySample, 'sentiment'>>;

export interface DeletionEffects {
  /** class whose probability is tracked (gold when the sample has one, else the predicted class) */
  classIndex: number;
  fullProb: number;
  /** probability drop when the modality is removed; null = modality absent */
  drops: Record<Modality, number | null>;
  /** present modalities, largest drop first */
  ranking: Modality[];
  decisive: Modality | null;
  modalityWeights: Record<Modality, number>;
}

function targetClass(sample: FeatureSample, out: ForwardCache, b = 0): number {
  if (typeof sample.sentiment === 'number') return sample.sentiment;
  const p = new Float64Array(N_SENT);
  softmaxRow(out.sentimentLogits, b * N_SENT, N_SENT, p, 0);
  let best = 0;
  for (let j = 1; j < N_SENT; j++) if (p[j]! > p[best]!) best = j;
  return best;
}

/** Gold-class (or predicted-class) probability drop per removed modality, for one clip. */
export function deletionEffects(params: PolicyParams, sample: FeatureSample, classIndex?: number): DeletionEffects {
  const out = forward(params, collate([sample], params.dims));
  const cls = classIndex ?? targetClass(sample, out);
  const { drops, full } = deletionDrops(params, out, Int32Array.of(cls));
  const rec = {} as Record<Modality, number | null>;
  const weights = {} as Record<Modality, number>;
  MODALITIES.forEach((m, mi) => {
    rec[m] = Number.isNaN(drops[mi]!) ? null : drops[mi]!;
    weights[m] = out.modalityWeights[mi]!;
  });
  const ranking = deletionRanking(drops, 0).map((i) => MODALITIES[i]!);
  return { classIndex: cls, fullProb: full[0]!, drops: rec, ranking, decisive: ranking[0] ?? null, modalityWeights: weights };
}

/**
 * A rationale: a set of modalities, or a set of items (word / audio-segment / frame indices) per
 * modality. ERASER: comprehensiveness = p(full) − p(without rationale); sufficiency = p(full) − p(only
 * rationale). Higher comprehensiveness and lower sufficiency mean a more faithful rationale.
 */
export type Rationale = { modalities: readonly Modality[] } | { items: Partial<Record<Modality, readonly number[]>> };

function classProb(params: PolicyParams, batch: FusionBatch, cls: number): number {
  const out = forward(params, batch);
  const p = new Float64Array(N_SENT);
  softmaxRow(out.sentimentLogits, 0, N_SENT, p, 0);
  return p[cls]!;
}

/** A modality left with no valid item is absent, as the fusion contract defines it. */
function markEmptyModalitiesAbsent(batch: FusionBatch): void {
  MODALITIES.forEach((m, mi) => {
    const mb = batch[m];
    let any = false;
    for (let i = 0; i < mb.len; i++) if (mb.mask[i] !== 0) any = true;
    if (!any) batch.modalityMask[mi] = 0;
  });
}

function applyRationale(batch: FusionBatch, r: Rationale, keep: boolean): void {
  if ('modalities' in r) {
    MODALITIES.forEach((m, mi) => {
      const inR = r.modalities.includes(m);
      if (inR !== keep) {
        batch.modalityMask[mi] = 0;
        batch[m].mask.fill(0);
      }
    });
  } else {
    for (const m of MODALITIES) {
      const set = new Set(r.items[m] ?? []);
      const mb = batch[m];
      for (let i = 0; i < mb.len; i++) if (set.has(i) !== keep) mb.mask[i] = 0;
    }
  }
  markEmptyModalitiesAbsent(batch);
}

function rationaleEffect(params: PolicyParams, sample: FeatureSample, r: Rationale, keep: boolean, classIndex?: number): number {
  const batch = collate([sample], params.dims);
  const out = forward(params, batch);
  const cls = classIndex ?? targetClass(sample, out);
  const p = new Float64Array(N_SENT);
  softmaxRow(out.sentimentLogits, 0, N_SENT, p, 0);
  const reduced = collate([sample], params.dims);
  applyRationale(reduced, r, keep);
  return p[cls]! - classProb(params, reduced, cls);
}

export function comprehensiveness(params: PolicyParams, sample: FeatureSample, rationale: Rationale, classIndex?: number): number {
  return rationaleEffect(params, sample, rationale, false, classIndex);
}

export function sufficiency(params: PolicyParams, sample: FeatureSample, rationale: Rationale, classIndex?: number): number {
  return rationaleEffect(params, sample, rationale, true, classIndex);
}

/** Indices of the k valid items with the highest importance (ties: lower index first). */
export function topKItems(importance: ArrayLike<number>, mask: ArrayLike<number> | null, k: number, offset = 0, len = importance.length - offset): number[] {
  const idx: number[] = [];
  for (let i = 0; i < len; i++) if (!mask || mask[offset + i] !== 0) idx.push(i);
  idx.sort((a, b) => importance[offset + b]! - importance[offset + a]! || a - b);
  return idx.slice(0, k);
}

/** The policy's own item rationale: the top-k items of every present modality by attention importance. */
export function itemRationale(params: PolicyParams, sample: FeatureSample, k: number): Rationale {
  const batch = collate([sample], params.dims);
  const out = forward(params, batch);
  const items: Partial<Record<Modality, number[]>> = {};
  MODALITIES.forEach((m, mi) => {
    if (batch.modalityMask[mi] === 0) return;
    items[m] = topKItems(out.importance[m], batch[m].mask, k);
  });
  return { items };
}

/** The policy's own modality rationale: the k highest-weighted present modalities. */
export function modalityRationale(params: PolicyParams, sample: FeatureSample, k = 1): Rationale {
  const batch = collate([sample], params.dims);
  const out = forward(params, batch);
  return {
    modalities: weightRanking(out.modalityWeights, batch.modalityMask, 0)
      .slice(0, k)
      .map((i) => MODALITIES[i]!),
  };
}

export interface FaithfulnessReport {
  clips: number;
  /** clips with ≥ 2 present modalities, the ones where top-vs-lowest is defined */
  multiModalClips: number;
  /** share of those where removing the top-weighted modality drops the gold prob more than removing the lowest */
  topBeatsLowestRate: number;
  /** share of clips whose highest-weighted modality is the one whose removal hurts most */
  weightDeletionAgreement: number;
  modality: { comprehensiveness: number; sufficiency: number };
  items: { k: number; comprehensiveness: number; sufficiency: number };
}

/** ERASER-style summary over clips (rationale = top-1 modality and top-k items per modality). */
export function faithfulnessReport(params: PolicyParams, samples: readonly PolicySample[], k = 2, batchSize = 256): FaithfulnessReport {
  let multi = 0;
  let topBeats = 0;
  let agree = 0;
  let mComp = 0;
  let mSuff = 0;
  let iComp = 0;
  let iSuff = 0;
  for (let s = 0; s < samples.length; s += batchSize) {
    const chunk = samples.slice(s, s + batchSize);
    const batch = collate(chunk, params.dims);
    const out = forward(params, batch);
    const gold = Int32Array.from(chunk, (x) => x.sentiment);
    const { drops } = deletionDrops(params, out, gold);
    chunk.forEach((sample, b) => {
      const wr = weightRanking(out.modalityWeights, batch.modalityMask, b * N_MOD);
      const dr = deletionRanking(drops, b * N_MOD);
      if (wr[0] === dr[0]) agree++;
      if (wr.length >= 2) {
        multi++;
        if (drops[b * N_MOD + wr[0]!]! > drops[b * N_MOD + wr[wr.length - 1]!]!) topBeats++;
      }
      const modR: Rationale = { modalities: [MODALITIES[wr[0]!]!] };
      mComp += comprehensiveness(params, sample, modR);
      mSuff += sufficiency(params, sample, modR);
      const items: Partial<Record<Modality, number[]>> = {};
      MODALITIES.forEach((m, mi) => {
        if (batch.modalityMask[b * N_MOD + mi] === 0) return;
        const L = batch[m].len;
        items[m] = topKItems(out.importance[m], batch[m].mask, k, b * L, L);
      });
      iComp += comprehensiveness(params, sample, { items });
      iSuff += sufficiency(params, sample, { items });
    });
  }
  const n = Math.max(samples.length, 1);
  return {
    clips: samples.length,
    multiModalClips: multi,
    topBeatsLowestRate: multi ? topBeats / multi : NaN,
    weightDeletionAgreement: agree / n,
    modality: { comprehensiveness: mComp / n, sufficiency: mSuff / n },
    items: { k, comprehensiveness: iComp / n, sufficiency: iSuff / n },
  };
}
