import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { toCsv, type EvalReportData, type TrainingStep } from '@omniaffect/eval';
import type { EpochLog, GrpoStepLog } from '@omniaffect/policy';
import type { SplitEvaluation } from './research-evaluate';

/** Reward means, KL and accuracy per GRPO step, plus the warm-start epochs' validation accuracy before step 0. */
export function trainingCurves(history: { epochs: EpochLog[]; grpo: GrpoStepLog[] }): TrainingStep[] {
  const warm: TrainingStep[] = history.epochs.map((e) => ({ step: e.epoch - history.epochs.length, accuracy: e.valid.accuracy }));
  const grpo: TrainingStep[] = history.grpo.map((s) => ({
    step: s.step,
    rewards: { total: s.rewardMean, accuracy: s.accuracyReward, attribution: s.attributionReward, consistency: s.consistencyReward },
    kl: s.kl,
    accuracy: s.valid ? s.valid.accuracy : s.batchAccuracy,
  }));
  return [...warm, ...grpo];
}

/** `id,prediction,label` (+ details) on the dataset's own scale: the file `omniaffect eval metrics` scores. */
export function writePredictionsCsv(file: string, ev: SplitEvaluation): string {
  const header = [
    'id',
    'prediction',
    'label',
    'pred_class',
    'gold_class',
    'w_text',
    'w_audio',
    'w_vision',
    'decisive',
    'deletion_decisive',
    'planted_modality',
  ];
  const rows = ev.predictions.map((p) => [
    p.id.slice(p.id.indexOf(':') + 1),
    p.regression.toFixed(6),
    p.label,
    p.pred,
    p.gold,
    p.weights.text.toFixed(6),
    p.weights.audio.toFixed(6),
    p.weights.vision.toFixed(6),
    p.decisive,
    p.deletionDecisive,
    p.plantedModality ?? '',
  ]);
  writeFileSync(file, toCsv(header, rows));
  return file;
}

const pct = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : `${(v * 100).toFixed(1)}%`);

/** One line per stage comparing the warm-start policy with the GRPO policy on the same clips. */
export function warmVsGrpoNotes(name: string, warm: SplitEvaluation, grpo: SplitEvaluation): string[] {
  const line = (label: string, w: number | null, g: number | null) => `${name}: ${label}: warm start ${pct(w)} → GRPO ${pct(g)}`;
  return [
    line('3-class WAR', warm.sentiment3.war, grpo.sentiment3.war),
    line('3-class UAR', warm.sentiment3.uar, grpo.sentiment3.uar),
    line(
      `decisive (top weight) = planted modality (n=${grpo.attribution.decisivePlanted.n})`,
      warm.attribution.decisivePlanted.rate,
      grpo.attribution.decisivePlanted.rate,
    ),
    line('deletion-decisive = planted modality', warm.attribution.deletionPlanted.rate, grpo.attribution.deletionPlanted.rate),
    line(
      `removing the top-weighted modality hurts more than removing the lowest (n=${grpo.attribution.topBeatsLowest.n})`,
      warm.attribution.topBeatsLowest.rate,
      grpo.attribution.topBeatsLowest.rate,
    ),
    line('top weight = largest deletion drop', warm.attribution.weightDeletionAgreement.rate, grpo.attribution.weightDeletionAgreement.rate),
  ];
}

/** The report sections of one evaluated split; `warm` adds the warm-start figures next to the GRPO ones. */
export function splitReportData(
  name: string,
  ev: SplitEvaluation,
  warm?: SplitEvaluation,
): Required<Pick<EvalReportData, 'classification' | 'mmsa' | 'faithfulness' | 'modalityContributions'>> {
  const classification: NonNullable<EvalReportData['classification']> = [{ name: `${name}: 3-class sentiment`, metrics: ev.sentiment3 }];
  if (ev.sign3) classification.push({ name: `${name}: sign-3 sentiment`, metrics: ev.sign3 });
  if (ev.emotion7) classification.push({ name: `${name}: 7-class emotion`, metrics: ev.emotion7 });
  if (warm) classification.push({ name: `${name}: 3-class sentiment (warm start only)`, metrics: warm.sentiment3 });
  const faithfulness = ev.faithfulness.map((r) => ({ ...r, scope: warm ? `${r.scope} · GRPO` : r.scope }));
  if (warm) faithfulness.push(...warm.faithfulness.map((r) => ({ ...r, scope: `${r.scope} · warm start` })));
  const modalityContributions = warm
    ? [
        ...ev.modalityContributions.map((r) => ({ ...r, language: `${r.language} · GRPO` })),
        ...warm.modalityContributions.map((r) => ({ ...r, language: `${r.language} · warm start` })),
      ]
    : ev.modalityContributions;
  return {
    classification,
    mmsa: ev.mmsa.map((m) => ({ name: `${name} (${m.dataset})`, dataset: m.dataset, n: m.n, metrics: m.metrics as unknown as Record<string, number | null> })),
    faithfulness,
    modalityContributions,
  };
}

/** A JSON-friendly summary of a split evaluation (no per-clip arrays). */
export function splitSummary(ev: SplitEvaluation) {
  return {
    n: ev.n,
    war3: ev.sentiment3.war,
    uar3: ev.sentiment3.uar,
    sign3: ev.sign3 ? { war: ev.sign3.war, uar: ev.sign3.uar } : null,
    emotion7: ev.emotion7 ? { war: ev.emotion7.war, uar: ev.emotion7.uar, n: ev.emotion7.n } : null,
    mmsa: ev.mmsa,
    attribution: ev.attribution,
    faithfulness: ev.faithfulnessReport,
  };
}

export function reportPaths(out: string) {
  return {
    html: path.join(out, 'report.html'),
    json: path.join(out, 'report.json'),
    model: path.join(out, 'model'),
    predictions: path.join(out, 'predictions.csv'),
  };
}
