import * as path from 'node:path';
import { runModelWorker } from '@omniaffect/core';
import { loadTextConfig, textThreadData } from './config';
import { textStage } from './text-stage';

runModelWorker({
  stage: 'text',
  config: loadTextConfig,
  threadFile: path.join(__dirname, 'text-thread.js'),
  threadData: textThreadData,
  handler: (ctx) => textStage(ctx, { maxTokens: ctx.cfg.TEXT_MAX_TOKENS }),
});
