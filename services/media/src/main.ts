import { ArtifactStore, QUEUES, runService, runStageWorker } from '@omniaffect/core';
import { loadMediaEnv, mediaConfigFromEnv } from './config';
import { MediaTools } from './fork-server';
import { mediaStage } from './media-stage';

void runService({
  name: 'media',
  config: () => loadMediaEnv(),
  setup: async ({ log, metrics, queues, cfg }) => {
    const store = new ArtifactStore(cfg.ARTIFACT_DIR);
    const tools = await MediaTools.start(cfg.MEDIA_FORKSERVER, log);
    const worker = runStageWorker({
      queues,
      queue: QUEUES.media,
      stage: 'media',
      concurrency: cfg.MEDIA_CONCURRENCY,
      maxCrashes: cfg.MAX_JOB_CRASHES,
      startedReportDelayMs: cfg.STARTED_REPORT_DELAY_MS,
      log,
      metrics,
      handler: mediaStage(store, { ...mediaConfigFromEnv(cfg), runner: tools.run }),
    });
    return {
      ready: async () => ({ ok: worker.isRunning() }),
      // the worker first: its runs finish (or are stopped) before the servers they fork from go
      close: async () => {
        await worker.close();
        await tools.close();
      },
    };
  },
});
