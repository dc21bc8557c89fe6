import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { MODALITIES } from '@omniaffect/core';
import { forward, type FusionBatch, type PolicyParams } from '../src/index';
import { maxAbsDiff } from './helpers';

/** Runs the exported graph and the TS forward on one batch; asserts every output within 1e-5 and returns the worst gap. */
export async function onnxVsTs(session: ort.InferenceSession, params: PolicyParams, batch: FusionBatch): Promise<number> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const m of MODALITIES) {
    const mb = batch[m];
    feeds[`${m}_features`] = new ort.Tensor('float32', mb.features, [batch.size, mb.len, mb.dim]);
    feeds[`${m}_mask`] = new ort.Tensor('float32', mb.mask, [batch.size, mb.len]);
  }
  feeds.modality_mask = new ort.Tensor('float32', batch.modalityMask, [batch.size, 3]);
  const res = await session.run(feeds);
  const ts = forward(params, batch);
  const pairs: [string, ArrayLike<number>][] = [
    ['sentiment_logits', ts.sentimentLogits],
    ['emotion_logits', ts.emotionLogits],
    ['intensity', ts.intensity],
    ['modality_weights', ts.modalityWeights],
    ['text_importance', ts.importance.text],
    ['audio_importance', ts.importance.audio],
    ['vision_importance', ts.importance.vision],
    ['value', ts.value],
  ];
  let worst = 0;
  for (const [name, want] of pairs) {
    const got = res[name]!.data as Float32Array;
    const d = maxAbsDiff(got, want);
    assert.ok(d < 1e-5, `${name}: max |onnx − ts| = ${d}`);
    worst = Math.max(worst, d);
  }
  // absent modalities get exactly 0 weight in the graph too
  const w = res.modality_weights!.data as Float32Array;
  for (let i = 0; i < batch.modalityMask.length; i++) if (batch.modalityMask[i] === 0) assert.equal(w[i], 0);
  return worst;
}
