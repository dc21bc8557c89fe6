import { EMOTION_LABELS, MODALITIES, SENTIMENT_LABELS, type Modality } from '@omniaffect/core';
import {
  classificationMetrics,
  LABEL_SCALE,
  mmsaMetrics,
  type ClassificationMetrics,
  type FaithfulnessRow,
  type MmsaDatasetName,
  type MmsaMetrics,
  type ModalityContributionRow,
  type SentimentMapping,
} from '@omniaffect/eval';
import {
  collate,
  comprehensiveness,
  deletionDrops,
  faithfulnessReport,
  forward,
  sufficiency,
  topKItems,
  type FaithfulnessReport,
  type PolicyParams,
  type Rationale,
} from '@omniaffect/policy';
import type { ResearchSample } from './research-samples';

export interface ClipPrediction {
  id: string;
  dataset: MmsaDatasetName;
  language: string;
  /** dataset label on its own scale */
  label: number;
  gold: number;
  goldSign3: number;
  pred: number;
  probs: number[];
  /** tanh intensity in [−1, 1] */
  intensity: number;
  /** intensity × the dataset's label scale: the regression output MMSA's metrics score */
  regression: number;
  emotionGold?: number;
  emotionPred: number;
  weights: Record<Modality, number>;
  present: Modality[];
  /** highest-weighted present modality: the modality the policy names as decisive */
  decisive: Modality;
  /** present modality whose removal lowers the gold-class probability most */
  deletionDecisive: Modality;
  /** gold-class probability drop per removed modality (null = absent) */
  drops: Record<Modality, number | null>;
  /** removing the top-weighted modality hurts the gold class more than removing the lowest-weighted (≥ 2 present) */
  topBeatsLowest: boolean | null;
  plantedModality?: Modality;
}

function argmax(x: ArrayLike<number>, off: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (x[off + j]! > x[off + best]!) best = j;
  return best;
}

/** Forward + deletion test per clip (batched), with everything the report and the checks need. */
export function predictClips(params: PolicyParams, samples: readonly ResearchSample[], batchSize = 256): ClipPrediction[] {
  const out: ClipPrediction[] = [];
  for (let s = 0; s < samples.length; s += batchSize) {
    const chunk = samples.slice(s, s + batchSize);
    const batch = collate(chunk, params.dims);
    const f = forward(params, batch);
    const { drops } = deletionDrops(
      params,
      f,
      Int32Array.from(chunk, (x) => x.sentiment),
    );
    chunk.forEach((x, b) => {
      const probs = [0, 1, 2].map((j) => f.sentimentLogits[b * 3 + j]!);
      const mx = Math.max(...probs);
      const e = probs.map((v) => Math.exp(v - mx));
      const z = e.reduce((a, c) => a + c, 0);
      const present = MODALITIES.filter((_, mi) => batch.modalityMask[b * 3 + mi] !== 0);
      const weights = Object.fromEntries(MODALITIES.map((m, mi) => [m, f.modalityWeights[b * 3 + mi]!])) as Record<Modality, number>;
      const dropRec = Object.fromEntries(MODALITIES.map((m, mi) => [m, Number.isNaN(drops[b * 3 + mi]!) ? null : drops[b * 3 + mi]!])) as Record<
        Modality,
        number | null
      >;
      const byWeight = [...present].sort((a, c) => weights[c] - weights[a] || MODALITIES.indexOf(a) - MODALITIES.indexOf(c));
      const byDrop = [...present].sort((a, c) => dropRec[c]! - dropRec[a]! || MODALITIES.indexOf(a) - MODALITIES.indexOf(c));
      const top = byWeight[0]!;
      const low = byWeight[byWeight.length - 1]!;
      const p: ClipPrediction = {
        id: x.id,
        dataset: x.dataset,
        language: x.language,
        label: x.label,
        gold: x.sentiment,
        goldSign3: x.sign3,
        pred: argmax(f.sentimentLogits, b * 3, 3),
        probs: e.map((v) => v / z),
        intensity: f.intensity[b]!,
        regression: f.intensity[b]! * LABEL_SCALE[x.dataset],
        emotionPred: argmax(f.emotionLogits, b * EMOTION_LABELS.length, EMOTION_LABELS.length),
        weights,
        present,
        decisive: top,
        deletionDecisive: byDrop[0]!,
        drops: dropRec,
        topBeatsLowest: present.length >= 2 ? dropRec[top]! > dropRec[low]! : null,
      };
      if (x.emotion !== undefined) p.emotionGold = x.emotion;
      if (x.plantedModality) p.plantedModality = x.plantedModality;
      out.push(p);
    });
  }
  return out;
}

