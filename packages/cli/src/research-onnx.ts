import { createRequire } from 'node:module';
import { MODALITIES } from '@omniaffect/core';
import { createSession, modelFile } from '@omniaffect/models';
import { collate, forward, type PolicyParams, type PolicySample } from '@omniaffect/policy';

type Session = Awaited<ReturnType<typeof createSession>>;
type Feeds = Parameters<Session['run']>[0];
type TensorCtor = new (type: 'float32', data: Float32Array, dims: readonly number[]) => Feeds[string];
type MutableFeeds = { -readonly [K in keyof Feeds]: Feeds[K] };

/**
 * ONNX Runtime's Tensor class, from the installation @omniaffect/models opens sessions with (the CLI does not
 * depend on onnxruntime-node itself, and a second copy of the runtime would not accept the first one's tensors).
 */
function ortTensor(): TensorCtor {
  const req = createRequire(require.resolve('@omniaffect/models'));
  return (req('onnxruntime-node') as { Tensor: TensorCtor }).Tensor;
}

export interface OnnxParity {
  onnxPath: string;
  clips: number;
  /** largest |ORT − trainer forward| over every output of every clip */
  maxAbsDiff: number;
  perOutput: Record<string, number>;
}

/**
 * Runs the exported fusion.onnx with onnxruntime-node on the given clips (one at a time, as the fusion service
 * does) and compares every output with the trainer's own forward pass.
 */
export async function onnxParity(modelDir: string, params: PolicyParams, samples: readonly Pick<PolicySample, 'features'>[]): Promise<OnnxParity> {
  const onnxPath = modelFile('fusion', modelDir, 'model');
  const session = await createSession(onnxPath, { provider: 'cpu' });
  const Tensor = ortTensor();
  const perOutput: Record<string, number> = {};
  for (const s of samples) {
    const batch = collate([s], params.dims);
    const feeds: MutableFeeds = {};
    for (const m of MODALITIES) {
      const mb = batch[m];
      feeds[`${m}_features`] = new Tensor('float32', mb.features, [1, mb.len, mb.dim]);
      feeds[`${m}_mask`] = new Tensor('float32', mb.mask, [1, mb.len]);
    }
    feeds.modality_mask = new Tensor('float32', batch.modalityMask, [1, 3]);
    const res = await session.run(feeds);
    const ref = forward(params, batch);
    const want: Record<string, ArrayLike<number>> = {
      sentiment_logits: ref.sentimentLogits,
      emotion_logits: ref.emotionLogits,
      intensity: ref.intensity,
      modality_weights: ref.modalityWeights,
      text_importance: ref.importance.text,
      audio_importance: ref.importance.audio,
      vision_importance: ref.importance.vision,
      value: ref.value,
    };
    for (const [name, w] of Object.entries(want)) {
      const got = res[name]?.data as Float32Array | undefined;
      if (!got || got.length !== w.length) throw new Error(`${onnxPath}: output ${name} has ${got?.length ?? 'no'} values, trainer gives ${w.length}`);
      let d = 0;
      for (let i = 0; i < w.length; i++) d = Math.max(d, Math.abs(got[i]! - w[i]!));
      perOutput[name] = Math.max(perOutput[name] ?? 0, d);
    }
  }
  await session.release?.();
  return { onnxPath, clips: samples.length, maxAbsDiff: Math.max(0, ...Object.values(perOutput)), perOutput };
}
