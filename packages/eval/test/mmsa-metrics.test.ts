import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseCsvTable } from '../src/csv';
import { mmsaMetrics, type MetricsDataset } from '../src/mmsa-metrics';
import { meanFloat32, npRound, pairwiseSum, rintHalfEven } from '../src/numpy-compat';
import { accuracyScore, weightedF1 } from '../src/sklearn-compat';
import { FIXTURES } from './helpers';

interface ExpectedCase {
  dataset: MetricsDataset;
  n: number;
  rounded: Record<string, number | null>;
  raw: Record<string, number | null>;
}
const expected = JSON.parse(readFileSync(path.join(FIXTURES, 'mmsa', 'expected.json'), 'utf8')) as { cases: Record<string, ExpectedCase> };

function readFixture(name: string): { preds: number[]; labels: number[] } {
  const t = parseCsvTable(readFileSync(path.join(FIXTURES, 'mmsa', `${name}.csv`), 'utf8'));
  const ip = t.columns.get('prediction')!;
  const il = t.columns.get('label')!;
  return { preds: t.rows.map((r) => Number(r.fields[ip])), labels: t.rows.map((r) => Number(r.fields[il])) };
}

const nanToNull = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Number.isNaN(v) ? null : v]));

for (const [name, exp] of Object.entries(expected.cases)) {
  test(`MMSA parity with the NumPy reference: ${name}`, () => {
    const { preds, labels } = readFixture(name);
    assert.equal(preds.length, exp.n);
    // MMSA's returned values (4 decimals): exact equality.
    assert.deepEqual(nanToNull(mmsaMetrics(preds, labels, exp.dataset)), exp.rounded);
    // Before rounding: every metric but Corr is bit-identical; Corr's Gram matrix is summed by BLAS in NumPy.
    const raw = nanToNull(mmsaMetrics(preds, labels, exp.dataset, { round: false }));
    for (const [k, v] of Object.entries(exp.raw)) {
      if (k === 'Corr' && v !== null) assert.ok(Math.abs((raw[k] as number) - v) < 1e-12, `${k}: ${raw[k]} vs ${v}`);
      else assert.equal(raw[k], v, `${name}.${k}`);
    }
  });
}

test('MOSEI hand-checked case', () => {
  const m = mmsaMetrics([1, -1, 0.5, 0], [2, -2, 0, 0], 'mosei');
  assert.deepEqual(m, {
    Has0_acc_2: 1, // ≥0: [1,0,1,1] vs [1,0,1,1]
    Has0_F1_score: 1,
    Non0_acc_2: 1, // only the two non-zero truths count
    Non0_F1_score: 1,
    Mult_acc_5: 0.5, // round(0.5) = 0 (half to even); 1 vs 2 and -1 vs -2 miss
    Mult_acc_7: 0.5,
    MAE: 0.625,
    Corr: 0.9562, // 4 / sqrt(2.1875 · 8)
  });
});

test('MOSEI: clipping at ±3 for Acc-7 but MAE on unclipped values; constant predictor → Corr NaN', () => {
  const m = mmsaMetrics([5, -5], [3, -3], 'mosei');
  assert.equal(m.Mult_acc_7, 1);
  assert.equal(m.MAE, 2);
  assert.ok(Number.isNaN(mmsaMetrics([0.3, 0.3, 0.3], [1, 0, -1], 'mosei').Corr));
});

test('SIMS bins compare in float32: 0.100000001 is neutral, −0.1 is negative, 0 is 2-class negative', () => {
  // float64 would call 0.100000001 positive; in float32 it equals the edge 0.1.
  const m = mmsaMetrics([0.100000001, -0.1, 0], [0, -0.2, 0.1], 'sims2', { round: false });
  assert.equal(m.Mult_acc_3, 1);
  assert.equal(m.Mult_acc_2, 1 / 3); // 2-class: 0 is negative, 0.1 and 0.100000001 positive
  const clipped = mmsaMetrics([1.5], [1], 'sims');
  assert.equal(clipped.MAE, 0); // SIMS clips before MAE
});

test('NumPy helpers: rint is half-to-even, np.round multiplies/rints/divides, float32 mean is pairwise', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5].map(rintHalfEven), [0, 2, 2, -0, -2, -2]);
  assert.equal(npRound(0.12345, 4), 0.1234); // Python's round(0.12345, 4) gives 0.1235
  // Values checked against NumPy 2.4: np.round(0.00005, 4) = 0.0, np.round(0.00025, 4) = 0.0002, np.round(0.33335, 4) = 0.3334.
  assert.equal(npRound(0.00005, 4), 0);
  assert.equal(npRound(0.00025, 4), 0.0002);
  assert.equal(npRound(0.33335, 4), 0.3334);
  const ones = new Float32Array(20000).fill(0.1);
  // A running float32 sum drifts far from 2000; NumPy's pairwise sum stays within a few ulps.
  assert.ok(Math.abs(meanFloat32(ones) - 0.1) < 1e-6);
  let naive = 0;
  for (const x of ones) naive = Math.fround(naive + x);
  assert.ok(Math.abs(naive / 20000 - 0.1) > 1e-5); // ≈ 1.7e-5 off
  assert.equal(pairwiseSum([1, 2, 3]), 6);
});

test('sklearn accuracy and weighted F1 from their definitions', () => {
  assert.equal(accuracyScore([0, 1, 1, 1, 0], [0, 0, 1, 1, 1]), 0.6);
  // class 0: 2·1/(2+2) = .5 (support 2); class 1: 2·2/(3+3) = 2/3 (support 3) → (1 + 2) / 5
  assert.equal(weightedF1([0, 0, 1, 1, 1], [0, 1, 1, 1, 0]), 0.6);
  // Not symmetric: a class only predicted gets weight 0.
  assert.equal(weightedF1([0, 0, 0], [0, 1, 1]), 0.5);
  assert.equal(weightedF1([0, 1, 1], [0, 0, 0]), ((1 * 2) / 4 + 0 * 2) / 3);
});
