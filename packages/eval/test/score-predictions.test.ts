import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { mmsaMetrics } from '../src/mmsa-metrics';
import { scorePredictionsCsv } from '../src/score-predictions';
import { FIXTURES, tempDir } from './helpers';

test('scores a committed fixture exactly like mmsaMetrics and reports sign-3 WAR/UAR', () => {
  const r = scorePredictionsCsv(path.join(FIXTURES, 'mmsa', 'sims_edges.csv'), 'sims2');
  assert.equal(r.n, 24);
  assert.deepEqual(r.problems, []);
  // The MMSA values the NumPy reference (packages/eval/scripts/mmsa_reference.py) gives for this file,
  // as recorded in fixtures/mmsa/expected.json ("sims_edges", rounded to MMSA's 4 decimals).
  assert.deepEqual(r.mmsa, {
    Mult_acc_2: 0.8333,
    Mult_acc_3: 0.7083,
    Mult_acc_5: 0.625,
    F1_score: 0.8333,
    MAE: 0.1296,
    Corr: 0.9341,
  });
  // Sign-3 (label < 0 negative, 0 neutral, > 0 positive) counted by hand from the 24 rows; -0.0 is
  // neutral. Gold negative: 10 rows, 8 right (0005 → positive, 0018 → neutral); gold neutral: 3, 2
  // right (0022 → positive); gold positive: 11, 9 right (0017 → neutral, 0021 → negative).
  assert.equal(r.sentiment3.n, 24);
  assert.deepEqual(r.sentiment3.labels, ['negative', 'neutral', 'positive']);
  assert.deepEqual(r.sentiment3.confusion, [
    [8, 1, 1],
    [0, 2, 1],
    [1, 1, 9],
  ]);
  assert.equal(r.sentiment3.war, 19 / 24);
  assert.ok(Math.abs(r.sentiment3.uar - (8 / 10 + 2 / 3 + 9 / 11) / 3) < 1e-15, String(r.sentiment3.uar));
  assert.equal(r.sentiment3.uarClassCount, 3);
});

test('columns are found by name; bad rows are reported with their line and excluded', () => {
  const dir = tempDir('score');
  const file = path.join(dir, 'preds.csv');
  writeFileSync(file, 'label,extra,id,prediction\n1.5,"a,b",x/1,1.2\n-2,,x/2,-0.4\nzz,,x/3,1\n0,,x/2,0\n0.5,,x/4,\n3,,x/5,2.9\n');
  const r = scorePredictionsCsv(file, 'mosei');
  assert.equal(r.n, 3);
  assert.deepEqual(
    r.problems.map((p) => p.row),
    [4, 5, 6],
  );
  assert.match(r.problems[0]!.reason, /label/);
  assert.match(r.problems[1]!.reason, /duplicate/);
  assert.match(r.problems[2]!.reason, /prediction/);
  assert.deepEqual(r.mmsa, mmsaMetrics([1.2, -0.4, 2.9], [1.5, -2, 3], 'mosei'));
  assert.throws(() => scorePredictionsCsv(path.join(FIXTURES, 'mmsa', 'expected.json'), 'mosei'), /missing column/);
});
