import {
  MediaArtifactSchema,
  parseContract,
  standInOf,
  type FrameItem,
  type MediaArtifact,
  type ModelWorkerContext,
  type StageHandler,
  type VisionOutput,
  requiredInput,
} from '@omniaffect/core';
import { scanPpmStream } from '@omniaffect/features';
import { DynamicBatcher } from '@omniaffect/models';

/** A frame for the inference thread: its JPEG's path, or where its RGB lies in media's PPM stream. */
export type FrameSource = string | { file: string; offset: number; width: number; height: number };

/**
 * Where each frame's pixels are read from. Media writes the frames twice from one decode: as JPEGs (the
 * report shows them) and as one stream of raw RGB already at the model's 224×224; reading the raw one
 * spares a JPEG decode and a resize per frame. An artifact without it (written before it existed), or
 * whose stream does not hold one image per frame, falls back to the JPEGs.
 */
function frameSources(media: MediaArtifact, resolve: (rel: string) => string): FrameSource[] {
  const jpegs = media.frames.map((f) => resolve(f.path));
  if (!media.pixels) return jpegs;
  const file = resolve(media.pixels);
  let raw: ReturnType<typeof scanPpmStream>;
  try {
    raw = scanPpmStream(file);
  } catch {
    return jpegs;
  }
  return raw.length === jpegs.length ? raw.map((r) => ({ file, ...r })) : jpegs;
}

/**
 * Frames from concurrent jobs share model calls through a dynamic batcher (up to BATCH_MAX frames or
 * BATCH_WAIT_MS), the way Triton batches: one job's frames rarely fill a GPU batch on their own.
 */
export function visionStage(ctx: ModelWorkerContext<{ BATCH_MAX: number; BATCH_WAIT_MS: number }>): StageHandler {
  const model = String(ctx.loaded.name);
  const batcher = new DynamicBatcher<FrameSource, Float32Array>({
    maxBatch: ctx.cfg.BATCH_MAX,
    maxWaitMs: ctx.cfg.BATCH_WAIT_MS,
    run: async (frames) => {
      const { embeddings, ms } = await ctx.thread.call<{ embeddings: Float32Array[]; ms: number }>('embed', [frames]);
      ctx.metrics.inferenceSeconds.observe({ model: 'siglip' }, ms / 1000);
      ctx.metrics.batchSize.observe({ model: 'siglip' }, frames.length);
      return embeddings;
    },
  });
  return async (job) => {
    const media = parseContract(MediaArtifactSchema, await ctx.store.readJson<unknown>(requiredInput(job, 'media')), 'media.json');
    if (media.frames.length === 0) return { outcome: 'skipped', problem: { type: 'unsupported-media', detail: 'no video frames' } };
    const embeddings = await Promise.all(frameSources(media, (rel) => ctx.store.resolve(rel)).map((f) => batcher.submit(f)));
    const dim = embeddings[0].length;
    const data = new Float32Array(embeddings.length * dim);
    embeddings.forEach((e, i) => data.set(e, i * dim));
    const items: FrameItem[] = media.frames.map((f) => ({ time: f.time, path: f.path }));
    await ctx.fusion.pushWithRetry({ videoId: job.videoId, modality: 'vision', kind: 'frames', shape: [items.length, dim], data, items, model });
    const output: VisionOutput = { frames: items.length, dim, model: { name: model, provider: String(ctx.loaded.provider), ...standInOf(ctx.loaded) } };
    return { outcome: 'done', output };
  };
}
