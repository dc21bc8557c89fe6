import * as path from 'node:path';
import { z } from 'zod';
import { QUEUES, runModelWorker } from '@omniaffect/core';
import { visionStage } from './vision-stage';

runModelWorker({
  name: 'vision',
  stage: 'vision',
  queue: QUEUES.vision,
  opsPort: 9106,
  extraEnv: { VISION_MODEL_DIR: z.string().optional() },
  threadFile: path.join(__dirname, 'vision-thread.js'),
  threadData: (cfg) => ({ modelDir: cfg.VISION_MODEL_DIR ?? path.join(cfg.MODEL_DIR, 'vision'), intraOpThreads: cfg.INTRA_OP_THREADS }),
  handler: (ctx) => visionStage(ctx),
});
