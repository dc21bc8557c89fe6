import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildRollout,
  cloneParams,
  collate,
  forward,
  groupAdvantages,
  initPolicy,
  kendallTau,
  resolveTrainOptions,
  Rng,
  type PolicySample,
} from '../src/index';
import { jitterParams, randomSamples } from './helpers';

const EPS = 1e-4;

test('group advantages: (r − mean) / (unbiased std + 1e-4) per group, as R1-Omni/TRL compute them', () => {
  // group 1: mean 0.75, unbiased std √(0.75/3) = 0.5 (the population std would be 0.433); group 2: all equal
  const r = [1.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25];
  const { advantages, rewardMean, rewardStd } = groupAdvantages(r, 4);
  const expected = [0.75 / (0.5 + EPS), -0.25 / (0.5 + EPS), -0.25 / (0.5 + EPS), -0.25 / (0.5 + EPS), 0, 0, 0, 0];
  expected.forEach((e, i) => assert.ok(Math.abs(advantages[i]! - e) < 1e-12, `advantage ${i}: ${advantages[i]} != ${e}`));
  assert.deepEqual([...rewardMean], [0.75, 0.25]);
  assert.ok(Math.abs(rewardStd - 0.25) < 1e-12, `mean group std ${rewardStd}`);
  // G = 2: the unbiased std of {1, 0} is 1/√2, so the advantages are ±0.5/(0.7071 + 1e-4), not ±1
  const two = groupAdvantages([1, 0], 2).advantages;
  assert.ok(Math.abs(two[0]! - 0.5 / (Math.SQRT1_2 + EPS)) < 1e-12, String(two[0]));
  assert.throws(() => groupAdvantages([1, 2, 3], 2), /groups of 2/);
});

test('GRPO defaults: β = 0.04 and G = 8 (R1-Omni), an explicit β = 0 is kept', () => {
  const o = resolveTrainOptions({ seed: 1 });
  assert.equal(o.beta, 0.04);
  assert.equal(o.groupSize, 8);
  assert.deepEqual(o.rewardWeights, { accuracy: 1, attribution: 0.5, consistency: 0.25 });
  assert.equal(resolveTrainOptions({ seed: 1, beta: 0 }).beta, 0);
});

test('rollout: rewards follow the sampled actions and the deletion test; advantages are group-relative', () => {
  const dims = { text: 6, audio: 5, vision: 4 };
  const params = initPolicy({ dims, hidden: 8, seed: 11 });
  jitterParams(params, 12, 0.8);
  const ref = cloneParams(params);
  jitterParams(ref, 13, 0.3);
  const samples = randomSamples(9, dims, 14);
  const gold = Int32Array.from(samples, (s) => s.sentiment);
  const batch = collate(samples, dims);
  const G = 8;
  const weights = { accuracy: 1, attribution: 0.7, consistency: 0.3 };
  const ro = buildRollout(params, forward(params, batch), forward(ref, batch), gold, G, weights, new Rng(5));

  // The decisive modality, found here without deletionDrops: rerun the policy on the clip with each
  // present modality removed and take the one whose removal lowers the gold probability most.
  const goldProb = (s: PolicySample, b: number) => {
    const l = forward(params, collate([s], dims)).sentimentLogits;
    const mx = Math.max(l[0]!, l[1]!, l[2]!);
    const e = [0, 1, 2].map((j) => Math.exp(l[j]! - mx));
    return e[gold[b]!]! / (e[0]! + e[1]! + e[2]!);
  };
  const modalities = ['text', 'audio', 'vision'] as const;
  let attributionHits = 0;
  for (let b = 0; b < samples.length; b++) {
    const s = samples[b]!;
    const full = goldProb(s, b);
    const drops = modalities
      .map((m, mi) => (s.features[m] ? { mi, drop: full - goldProb({ ...s, features: { ...s.features, [m]: null } }, b) } : null))
      .filter((x): x is { mi: number; drop: number } => x !== null);
    const deletionRank = [...drops].sort((x, y) => y.drop - x.drop).map((x) => x.mi);
    const decisive = deletionRank[0]!;
    const totals: number[] = [];
    for (let g = 0; g < G; g++) {
      const k = b * G + g;
      const ranking = [...ro.rollout.rankings.slice(k * 3, k * 3 + 3)].filter((m) => m >= 0);
      assert.deepEqual([...ranking].sort(), [...deletionRank].sort(), `row ${b}: the claimed ranking covers exactly the present modalities`);
      assert.equal(ro.accuracy[k], ro.rollout.labels[k] === gold[b] ? 1 : 0);
      assert.equal(ro.attribution[k], ranking[0] === decisive ? 1 : 0, `row ${b} action ${g}: claimed ${ranking[0]}, deletion argmax ${decisive}`);
      attributionHits += ro.attribution[k]!;
      assert.ok(Math.abs(ro.consistency[k]! - (kendallTau(ranking, deletionRank) - 1) / 2) < 1e-12);
      const total = weights.accuracy * ro.accuracy[k]! + weights.attribution * ro.attribution[k]! + weights.consistency * ro.consistency[k]!;
      assert.ok(Math.abs(ro.total[k]! - total) < 1e-12);
      totals.push(total);
    }
    const mean = totals.reduce((x, y) => x + y, 0) / G;
    const std = Math.sqrt(totals.reduce((x, y) => x + (y - mean) ** 2, 0) / (G - 1));
    for (let g = 0; g < G; g++) {
      const want = (totals[g]! - mean) / (std + EPS);
      assert.ok(Math.abs(ro.rollout.advantages[b * G + g]! - want) < 1e-9, `row ${b} action ${g}: advantage ${ro.rollout.advantages[b * G + g]} != ${want}`);
    }
  }
  // both outcomes occur, so the attribution check above compared real hits and misses
  assert.ok(attributionHits > 0 && attributionHits < samples.length * G, `attribution hits ${attributionHits}`);
});
