import { test } from 'node:test';
import assert from 'node:assert/strict';
import { train } from '../src/index';
import { randomSamples } from './helpers';

const dims = { text: 6, audio: 5, vision: 4 };
const data = { train: randomSamples(40, dims, 21), valid: randomSamples(20, dims, 22) };
const base = { seed: 4, dims, hidden: 8, batchSize: 16, grpoBatchSize: 16, groupSize: 4 };

test('warm start stops after `patience` epochs without a validation improvement', () => {
  // lr 0 freezes the weights, so validation accuracy can never beat the first epoch's
  for (const patience of [1, 3]) {
    const s = train(data, { ...base, lr: 0, warmStartEpochs: 10, patience, grpoSteps: 0 });
    assert.equal(s.warmStart.epochs, patience + 1, `patience ${patience}`);
    assert.equal(s.warmStart.bestEpoch, 1);
  }
  // with room to learn and patience to spare it runs every epoch
  const full = train(data, { ...base, warmStartEpochs: 3, patience: 10, grpoSteps: 0 });
  assert.equal(full.warmStart.epochs, 3);
});

test('GRPO stops once validation accuracy stays below warm start − tolerance for `patience` evaluations', () => {
  const opts = { ...base, warmStartEpochs: 1, grpoSteps: 12, grpoEvalEvery: 2, patience: 2 };
  // a negative tolerance puts the floor above any reachable accuracy: every evaluation counts as bad
  const stopped = train(data, { ...opts, grpoAccuracyTolerance: -1.5 });
  assert.equal(stopped.grpo.stoppedEarly, true);
  assert.equal(stopped.grpo.steps, 4, 'two evaluations, at steps 2 and 4');
  // a floor at or below 0 can never be undercut: all steps run
  const ran = train(data, { ...opts, grpoAccuracyTolerance: 1 });
  assert.equal(ran.grpo.stoppedEarly, false);
  assert.equal(ran.grpo.steps, 12);
});
