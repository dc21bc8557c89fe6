import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MODALITIES } from '@omniaffect/core';
import {
  collate,
  comprehensiveness,
  consistencyReward,
  deletionEffects,
  forward,
  initPolicy,
  itemRationale,
  kendallTau,
  softmaxCheck,
  sufficiency,
  topKItems,
} from './model-helpers';
import { jitterParams, maxAbsDiff, randomSamples } from './helpers';

const dims = { text: 6, audio: 5, vision: 4 };
const params = initPolicy({ dims, hidden: 8, seed: 3 });
jitterParams(params, 4, 0.2);
const samples = randomSamples(9, dims, 21);

test('modality weights are a softmax over present modalities with absent exactly 0', () => {
  const b = collate(samples, dims);
  const out = forward(params, b);
  for (let i = 0; i < b.size; i++) {
    let sum = 0;
    for (let m = 0; m < 3; m++) {
      const w = out.modalityWeights[i * 3 + m]!;
      if (b.modalityMask[i * 3 + m] === 0) assert.equal(w, 0);
      else assert.ok(w > 0);
      sum += w;
    }
    assert.ok(Math.abs(sum - 1) < 1e-12);
  }
  softmaxCheck(out, b);
});

test('padded items (mask 0) carry no weight and do not change any output', () => {
  const padded = collate(samples, dims);
  const outP = forward(params, padded);
  // the same clips with garbage in the padded slots replaced by different garbage
  const b2 = collate(samples, dims);
  for (const m of MODALITIES) {
    for (let i = 0; i < b2[m].mask.length; i++) {
      if (b2[m].mask[i] === 0) for (let d = 0; d < b2[m].dim; d++) b2[m].features[i * b2[m].dim + d] = -1e3;
    }
  }
  const out2 = forward(params, b2);
  assert.equal(maxAbsDiff(outP.sentimentLogits, out2.sentimentLogits), 0);
  assert.equal(maxAbsDiff(outP.modalityWeights, out2.modalityWeights), 0);
  for (const m of MODALITIES) {
    for (let i = 0; i < padded[m].mask.length; i++) if (padded[m].mask[i] === 0) assert.equal(outP.importance[m][i], 0);
  }
});

test('a batch row gives the same outputs as the clip alone (padding to the batch length is inert)', () => {
  const out = forward(params, collate(samples, dims));
  samples.forEach((s, i) => {
    const one = forward(params, collate([s], dims));
    assert.ok(maxAbsDiff(one.sentimentLogits, out.sentimentLogits.slice(i * 3, i * 3 + 3)) < 1e-12);
    assert.ok(maxAbsDiff(one.modalityWeights, out.modalityWeights.slice(i * 3, i * 3 + 3)) < 1e-12);
  });
});

test('deletionEffects: removing a modality equals running the clip with that modality absent', () => {
  for (const s of samples) {
    const eff = deletionEffects(params, s);
    for (const m of MODALITIES) {
      if (!s.features[m]) {
        assert.equal(eff.drops[m], null);
        continue;
      }
      const without = { ...s, features: { ...s.features, [m]: null } };
      const out = forward(params, collate([without], dims));
      const l = Array.from(out.sentimentLogits);
      const mx = Math.max(...l);
      const p = Math.exp(l[s.sentiment]! - mx) / l.reduce((a, v) => a + Math.exp(v - mx), 0);
      assert.ok(Math.abs(eff.fullProb - p - eff.drops[m]!) < 1e-12, `${m}`);
    }
    // the decisive modality is the one with the largest drop
    const present = MODALITIES.filter((m) => eff.drops[m] !== null);
    const best = present.reduce((a, b) => (eff.drops[b]! > eff.drops[a]! ? b : a));
    assert.equal(eff.decisive, best);
  }
});

test('modality comprehensiveness equals the deletion drop; sufficiency of all modalities is 0', () => {
  const s = samples[0]!;
  const eff = deletionEffects(params, s);
  for (const m of MODALITIES) {
    if (eff.drops[m] === null) continue;
    assert.ok(Math.abs(comprehensiveness(params, s, { modalities: [m] }) - eff.drops[m]!) < 1e-12);
  }
  assert.ok(Math.abs(sufficiency(params, s, { modalities: [...MODALITIES] })) < 1e-12);
  assert.ok(Math.abs(comprehensiveness(params, s, { modalities: [] })) < 1e-12);
});

test('item rationale: top-k by importance; keeping every item is fully sufficient', () => {
  assert.deepEqual(topKItems([0.1, 0.5, 0.2, 0.9], [1, 1, 1, 0], 2), [1, 2]);
  const s = samples[2]!;
  const r = itemRationale(params, s, 100);
  assert.ok(Math.abs(sufficiency(params, s, r)) < 1e-12);
  const r1 = itemRationale(params, s, 1);
  for (const m of MODALITIES) if (s.features[m]) assert.equal(('items' in r1 ? r1.items[m] : [])!.length, 1);
  assert.ok(Number.isFinite(comprehensiveness(params, s, r1)));
});

test('Kendall τ and the consistency reward', () => {
  assert.equal(kendallTau([0, 1, 2], [0, 1, 2]), 1);
  assert.equal(kendallTau([0, 1, 2], [2, 1, 0]), -1);
  assert.ok(Math.abs(kendallTau([0, 1, 2], [1, 0, 2]) - 1 / 3) < 1e-12);
  assert.equal(consistencyReward([1, 2], [1, 2]), 0);
  assert.equal(consistencyReward([2, 1], [1, 2]), -1);
  assert.equal(consistencyReward([1], [1]), 0);
});
