import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { MODALITIES, type FusionManifest } from '@omniaffect/core';
import { collate, exportPolicyOnnx, forward, initPolicy, maskSampleModalities, resolveTrainOptions, train, type FusionBatch } from '../src/index';
import { jitterParams, maxAbsDiff, randomSamples } from './helpers';

function feeds(batch: FusionBatch): Record<string, ort.Tensor> {
  const f: Record<string, ort.Tensor> = {};
  for (const m of MODALITIES) {
    const mb = batch[m];
    f[`${m}_features`] = new ort.Tensor('float32', mb.features, [batch.size, mb.len, mb.dim]);
    f[`${m}_mask`] = new ort.Tensor('float32', mb.mask, [batch.size, mb.len]);
  }
  f.modality_mask = new ort.Tensor('float32', batch.modalityMask, [batch.size, 3]);
  return f;
}

test('a graph exported with text masked ignores the text it is fed: weight 0, outputs as if text were absent', async () => {
  const dims = { text: 7, audio: 5, vision: 6 };
  const params = initPolicy({ dims, hidden: 16, gateHidden: 12, seed: 21 });
  jitterParams(params, 22, 0.3);
  const dir = mkdtempSync(join(tmpdir(), 'policy-masked-'));
  try {
    const { onnxPath, manifestPath } = exportPolicyOnnx(params, { provenance: { seed: 21 }, maskedModalities: ['text'] }, dir);
    const session = await ort.InferenceSession.create(onnxPath);
    const samples = randomSamples(6, dims, 5, { absent: false });
    const withText = await session.run(feeds(collate(samples, dims)));
    const ref = forward(params, collate(maskSampleModalities(samples, ['text']), dims));
    const w = withText.modality_weights!.data as Float32Array;
    for (let b = 0; b < samples.length; b++) {
      assert.equal(w[b * 3], 0, `row ${b}: text weight`);
      assert.ok(Math.abs(w[b * 3 + 1]! + w[b * 3 + 2]! - 1) < 1e-5);
    }
    // text_importance has the fed text's length, so it is not compared; every other output must match
    for (const [name, want] of [
      ['sentiment_logits', ref.sentimentLogits],
      ['emotion_logits', ref.emotionLogits],
      ['intensity', ref.intensity],
      ['modality_weights', ref.modalityWeights],
      ['audio_importance', ref.importance.audio],
      ['vision_importance', ref.importance.vision],
      ['value', ref.value],
    ] as const) {
      const d = maxAbsDiff(withText[name]!.data as Float32Array, want);
      assert.ok(d < 1e-5, `${name}: max |onnx(text fed) − ts(text absent)| = ${d}`);
    }
    // the unmasked export of the same weights does use text, so the mask is what made the difference
    const plain = exportPolicyOnnx(params, {}, join(dir, 'plain'));
    const plainOut = await (await ort.InferenceSession.create(plain.onnxPath)).run(feeds(collate(samples, dims)));
    assert.ok((plainOut.modality_weights!.data as Float32Array)[0]! > 0);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as FusionManifest;
    assert.deepEqual(manifest.provenance.maskedModalities, ['text']);
    assert.equal(plain.manifest.provenance.maskedModalities, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('training with text masked never moves the text weights, and the mask and feature key change the fingerprint', () => {
  const dims = { text: 4, audio: 3, vision: 3 };
  const samples = randomSamples(24, dims, 9, { absent: false });
  const options = { seed: 3, hidden: 8, batchSize: 8, warmStartEpochs: 3, grpoSteps: 2, grpoEvalEvery: 1 };
  const masked = train({ train: samples.slice(0, 18), valid: samples.slice(18) }, { ...options, maskModalities: ['text'] });
  const init = initPolicy({ dims, hidden: 8, gateHidden: 8, seed: 3 });
  assert.deepEqual(masked.params.tensors['text.W'], init.tensors['text.W']);
  assert.deepEqual(masked.params.dims, dims, 'dims come from the unmasked features');
  const unmasked = train({ train: samples.slice(0, 18), valid: samples.slice(18) }, options);
  assert.ok(maxAbsDiff(unmasked.params.tensors['text.W'], init.tensors['text.W']) > 0);
  assert.notEqual(masked.provenance.fingerprint, unmasked.provenance.fingerprint);
  // unset options leave the resolved options (and so older checkpoints' fingerprints) as they were
  assert.equal(JSON.stringify(resolveTrainOptions({ seed: 1 })).includes('maskModalities'), false);
  assert.equal(JSON.stringify(resolveTrainOptions({ seed: 1 })).includes('featureKey'), false);
  const keyed = train({ train: samples.slice(0, 18), valid: samples.slice(18) }, { ...options, warmStartEpochs: 1, grpoSteps: 0, featureKey: 'en=a zh=b' });
  const keyed2 = train({ train: samples.slice(0, 18), valid: samples.slice(18) }, { ...options, warmStartEpochs: 1, grpoSteps: 0, featureKey: 'en=a zh=a' });
  assert.notEqual(keyed.provenance.fingerprint, keyed2.provenance.fingerprint);
});
