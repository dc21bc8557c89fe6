import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SENTIMENT_LABELS } from '@omniaffect/core';
import { classificationMetrics } from '../src/classification-metrics';
import { crossLingualReport } from '../src/cross-lingual';

test('WAR = accuracy, UAR = balanced accuracy over classes with gold support', () => {
  // datasets.md §3.1: true [0,0,1,1,1], pred [0,2,1,1,0] → balanced 0.583 (macro without labels= would give 0.389).
  const m = classificationMetrics([0, 2, 1, 1, 0], [0, 0, 1, 1, 1], SENTIMENT_LABELS);
  assert.equal(m.war, 3 / 5);
  assert.equal(m.uar, (1 / 2 + 2 / 3) / 2);
  assert.equal(m.uarClassCount, 2);
  assert.deepEqual(m.confusion, [
    [1, 0, 1],
    [1, 2, 0],
    [0, 0, 0],
  ]);
  assert.equal(m.perClass[2]!.recall, null);
  assert.equal(m.perClass[2]!.predicted, 1);
  assert.equal(m.perClass[2]!.precision, 0);
});

test('a constant predictor scores UAR = 1/C', () => {
  const gold = [0, 0, 0, 0, 1, 1, 2];
  const m = classificationMetrics(
    gold.map(() => 0),
    gold,
    SENTIMENT_LABELS,
  );
  assert.equal(m.war, 4 / 7);
  assert.equal(m.uar, 1 / 3);
});

test('bad indices and empty input are refused', () => {
  assert.throws(() => classificationMetrics([3], [0], SENTIMENT_LABELS), /not a class index/);
  assert.throws(() => classificationMetrics([0.5], [0], SENTIMENT_LABELS), /not a class index/);
  assert.throws(() => classificationMetrics([], [], SENTIMENT_LABELS), /no samples/);
});

test('cross-lingual retention = cross WAR / in-language WAR', () => {
  const r = crossLingualReport({ direction: 'zh→en', inLanguage: { war: 0.58, uar: 0.41 }, cross: { war: 0.485, uar: 0.3 } });
  assert.equal(r.retention, 0.485 / 0.58);
  assert.equal(r.uarRetention, 0.3 / 0.41);
  assert.equal(r.mapping, 'sign3');
  assert.equal(crossLingualReport({ inLanguage: { war: 0, uar: 0 }, cross: { war: 0, uar: 0 } }).retention, null);
  assert.throws(() => crossLingualReport({ inLanguage: { war: 58, uar: 41 }, cross: { war: 0.4, uar: 0.3 } }), /fraction/);
});
