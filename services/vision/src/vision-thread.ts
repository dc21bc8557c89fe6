import { workerData } from 'node:worker_threads';
import { modelInfo, serveThread } from '@omniaffect/core';
import { preprocessImage } from '@omniaffect/features';
import { SiglipRunner } from '@omniaffect/models';

const { modelDir, provider, intraOpThreads } = workerData as { modelDir: string; provider: string; intraOpThreads?: number };
let runner: SiglipRunner | null = null;

serveThread({
  async load() {
    runner = await SiglipRunner.load(modelDir, { provider, intraOpThreads: intraOpThreads || undefined });
    return modelInfo(modelDir, provider);
  },
  /** One ORT run for the whole batch of frames (from one or several jobs). */
  async embed(paths: string[]): Promise<{ embeddings: Float32Array[]; ms: number }> {
    if (!runner) throw new Error('siglip not loaded');
    const pixels = await Promise.all(paths.map((p) => preprocessImage(p)));
    const t0 = performance.now();
    const embeddings = await runner.embed(pixels);
    return { embeddings, ms: performance.now() - t0 };
  },
});
