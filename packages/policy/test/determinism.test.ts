import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PARAM_NAMES, initPolicy, makeSyntheticFeatureSet, train, type PolicyParams, type TrainOptions } from '../src/index';

function sameBits(a: PolicyParams, b: PolicyParams): boolean {
  return PARAM_NAMES.every(
    (n) => Buffer.compare(Buffer.from(Float32Array.from(a.tensors[n]).buffer), Buffer.from(Float32Array.from(b.tensors[n]).buffer)) === 0,
  );
}

const dims = { text: 8, audio: 6, vision: 5 };

test('initPolicy: same seed → identical weights bit for bit; another seed → different', () => {
  const a = initPolicy({ dims, hidden: 16, seed: 42 });
  const b = initPolicy({ dims, hidden: 16, seed: 42 });
  const c = initPolicy({ dims, hidden: 16, seed: 43 });
  assert.ok(sameBits(a, b));
  assert.ok(!sameBits(a, c));
});

const data = makeSyntheticFeatureSet({ n: 240, dims, seed: 5 }).samples;
const opts: TrainOptions = {
  seed: 9,
  dims,
  hidden: 12,
  warmStartEpochs: 3,
  patience: 10,
  grpoSteps: 6,
  batchSize: 32,
  grpoBatchSize: 24,
  groupSize: 4,
  grpoEvalEvery: 3,
  contrastive: { enabled: true },
};

test('train: same seed → identical weights bit for bit', () => {
  const a = train(data, opts);
  const b = train(data, opts);
  assert.ok(sameBits(a.params, b.params));
  assert.equal(a.grpo.steps, 6);
  assert.deepEqual(
    a.history.grpo.map((s) => s.rewardMean),
    b.history.grpo.map((s) => s.rewardMean),
  );
  const c = train(data, { ...opts, seed: 10 });
  assert.ok(!sameBits(a.params, c.params));
});

test('train: interrupted (warm start, then GRPO) and resumed from checkpoints → the same weights as an uninterrupted run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'policy-ckpt-'));
  try {
    const full = train(data, opts);
    const ckOpts: TrainOptions = { ...opts, checkpointDir: dir, resume: true, checkpointEvery: 2 };
    assert.throws(
      () =>
        train(data, ckOpts, {
          onEpoch: (e) => {
            if (e.epoch === 2) throw new Error('interrupt warm');
          },
        }),
      /interrupt warm/,
    );
    assert.throws(
      () =>
        train(data, ckOpts, {
          onGrpoStep: (s) => {
            if (s.step === 5) throw new Error('interrupt grpo');
          },
        }),
      /interrupt grpo/,
    );
    const resumed = train(data, ckOpts);
    assert.ok(resumed.resumed);
    assert.ok(sameBits(full.params, resumed.params), 'resumed weights differ');
    assert.equal(resumed.history.epochs.length, full.history.epochs.length);
    assert.equal(resumed.history.grpo.length, full.history.grpo.length);
    // other options must not silently reuse the checkpoint
    assert.throws(() => train(data, { ...ckOpts, beta: 0.1 }), /other options or data/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
