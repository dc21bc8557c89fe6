import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MODALITIES } from '@omniaffect/core';
import {
  PARAM_NAMES,
  Rng,
  actionLogProbs,
  backward,
  cloneParams,
  collate,
  contrastiveLoss,
  crossEntropyLoss,
  forward,
  grpoLoss,
  initPolicy,
  intensityLoss,
  targetsOf,
  zerosLike,
  type FusionBatch,
  type ForwardCache,
  type GrpoRollout,
  type LossResult,
  type PolicyParams,
} from '../src/index';
import { jitterParams, randomSamples } from './helpers';

const dims = { text: 5, audio: 4, vision: 3 };
const samples = randomSamples(7, dims, 11);
const batch: FusionBatch = collate(samples, dims);
const targets = targetsOf(samples);

function makeParams(): PolicyParams {
  const p = cloneParams(initPolicy({ dims, hidden: 6, gateHidden: 5, seed: 5 }), 'float64');
  jitterParams(p, 99, 0.3);
  return p;
}

type LossFn = (out: ForwardCache) => LossResult;

/**
 * Central differences in float64 against the hand-written backward pass, for every element of every
 * parameter tensor. Per tensor: ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖) < 1e-4; tensors the
 * loss does not reach must have a numeric gradient of ~0 too.
 */
function gradCheck(name: string, lossFn: LossFn, mustReach: readonly string[]): void {
  const params = makeParams();
  const out = forward(params, batch);
  const { seeds } = lossFn(out);
  const grads = zerosLike(params);
  backward(params, out, seeds, grads);
  const h = 1e-6;
  const report: string[] = [];
  for (const pname of PARAM_NAMES) {
    const t = params.tensors[pname];
    const ga = grads[pname];
    let diff2 = 0;
    let a2 = 0;
    let n2 = 0;
    for (let i = 0; i < t.length; i++) {
      const orig = t[i]!;
      t[i] = orig + h;
      const lp = lossFn(forward(params, batch)).loss;
      t[i] = orig - h;
      const lm = lossFn(forward(params, batch)).loss;
      t[i] = orig;
      const gn = (lp - lm) / (2 * h);
      diff2 += (gn - ga[i]!) ** 2;
      a2 += ga[i]! ** 2;
      n2 += gn ** 2;
    }
    const scale = Math.max(Math.sqrt(a2), Math.sqrt(n2));
    if (mustReach.includes(pname)) assert.ok(scale > 1e-8, `${name}: ${pname} should receive a gradient`);
    if (scale < 1e-9) {
      report.push(`${pname}=0`);
      continue;
    }
    const rel = Math.sqrt(diff2) / scale;
    report.push(`${pname}=${rel.toExponential(1)}`);
    assert.ok(rel < 1e-4, `${name}: ${pname} relative error ${rel} (analytic ‖g‖ ${Math.sqrt(a2)}, numeric ${Math.sqrt(n2)})`);
  }
  console.log(`grad check ${name}: ${report.join(' ')}`);
}

const encoderAndHeads = [...MODALITIES.flatMap((m) => [`${m}.W`, `${m}.b`, `${m}.v`]), 'gate.W1', 'gate.b1', 'gate.W2', 'gate.b2', 'trunk.W', 'trunk.b'];

test('the batch used by the gradient checks has absent modalities and padded items', () => {
  assert.ok(Array.from(batch.modalityMask).includes(0));
  assert.ok(Array.from(batch.text.mask).includes(0));
});

test('gradient check: sentiment + emotion cross-entropy', () => {
  gradCheck('CE', (out) => crossEntropyLoss(out, targets, 0.7), [...encoderAndHeads, 'sentiment.W', 'sentiment.b', 'emotion.W', 'emotion.b']);
});

test('gradient check: intensity MSE', () => {
  gradCheck('intensity', (out) => intensityLoss(out, targets, 0.5), [...encoderAndHeads, 'intensity.W', 'intensity.b']);
});

test('gradient check: supervised contrastive term across zh/en', () => {
  // the term acts on the fused vector, which sits before the trunk
  gradCheck(
    'contrastive',
    (out) => contrastiveLoss(out, targets, 0.5, 1),
    encoderAndHeads.filter((n) => !n.startsWith('trunk.')),
  );
});

test('gradient check: GRPO clipped objective + k3 KL + value loss', () => {
  const params = makeParams();
  const rng = new Rng(123);
  const B = batch.size;
  const Gs = 4;
  const labels = new Int32Array(B * Gs);
  const rankings = new Int8Array(B * Gs * 3).fill(-1);
  for (let b = 0; b < B; b++) {
    const present = [0, 1, 2].filter((m) => batch.modalityMask[b * 3 + m] !== 0);
    for (let g = 0; g < Gs; g++) {
      const k = b * Gs + g;
      labels[k] = rng.int(3);
      rng.shuffle(present.slice()).forEach((m, j) => (rankings[k * 3 + j] = m));
    }
  }
  const cur = actionLogProbs(forward(params, batch), { groupSize: Gs, labels, rankings });
  // old/ref log-probs away from the current ones so ratios land on both sides of the clip range
  const rollout: GrpoRollout = {
    groupSize: Gs,
    labels,
    rankings,
    oldLogp: cur.map((v) => v + rng.uniform(-0.5, 0.5)),
    refLogp: cur.map((v) => v + rng.uniform(-0.7, 0.7)),
    advantages: Float64Array.from({ length: B * Gs }, () => rng.normal()),
    rewardMean: Float64Array.from({ length: B }, () => rng.uniform(0, 1.5)),
  };
  const opts = { clipEps: 0.2, beta: 0.04, valueCoef: 0.3 };
  const stats = grpoLoss(forward(params, batch), rollout, opts).stats;
  assert.ok(stats.clipFraction > 0.05 && stats.clipFraction < 0.95, `clip fraction ${stats.clipFraction} should exercise both branches`);
  assert.ok(stats.kl > 0);
  gradCheck('GRPO', (out) => grpoLoss(out, rollout, opts), [...encoderAndHeads, 'sentiment.W', 'sentiment.b', 'value.W', 'value.b']);
  // with β = 0 and unclipped ratios the KL term is the only difference: the checks above must see it
  const noKl = grpoLoss(forward(params, batch), rollout, { ...opts, beta: 0 }).loss;
  const withKl = grpoLoss(forward(params, batch), rollout, opts).loss;
  assert.ok(Math.abs(withKl - noKl - opts.beta * stats.kl) < 1e-12);
});
