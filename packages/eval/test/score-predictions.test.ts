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
  assert.equal(r.sentiment3.n, 24);
  assert.ok(r.sentiment3.war > 0 && r.sentiment3.war <= 1);
  assert.ok('Mult_acc_3' in r.mmsa);
});

test('columns are found by name; bad rows are reported with their line and excluded', () => {
  const dir = tempDir('score');
  const file = path.join(dir, 'preds.csv');
  writeFileSync(file, 'label,extra,id,prediction\n1.5,"a,b",x/1,1.2\n-2,,x/2,-0.4\nzz,,x/3,1\n0,,x/2,0\n0.5,,x/4,\n3,,x/5,2.9\n');
  const r = scorePredictionsCsv(file, 'mosei');
  assert.equal(r.n, 3);
  assert.deepEqual(r.problems.map((p) => p.row), [4, 5, 6]);
  assert.match(r.problems[0]!.reason, /label/);
  assert.match(r.problems[1]!.reason, /duplicate/);
  assert.match(r.problems[2]!.reason, /prediction/);
  assert.deepEqual(r.mmsa, mmsaMetrics([1.2, -0.4, 2.9], [1.5, -2, 3], 'mosei'));
  assert.throws(() => scorePredictionsCsv(path.join(FIXTURES, 'mmsa', 'expected.json'), 'mosei'), /missing column/);
});
