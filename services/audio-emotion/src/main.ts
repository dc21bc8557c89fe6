import * as path from 'node:path';
import { runModelWorker } from '@omniaffect/core';
import { audioEmotionStage } from './audio-emotion-stage';
import { audioEmotionThreadData, loadAudioEmotionConfig } from './config';

runModelWorker({
  stage: 'audio-emotion',
  config: loadAudioEmotionConfig,
  threadFile: path.join(__dirname, 'audio-emotion-thread.js'),
  threadData: audioEmotionThreadData,
  handler: (ctx) => audioEmotionStage(ctx),
});
