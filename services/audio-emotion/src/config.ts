import * as path from 'node:path';
import { loadConfig, modelWorkerShape, z, type ModelWorkerConfig } from '@omniaffect/core';

/** The audio-emotion worker's own variables, on top of the shared model-worker ones. */
export const audioEmotionEnv = modelWorkerShape('audio-emotion', {
  /** emotion2vec's directory; MODEL_DIR/audio-emotion when unset. */
  AUDIO_EMOTION_MODEL_DIR: z.string().optional(),
  /** Longest fusion sequence: long recordings get longer segments instead of more of them. */
  AUDIO_MAX_SEGMENTS: z.coerce.number().int().min(1).default(600),
});
export type AudioEmotionConfig = ModelWorkerConfig<typeof audioEmotionEnv>;

export const loadAudioEmotionConfig = (env: NodeJS.ProcessEnv = process.env): AudioEmotionConfig => loadConfig('audio-emotion', audioEmotionEnv, env);

/** What the inference thread is started with (its workerData). */
export const audioEmotionThreadData = (cfg: AudioEmotionConfig) => ({
  modelDir: cfg.AUDIO_EMOTION_MODEL_DIR ?? path.join(cfg.MODEL_DIR, 'audio-emotion'),
  intraOpThreads: cfg.INTRA_OP_THREADS,
  maxSegments: cfg.AUDIO_MAX_SEGMENTS,
});
