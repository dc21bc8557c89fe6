import {
  MediaArtifactSchema,
  parseContract,
  standInOf,
  type FrameItem,
  type ModelWorkerContext,
  type StageHandler,
  type VisionOutput,
  requiredInput,
} from '@omniaffect/core';
import { DynamicBatcher } from '@omniaffect/models';

/**
 * Frames from concurrent jobs share model calls through a dynamic batcher (up to BATCH_MAX frames or
 * BATCH_WAIT_MS), the way Triton batches: one job's frames rarely fill a GPU batch on their own.
 */
export function visionStage(ctx: ModelWorkerContext<{ BATCH_MAX: number; BATCH_WAIT_MS: number }>): StageHandler {
  const model = String(ctx.loaded.name);
  const batcher = new DynamicBatcher<string, Float32Array>({
    maxBatch: ctx.cfg.BATCH_MAX,
    maxWaitMs: ctx.cfg.BATCH_WAIT_MS,
    run: async (paths) => {
      const { embeddings, ms } = await ctx.thread.call<{ embeddings: Float32Array[]; ms: number }>('embed', [paths]);
      ctx.metrics.inferenceSeconds.observe({ model: 'siglip' }, ms / 1000);
      ctx.metrics.batchSize.observe({ model: 'siglip' }, paths.length);
      return embeddings;
    },
  });
  return async (job) => {
    const media = parseContract(MediaArtifactSchema, await ctx.store.readJson<unknown>(requiredInput(job, 'media')), 'media.json');
    if (media.frames.length === 0) return { outcome: 'skipped', problem: { type: 'unsupported-media', detail: 'no video frames' } };
    const embeddings = await Promise.all(media.frames.map((f) => batcher.submit(ctx.store.resolve(f.path))));
    const dim = embeddings[0].length;
    const data = new Float32Array(embeddings.length * dim);
    embeddings.forEach((e, i) => data.set(e, i * dim));
    const items: FrameItem[] = media.frames.map((f) => ({ time: f.time, path: f.path }));
    await ctx.fusion.pushWithRetry({ videoId: job.videoId, modality: 'vision', kind: 'frames', shape: [items.length, dim], data, items, model });
    const output: VisionOutput = { frames: items.length, dim, model: { name: model, provider: String(ctx.loaded.provider), ...standInOf(ctx.loaded) } };
    return { outcome: 'done', output };
  };
}