/** Share of `xs` for which `pred` holds, over those where `applies` does; null when none applies. */
function rate<T>(xs: readonly T[], applies: (x: T) => boolean, pred: (x: T) => boolean): { n: number; rate: number | null } {
  const sub = xs.filter(applies);
  return { n: sub.length, rate: sub.length ? sub.filter(pred).length / sub.length : null };
}

export interface AttributionChecks {
  /** clips whose planted modality is checkable (non-neutral label, one non-zero unimodal label) */
  decisivePlanted: { n: number; rate: number | null };
  deletionPlanted: { n: number; rate: number | null };
  /** over every clip with ≥ 2 modalities */
  topBeatsLowest: { n: number; rate: number | null };
  /** the same, over clips with a checkable planted modality */
  topBeatsLowestPlanted: { n: number; rate: number | null };
  weightDeletionAgreement: { n: number; rate: number | null };
}

export function attributionChecks(preds: readonly ClipPrediction[]): AttributionChecks {
  return {
    decisivePlanted: rate(
      preds,
      (p) => !!p.plantedModality,
      (p) => p.decisive === p.plantedModality,
    ),
    deletionPlanted: rate(
      preds,
      (p) => !!p.plantedModality,
      (p) => p.deletionDecisive === p.plantedModality,
    ),
    topBeatsLowest: rate(
      preds,
      (p) => p.topBeatsLowest !== null,
      (p) => p.topBeatsLowest === true,
    ),
    topBeatsLowestPlanted: rate(
      preds,
      (p) => p.topBeatsLowest !== null && !!p.plantedModality,
      (p) => p.topBeatsLowest === true,
    ),
    weightDeletionAgreement: rate(
      preds,
      () => true,
      (p) => p.decisive === p.deletionDecisive,
    ),
  };
}

/** Mean modality weights per language (absent modalities count as weight 0, as the fusion output gives them). */
export function modalityContributions(preds: readonly ClipPrediction[], suffix = ''): ModalityContributionRow[] {
  const langs = [...new Set(preds.map((p) => p.language))].sort();
  return langs.map((language) => {
    const sub = preds.filter((p) => p.language === language);
    const mean = (m: Modality) => sub.reduce((a, p) => a + p.weights[m], 0) / sub.length;
    return { language: `${language}${suffix}`, text: mean('text'), audio: mean('audio'), vision: mean('vision') };
  });
}

const ITEM_SCOPE: Record<Modality, string> = { text: 'words', audio: 'segments', vision: 'frames' };

/**
 * ERASER comprehensiveness/sufficiency of the policy's own rationales against the gold class: the top-weighted
 * modality, and per modality the top-k items by attention (words, audio segments, frames). For an item scope the
 * other modalities stay as they are: comprehensiveness removes the top-k items, sufficiency keeps only them.
 */
