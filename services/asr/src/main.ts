import * as path from 'node:path';
import { z } from 'zod';
import { QUEUES, runModelWorker } from '@omniaffect/core';
import { asrStage } from './asr-stage';

runModelWorker({
  name: 'asr',
  stage: 'asr',
  queue: QUEUES.asr,
  opsPort: 9104,
  extraEnv: { ASR_MODEL_DIR: z.string().optional() },
  threadFile: path.join(__dirname, 'asr-thread.js'),
  threadData: (cfg) => ({ modelDir: cfg.ASR_MODEL_DIR ?? path.join(cfg.MODEL_DIR, 'asr'), intraOpThreads: cfg.INTRA_OP_THREADS }),
  handler: (ctx) => asrStage(ctx),
});
