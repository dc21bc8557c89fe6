import * as path from 'node:path';
import { loadConfig, modelWorkerShape, z, type ModelWorkerConfig } from '@omniaffect/core';

/** The text worker's own variables, on top of the shared model-worker ones: one encoder per supported language. */
export const textEnv = modelWorkerShape('text', {
  /** English encoder's directory; MODEL_DIR/text-en when unset. */
  TEXT_MODEL_DIR_EN: z.string().optional(),
  /** Chinese encoder's directory; MODEL_DIR/text-zh when unset. */
  TEXT_MODEL_DIR_ZH: z.string().optional(),
  /**
   * Most word-piece embeddings one video pushes to fusion. 16384 × 768 float32 is 48 MiB, under the
   * 64 MiB gRPC message bound that Fuse and GetFeatures read them back through; 2 h of fast speech
   * is ~30k pieces. Past it the sequence is cut (the pooled embedding still covers the whole text)
   * and the stage output says how many pieces were dropped.
   */
  TEXT_MAX_TOKENS: z.coerce.number().int().min(1).default(16_384),
});
export type TextConfig = ModelWorkerConfig<typeof textEnv>;

export const loadTextConfig = (env: NodeJS.ProcessEnv = process.env): TextConfig => loadConfig('text', textEnv, env);

/** What the inference thread is started with (its workerData). */
export const textThreadData = (cfg: TextConfig) => ({
  enDir: cfg.TEXT_MODEL_DIR_EN ?? path.join(cfg.MODEL_DIR, 'text-en'),
  zhDir: cfg.TEXT_MODEL_DIR_ZH ?? path.join(cfg.MODEL_DIR, 'text-zh'),
  intraOpThreads: cfg.INTRA_OP_THREADS,
});
