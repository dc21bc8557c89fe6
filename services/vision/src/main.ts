import * as path from 'node:path';
import { runModelWorker } from '@omniaffect/core';
import { loadVisionConfig, visionThreadData } from './config';
import { visionStage } from './vision-stage';

runModelWorker({
  stage: 'vision',
  config: loadVisionConfig,
  threadFile: path.join(__dirname, 'vision-thread.js'),
  threadData: visionThreadData,
  handler: (ctx) => visionStage(ctx),
});
