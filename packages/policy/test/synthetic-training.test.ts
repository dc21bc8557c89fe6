import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { collate, evaluate, exportPolicyOnnx, faithfulnessReport, makeSyntheticFeatureSet, train, type GrpoStepLog } from '../src/index';
import { onnxVsTs } from './onnx-helpers';

const dims = { text: 32, audio: 32, vision: 32 };
// one generator call so train and held-out clips share the same class prototypes
const set = makeSyntheticFeatureSet({ n: 1800, dims, seed: 1 });
const trainSet = set.samples.slice(0, 1500);
const heldOut = set.samples.slice(1500);

test('synthetic planted-modality set: warm start + GRPO learns the label and the decisive modality, faithfully', async () => {
  const steps: GrpoStepLog[] = [];
  const summary = train(
    { train: trainSet.slice(0, 1350), valid: trainSet.slice(1350) },
    {
      seed: 3,
      dims,
      hidden: 32,
      batchSize: 32,
      warmStartEpochs: 15,
      patience: 3,
      grpoSteps: 60,
      grpoBatchSize: 64,
      grpoEvalEvery: 20,
      contrastive: { enabled: true },
    },
    { onGrpoStep: (s) => steps.push(s) },
  );
  const test = evaluate(summary.params, heldOut);
  const faith = faithfulnessReport(summary.params, heldOut, 2);
  console.log(
    `held-out: accuracy ${test.accuracy.toFixed(4)}, decisive=planted ${test.decisivePlantedRate.toFixed(4)}, ` +
      `deletion-decisive=planted ${test.deletionPlantedRate.toFixed(4)}, emotion acc ${test.emotionAccuracy.toFixed(4)}, intensity MAE ${test.intensityMae.toFixed(4)}`,
  );
  console.log(
    `validation decisive=planted: warm start ${summary.planted!.warm.weights.toFixed(4)} → GRPO ${summary.planted!.final.weights.toFixed(4)}; ` +
      `accuracy ${summary.warmStart.valid.accuracy.toFixed(4)} → ${summary.final.valid.accuracy.toFixed(4)} (${summary.warmStart.epochs} epochs, ${summary.grpo.steps} GRPO steps)`,
  );
  console.log(`faithfulness: ${JSON.stringify(faith)}`);

  assert.ok(test.accuracy >= 0.9, `held-out accuracy ${test.accuracy}`);
  assert.ok(test.decisivePlantedRate >= 0.8, `held-out decisive=planted ${test.decisivePlantedRate}`);
  // the attribution reward must move the rate up; only a warm start that is already perfect may stay put
  const { warm, final } = { warm: summary.planted!.warm.weights, final: summary.planted!.final.weights };
  assert.ok(warm < 1 ? final > warm : final === 1, `decisive=planted: warm start ${warm} → GRPO ${final}`);
  assert.ok(faith.topBeatsLowestRate >= 0.8, `top-weighted vs lowest deletion ${faith.topBeatsLowestRate}`);
  // a faithful top-1 modality is comprehensive and sufficient
  assert.ok(faith.modality.comprehensiveness > 0.3 && faith.modality.sufficiency < 0.1);

  // every GRPO step logs each reward, the group std, the KL and the accuracy
  assert.equal(steps.length, 60);
  for (const s of steps) {
    for (const v of [s.rewardMean, s.rewardStd, s.accuracyReward, s.attributionReward, s.consistencyReward, s.kl, s.batchAccuracy])
      assert.ok(Number.isFinite(v));
    assert.ok(s.kl >= 0 && s.consistencyReward <= 0);
  }
  assert.ok(
    steps.some((s) => s.kl > 0),
    'the policy never moved away from the warm start',
  );

  // the trained policy exports with the same outputs
  const dir = mkdtempSync(join(tmpdir(), 'policy-trained-'));
  try {
    const { onnxPath, manifest } = exportPolicyOnnx(summary.params, { provenance: { ...summary.provenance, data: set.description } }, dir);
    assert.equal((manifest.provenance.metrics as { final: { accuracy: number } }).final.accuracy, summary.final.valid.accuracy);
    const session = await ort.InferenceSession.create(onnxPath);
    await onnxVsTs(session, summary.params, collate(heldOut.slice(0, 64), dims));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
