import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { EMOTION_LABELS, FUSION_INPUTS, FUSION_OUTPUTS, SENTIMENT_LABELS, type FusionManifest } from '@omniaffect/core';
import { collate, exportPolicyOnnx, initPolicy } from '../src/index';
import { jitterParams, randomSamples } from './helpers';
import { onnxVsTs } from './onnx-helpers';

test('exported fusion.onnx equals the TS forward (dynamic batch and lengths, absent modalities, padded items)', async () => {
  const dims = { text: 7, audio: 5, vision: 6 };
  const params = initPolicy({ dims, hidden: 16, gateHidden: 12, seed: 17 });
  jitterParams(params, 18, 0.3);
  const dir = mkdtempSync(join(tmpdir(), 'policy-onnx-'));
  try {
    const { onnxPath, manifestPath } = exportPolicyOnnx(params, { provenance: { data: 'random test weights', seed: 17 } }, dir);
    const session = await ort.InferenceSession.create(onnxPath);
    assert.deepEqual([...session.inputNames].sort(), FUSION_INPUTS.map((s) => s.name).sort());
    assert.deepEqual([...session.outputNames].sort(), FUSION_OUTPUTS.map((s) => s.name).sort());
    let worst = 0;
    for (const [n, seed] of [
      [1, 1],
      [5, 2],
      [9, 3],
    ] as const) {
      worst = Math.max(worst, await onnxVsTs(session, params, collate(randomSamples(n, dims, seed), dims)));
    }
    // a batch where one modality is absent for every row
    const noAudio = randomSamples(4, dims, 7).map((s) => ({ ...s, features: { ...s.features, audio: null } }));
    worst = Math.max(worst, await onnxVsTs(session, params, collate(noAudio, dims)));
    console.log(`ONNX vs TS forward: max abs difference ${worst.toExponential(2)}`);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as FusionManifest;
    assert.deepEqual(manifest.dims, dims);
    assert.deepEqual(manifest.sentimentLabels, [...SENTIMENT_LABELS]);
    assert.deepEqual(manifest.emotionLabels, [...EMOTION_LABELS]);
    assert.equal(manifest.provenance.seed, 17);
    assert.equal(typeof manifest.provenance.exportedAt, 'string');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
