import * as path from 'node:path';
import { runModelWorker } from '@omniaffect/core';
import { asrStage } from './asr-stage';
import { asrThreadData, loadAsrConfig } from './config';

runModelWorker({
  stage: 'asr',
  config: loadAsrConfig,
  threadFile: path.join(__dirname, 'asr-thread.js'),
  threadData: asrThreadData,
  handler: (ctx) => asrStage(ctx),
});
