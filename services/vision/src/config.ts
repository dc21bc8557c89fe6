import * as path from 'node:path';
import { loadConfig, modelWorkerShape, z, type ModelWorkerConfig } from '@omniaffect/core';

/** The vision worker's own variables, on top of the shared model-worker ones (BATCH_MAX/BATCH_WAIT_MS batch its frames). */
export const visionEnv = modelWorkerShape('vision', {
  /** SigLIP's directory; MODEL_DIR/vision when unset. */
  VISION_MODEL_DIR: z.string().optional(),
});
export type VisionConfig = ModelWorkerConfig<typeof visionEnv>;

export const loadVisionConfig = (env: NodeJS.ProcessEnv = process.env): VisionConfig => loadConfig('vision', visionEnv, env);

/** What the inference thread is started with (its workerData). */
export const visionThreadData = (cfg: VisionConfig) => ({
  modelDir: cfg.VISION_MODEL_DIR ?? path.join(cfg.MODEL_DIR, 'vision'),
  intraOpThreads: cfg.INTRA_OP_THREADS,
});
