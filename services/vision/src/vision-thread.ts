import { workerData } from 'node:worker_threads';
import { modelInfo, serveThread } from '@omniaffect/core';
import { preprocessImage, preprocessRgb, readPpmFrame } from '@omniaffect/features';
import { SiglipRunner } from '@omniaffect/models';
import type { FrameSource } from './vision-stage';

const { modelDir, provider, intraOpThreads } = workerData as { modelDir: string; provider: string; intraOpThreads?: number };
let runner: SiglipRunner | null = null;

/** pixel_values of one frame: raw RGB from media's PPM stream when there is one, else its JPEG. */
async function pixelsOf(frame: FrameSource): Promise<Float32Array> {
  if (typeof frame === 'string') return preprocessImage(frame);
  return preprocessRgb(readPpmFrame(frame.file, frame), frame.width, frame.height);
}

serveThread({
  async load() {
    runner = await SiglipRunner.load(modelDir, { provider, intraOpThreads: intraOpThreads || undefined });
    return modelInfo(modelDir, provider);
  },
  /** One ORT run for the whole batch of frames (from one or several jobs); only this batch's pixels are in memory. */
  async embed(frames: FrameSource[]): Promise<{ embeddings: Float32Array[]; ms: number }> {
    if (!runner) throw new Error('siglip not loaded');
    const pixels = await Promise.all(frames.map(pixelsOf));
    const t0 = performance.now();
    const embeddings = await runner.embed(pixels);
    return { embeddings, ms: performance.now() - t0 };
  },
});
