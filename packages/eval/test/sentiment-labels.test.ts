import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sameUnifiedLabel, sentimentClass3, sentimentSign3, toUnifiedLabel } from '../src/sentiment-labels';

test('sims2 3-class follows MMSA edges (−0.1 negative, ±0.1 float32 edges, clipping)', () => {
  const cases: [number, string][] = [
    [-1, 'negative'],
    [-0.2, 'negative'],
    [-0.1, 'negative'],
    [-0.09, 'neutral'],
    [0, 'neutral'],
    [0.1, 'neutral'],
    [0.100000001, 'neutral'],
    [0.10000001, 'positive'],
    [0.2, 'positive'],
    [5, 'positive'],
  ];
  for (const [x, want] of cases) assert.equal(sentimentClass3(x, 'sims2'), want, String(x));
});

test('mosei 3-class is MMSA round(clip(x, ±1)) with half-to-even, unlike sign-3', () => {
  assert.equal(sentimentClass3(0.3333, 'mosei'), 'neutral');
  assert.equal(sentimentClass3(0.5, 'mosei'), 'neutral');
  assert.equal(sentimentClass3(-0.5, 'mosei'), 'neutral');
  assert.equal(sentimentClass3(0.6667, 'mosei'), 'positive');
  assert.equal(sentimentClass3(-2.5, 'mosei'), 'negative');
  assert.equal(sentimentSign3(0.3333), 'positive');
  assert.equal(sentimentSign3(0), 'neutral');
  assert.equal(sentimentSign3(-0.1), 'negative');
});

test('toUnifiedLabel maps numbers, annotations and zh/en emotion names onto core vocabularies', () => {
  assert.deepEqual(toUnifiedLabel(-0.8), { kind: 'sentiment', label: 'negative', index: 0 });
  assert.deepEqual(toUnifiedLabel(2, { dataset: 'mosei' }), { kind: 'sentiment', label: 'positive', index: 2 });
  assert.deepEqual(toUnifiedLabel(0.3333, { dataset: 'mosei', mapping: 'mmsa3' }), { kind: 'sentiment', label: 'neutral', index: 1 });
  assert.deepEqual(toUnifiedLabel('Positive'), { kind: 'sentiment', label: 'positive', index: 2 });
  assert.deepEqual(toUnifiedLabel('-0.2'), { kind: 'sentiment', label: 'negative', index: 0 });
  assert.deepEqual(toUnifiedLabel('开心'), { kind: 'emotion', label: 'happy', index: 0 });
  assert.deepEqual(toUnifiedLabel('生气'), { kind: 'emotion', label: 'angry', index: 2 });
  assert.deepEqual(toUnifiedLabel('难过'), { kind: 'emotion', label: 'sad', index: 1 });
  assert.deepEqual(toUnifiedLabel(' Surprise '), { kind: 'emotion', label: 'surprised', index: 5 });
  assert.deepEqual(toUnifiedLabel('neutral', { kind: 'emotion' }), { kind: 'emotion', label: 'neutral', index: 6 });
  assert.deepEqual(toUnifiedLabel('中性'), { kind: 'sentiment', label: 'neutral', index: 1 });
  assert.equal(toUnifiedLabel('other'), null);
  assert.throws(() => toUnifiedLabel(0.5, { mapping: 'mmsa3' }), /needs a dataset/);
});

test('sameUnifiedLabel compares across datasets and languages', () => {
  assert.ok(sameUnifiedLabel(0.8, 2)); // SIMS positive vs MOSEI positive
  assert.ok(sameUnifiedLabel('happy', '开心'));
  assert.ok(sameUnifiedLabel('Negative', -1.6667));
  assert.ok(!sameUnifiedLabel('angry', '难过'));
  assert.ok(!sameUnifiedLabel('other', 'other'));
});
