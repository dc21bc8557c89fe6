import { ArtifactStore, QUEUES, runService, runStageWorker } from '@omniaffect/core';
import { loadMediaEnv, mediaConfigFromEnv } from './config';
import { mediaStage } from './media-stage';

void runService({
  name: 'media',
  config: () => loadMediaEnv(),
  setup: async ({ log, metrics, queues, cfg }) => {
    const store = new ArtifactStore(cfg.ARTIFACT_DIR);
    const worker = runStageWorker({
      queues,
      queue: QUEUES.media,
      stage: 'media',
      concurrency: cfg.MEDIA_CONCURRENCY,
      maxCrashes: cfg.MAX_JOB_CRASHES,
      startedReportDelayMs: cfg.STARTED_REPORT_DELAY_MS,
      log,
      metrics,
      handler: mediaStage(store, mediaConfigFromEnv(cfg)),
    });
    return {
      ready: async () => ({ ok: worker.isRunning() }),
      close: () => worker.close(),
    };
  },
});
