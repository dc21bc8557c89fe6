import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { FUSION_SERVICE, FusionPushClient, grpcClient, unary } from '@omniaffect/core';
import { TINY_FUSION_DIM } from '@omniaffect/models';
import { FusionTestbed } from './harness';

/**
 * Two fusion replicas over one PostgreSQL, as in a scaled deployment: a worker's push lands on one,
 * the orchestrator's Fuse on the other. Real gRPC, real database, the tiny fusion ONNX model.
 */
const bed = new FusionTestbed();

before(async () => {
  await bed.setUp();
  for (let i = 0; i < 2; i++) await bed.replica();
});
after(() => bed.tearDown());

const PROSODY = { f0MeanHz: 150, f0StdHz: 12, f0MinHz: 120, f0MaxHz: 190, energyDb: -22, voicedRatio: 0.7, rateProxy: 3.5 };
const address = (i: number) => bed.replicas[i]!.address;
const sequence = (rows: number, seed: number) => Float32Array.from({ length: rows * TINY_FUSION_DIM }, (_, k) => Math.sin(seed + k * 0.37));

async function fuseOn(
  i: number,
  videoId: string,
  present: string[],
): Promise<{ modalities: Record<string, { present: boolean; contribution: number }>; sentiment: unknown }> {
  const client = grpcClient(FUSION_SERVICE, address(i));
  try {
    const res = await unary<object, { fusionJson: string }>(
      client,
      'Fuse',
      { videoId, present, absent: {}, language: 'en' },
      { deadlineMs: 20_000, idempotent: true },
    );
    return JSON.parse(res.fusionJson);
  } finally {
    client.close();
  }
}

test('embeddings pushed to one replica are fused by the other, with the same answer', async () => {
  const videoId = randomUUID();
  const push = new FusionPushClient(address(0));
  try {
    await push.push({
      videoId,
      modality: 'text',
      kind: 'tokens',
      shape: [4, TINY_FUSION_DIM],
      data: sequence(4, 1),
      items: [0, 1, 2, 3].map((i) => ({ text: `w${i}`, charStart: i, charEnd: i + 1 })),
      model: 'text-en',
    });
    await push.push({
      videoId,
      modality: 'audio',
      kind: 'segments',
      shape: [3, TINY_FUSION_DIM],
      data: sequence(3, 2),
      items: [0, 1, 2].map((i) => ({ start: i, end: i + 1, prosody: { ...PROSODY, f0MeanHz: 150 + 10 * i } })),
      model: 'emotion2vec',
    });
  } finally {
    push.close();
  }
  const onOther = await fuseOn(1, videoId, ['text', 'audio']);
  const onSame = await fuseOn(0, videoId, ['text', 'audio']);
  assert.deepEqual(onOther, onSame);
  assert.equal(onOther.modalities.text!.present, true);
  assert.equal(onOther.modalities.audio!.present, true);
  assert.ok(Math.abs(onOther.modalities.text!.contribution + onOther.modalities.audio!.contribution - 1) < 1e-6);
});