export function faithfulnessRows(params: PolicyParams, samples: readonly ResearchSample[], k = 2): { rows: FaithfulnessRow[]; report: FaithfulnessReport } {
  const report = faithfulnessReport(params, samples, k);
  const rows: FaithfulnessRow[] = [
    { scope: 'modality (top-1)', comprehensiveness: report.modality.comprehensiveness, sufficiency: report.modality.sufficiency },
  ];
  for (const m of MODALITIES) {
    let comp = 0;
    let suff = 0;
    let n = 0;
    for (const s of samples) {
      const seq = s.features[m];
      if (!seq) continue;
      const batch = collate([s], params.dims);
      const f = forward(params, batch);
      const top = topKItems(f.importance[m], batch[m].mask, k);
      const keepOthers: Partial<Record<Modality, number[]>> = { [m]: top };
      for (const o of MODALITIES) {
        if (o === m || !s.features[o]) continue;
        keepOthers[o] = Array.from({ length: s.features[o]!.len }, (_, i) => i);
      }
      const removeTop: Rationale = { items: { [m]: top } };
      comp += comprehensiveness(params, s, removeTop, s.sentiment);
      suff += sufficiency(params, s, { items: keepOthers }, s.sentiment);
      n++;
    }
    if (n) rows.push({ scope: `${ITEM_SCOPE[m]} (top-${k})`, comprehensiveness: comp / n, sufficiency: suff / n });
  }
  return { rows, report };
}

export interface SplitEvaluation {
  n: number;
  predictions: ClipPrediction[];
  /** the training mapping (MMSA 3-class in-dataset, sign-3 across datasets) */
  sentiment3: ClassificationMetrics;
  /**
   * sign-3 (<0 / =0 / >0), comparable across datasets: the classifier's own output when it was trained on sign-3,
   * or on SIMS v2 alone (its 0.2 grid makes MMSA's 3-class equal to sign-3); null otherwise (MOSEI's MMSA 3-class
   * neutral band |x| ≤ 0.5 cannot be turned into sign-3 after the fact).
   */
  sign3: ClassificationMetrics | null;
  /** 7-class emotion over the emotion-labelled clips, when there are any */
  emotion7: ClassificationMetrics | null;
  /** MMSA's regression metrics of intensity × label scale, per dataset in the split */
  mmsa: { dataset: MmsaDatasetName; n: number; metrics: MmsaMetrics }[];
  attribution: AttributionChecks;
  faithfulness: FaithfulnessRow[];
  faithfulnessReport: FaithfulnessReport;
  modalityContributions: ModalityContributionRow[];
}

export function evaluateSplit(params: PolicyParams, samples: readonly ResearchSample[], mapping: SentimentMapping, faithK = 2): SplitEvaluation {
  if (samples.length === 0) throw new Error('no clips to evaluate');
  const predictions = predictClips(params, samples);
  const emo = predictions.filter((p) => p.emotionGold !== undefined);
  const datasets = [...new Set(samples.map((s) => s.dataset))].sort();
  const { rows, report } = faithfulnessRows(params, samples, faithK);
  return {
    n: samples.length,
    predictions,
    sentiment3: classificationMetrics(
      predictions.map((p) => p.pred),
      predictions.map((p) => p.gold),
      SENTIMENT_LABELS,
    ),
    sign3:
      mapping === 'sign3' || datasets.every((d) => d === 'sims2')
        ? classificationMetrics(
            predictions.map((p) => p.pred),
            predictions.map((p) => p.goldSign3),
            SENTIMENT_LABELS,
          )
        : null,
    emotion7: emo.length
      ? classificationMetrics(
          emo.map((p) => p.emotionPred),
          emo.map((p) => p.emotionGold!),
          EMOTION_LABELS,
        )
      : null,
    mmsa: datasets.map((d) => {
      const sub = predictions.filter((p) => p.dataset === d);
      return {
        dataset: d,
        n: sub.length,
        metrics: mmsaMetrics(
          sub.map((p) => p.regression),
          sub.map((p) => p.label),
          d,
        ),
      };
    }),
    attribution: attributionChecks(predictions),
    faithfulness: rows,
    faithfulnessReport: report,
    modalityContributions: modalityContributions(predictions),
  };
}
