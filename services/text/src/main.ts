import * as path from 'node:path';
import { z } from 'zod';
import { QUEUES, runModelWorker } from '@omniaffect/core';
import { textStage } from './text-stage';

runModelWorker({
  name: 'text',
  stage: 'text',
  queue: QUEUES.text,
  opsPort: 9107,
  extraEnv: { TEXT_MODEL_DIR_EN: z.string().optional(), TEXT_MODEL_DIR_ZH: z.string().optional() },
  threadFile: path.join(__dirname, 'text-thread.js'),
  threadData: (cfg) => ({
    enDir: cfg.TEXT_MODEL_DIR_EN ?? path.join(cfg.MODEL_DIR, 'text-en'),
    zhDir: cfg.TEXT_MODEL_DIR_ZH ?? path.join(cfg.MODEL_DIR, 'text-zh'),
    intraOpThreads: cfg.INTRA_OP_THREADS,
  }),
  handler: (ctx) => textStage(ctx),
});
