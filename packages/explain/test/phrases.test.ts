import { test } from 'node:test';
import assert from 'node:assert/strict';
import { changePhrase, pChangePhrase } from '../src/explain';

test('a change of P is stated by its direction, never "lowers by" a negative number or "by 0.000"', () => {
  assert.equal(changePhrase(0.31, 'positive'), 'lowers P(positive) by 0.310');
  assert.equal(changePhrase(-0.004, 'neutral'), 'raises P(neutral) by 0.004');
  assert.equal(changePhrase(0.0004, 'neutral'), 'lowers P(neutral) by 0.0004');
  assert.equal(changePhrase(0, 'neutral'), 'leaves P(neutral) unchanged');
  assert.equal(changePhrase(-0.00001, 'neutral'), 'raises P(neutral) by 0.00001');
  assert.equal(pChangePhrase(0.21, 'positive'), 'P(positive) falls by 0.210');
  assert.equal(pChangePhrase(-0.24, 'positive'), 'P(positive) rises by 0.240');
  assert.equal(pChangePhrase(0, 'positive'), 'P(positive) stays the same');
  assert.equal(pChangePhrase(Number.NaN, 'positive'), 'P(positive) stays the same');
});
