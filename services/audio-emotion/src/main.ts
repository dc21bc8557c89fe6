import * as path from 'node:path';
import { z } from 'zod';
import { QUEUES, runModelWorker } from '@omniaffect/core';
import { audioEmotionStage } from './audio-emotion-stage';

runModelWorker({
  name: 'audio-emotion',
  stage: 'audio-emotion',
  queue: QUEUES.audioEmotion,
  opsPort: 9105,
  extraEnv: {
    AUDIO_EMOTION_MODEL_DIR: z.string().optional(),
    AUDIO_MAX_SEGMENTS: z.coerce.number().int().min(1).default(600),
  },
  threadFile: path.join(__dirname, 'audio-emotion-thread.js'),
  threadData: (cfg) => ({
    modelDir: cfg.AUDIO_EMOTION_MODEL_DIR ?? path.join(cfg.MODEL_DIR, 'audio-emotion'),
    intraOpThreads: cfg.INTRA_OP_THREADS,
    maxSegments: cfg.AUDIO_MAX_SEGMENTS,
  }),
  handler: (ctx) => audioEmotionStage(ctx),
});
