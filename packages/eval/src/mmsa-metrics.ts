import { accuracyScore, weightedF1 } from './sklearn-compat';
import { clipF32, corrcoef, f32, meanFloat32, npRound, rintHalfEven } from './numpy-compat';

/** Datasets whose MMSA regression metric function we reproduce; sims/sims2 and mosi/mosei share one each. */
export type MetricsDataset = 'sims' | 'sims2' | 'mosi' | 'mosei';

export interface MoseiMetrics {
  Has0_acc_2: number;
  Has0_F1_score: number;
  Non0_acc_2: number;
  Non0_F1_score: number;
  Mult_acc_5: number;
  Mult_acc_7: number;
  MAE: number;
  Corr: number;
}

export interface SimsMetrics {
  Mult_acc_2: number;
  Mult_acc_3: number;
  Mult_acc_5: number;
  F1_score: number;
  MAE: number;
  Corr: number;
}

export type MmsaMetrics = MoseiMetrics | SimsMetrics;

export interface MmsaMetricsOptions {
  /** false returns the values before MMSA's final round(v, 4); default true. */
  round?: boolean;
}

/** Bin edges of MMSA __eval_sims_regression; class i ⇔ e[i] < x ≤ e[i+1], compared in float32. */
export const SIMS_BIN_EDGES = {
  2: [-1.01, 0.0, 1.01],
  3: [-1.01, -0.1, 0.1, 1.01],
  5: [-1.01, -0.7, -0.1, 0.1, 0.7, 1.01],
} as const;

/**
 * MMSA's binning: a copy of the clipped float32 array where each value inside a bin is replaced by the
 * bin index; a value inside no bin (NaN) is left as it was, exactly as the in-place NumPy masks do.
 */
export function simsBin(x: number, edges: readonly number[]): number {
  for (let i = 0; i < edges.length - 1; i++) {
    if (x > f32(edges[i]!) && x <= f32(edges[i + 1]!)) return i;
  }
  return x;
}

function isSims(dataset: MetricsDataset): boolean {
  return dataset === 'sims' || dataset === 'sims2';
}

/** MMSA __multiclass_acc: share of positions where np.round(pred) == np.round(true). */
function multiclassAcc(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  let eq = 0;
  for (let i = 0; i < truth.length; i++) if (rintHalfEven(pred[i]!) === rintHalfEven(truth[i]!)) eq++;
  return eq / truth.length;
}

function toFloat32(values: readonly number[], what: string): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || Number.isNaN(v)) throw new Error(`${what}[${i}] is not a number`);
    out[i] = v;
  }
  return out;
}

/** MMSA's return step: Python round(numpy scalar, 4) is np.round, i.e. multiply/rint/divide in float64. */
function finish<T extends Record<string, number>>(raw: T, round: boolean): T {
  if (!round) return raw;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw)) out[k] = npRound(v, 4);
  return out as T;
}

/**
 * MMSA metricsTop.py (thuiar/MMSA) regression metrics, reproduced on float32 inputs:
 * `mosei`/`mosi` → __eval_mosei_regression, `sims`/`sims2` → __eval_sims_regression.
 * MAE is the float32 NumPy mean widened to float64 before rounding (MMSA's `.astype(np.float64)`).
 * Corr is NaN when either side is constant (NumPy warns and returns nan).
 */
export function mmsaMetrics(preds: readonly number[], labels: readonly number[], dataset: 'mosei' | 'mosi', options?: MmsaMetricsOptions): MoseiMetrics;
export function mmsaMetrics(preds: readonly number[], labels: readonly number[], dataset: 'sims' | 'sims2', options?: MmsaMetricsOptions): SimsMetrics;
export function mmsaMetrics(preds: readonly number[], labels: readonly number[], dataset: MetricsDataset, options?: MmsaMetricsOptions): MmsaMetrics;
export function mmsaMetrics(preds: readonly number[], labels: readonly number[], dataset: MetricsDataset, options: MmsaMetricsOptions = {}): MmsaMetrics {
  if (preds.length !== labels.length) throw new Error(`mmsaMetrics: ${preds.length} predictions vs ${labels.length} labels`);
  if (preds.length === 0) throw new Error('mmsaMetrics: no samples');
  const p = toFloat32(preds, 'preds');
  const t = toFloat32(labels, 'labels');
  const round = options.round !== false;
  return isSims(dataset) ? simsRegression(p, t, round) : moseiRegression(p, t, round);
}

function absDiffMean(p: Float32Array, t: Float32Array): number {
  const d = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) d[i] = Math.abs(f32(p[i]! - t[i]!));
  return meanFloat32(d);
}

function moseiRegression(p: Float32Array, t: Float32Array, round: boolean): MoseiMetrics {
  const clip = (a: Float32Array, b: number) => Float32Array.from(a, (x) => clipF32(x, -b, b));
  const mae = absDiffMean(p, t);
  const corr = corrcoef(p, t);
  const a7 = multiclassAcc(clip(p, 3), clip(t, 3));
  const a5 = multiclassAcc(clip(p, 2), clip(t, 2));

  const nzTruth: number[] = [];
  const nzPred: number[] = [];
  for (let i = 0; i < t.length; i++) {
    if (t[i] !== 0) {
      nzTruth.push(t[i]! > 0 ? 1 : 0);
      nzPred.push(p[i]! > 0 ? 1 : 0);
    }
  }
  const binTruth = Array.from(t, (x) => (x >= 0 ? 1 : 0));
  const binPred = Array.from(p, (x) => (x >= 0 ? 1 : 0));
  return finish(
    {
      Has0_acc_2: accuracyScore(binPred, binTruth),
      Has0_F1_score: weightedF1(binTruth, binPred),
      Non0_acc_2: accuracyScore(nzPred, nzTruth),
      Non0_F1_score: weightedF1(nzTruth, nzPred),
      Mult_acc_5: a5,
      Mult_acc_7: a7,
      MAE: mae,
      Corr: corr,
    },
    round,
  );
}

function simsRegression(pIn: Float32Array, tIn: Float32Array, round: boolean): SimsMetrics {
  const p = Float32Array.from(pIn, (x) => clipF32(x, -1, 1));
  const t = Float32Array.from(tIn, (x) => clipF32(x, -1, 1));
  const bins = (a: Float32Array, k: 2 | 3 | 5) => Float32Array.from(a, (x) => simsBin(x, SIMS_BIN_EDGES[k]));
  const p2 = bins(p, 2);
  const t2 = bins(t, 2);
  return finish(
    {
      Mult_acc_2: multiclassAcc(p2, t2),
      Mult_acc_3: multiclassAcc(bins(p, 3), bins(t, 3)),
      Mult_acc_5: multiclassAcc(bins(p, 5), bins(t, 5)),
      F1_score: weightedF1(t2, p2),
      MAE: absDiffMean(p, t),
      Corr: corrcoef(p, t),
    },
    round,
  );
}
