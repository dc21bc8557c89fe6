import { z } from 'zod';
import { ArtifactStore, QUEUES, baseEnv, bool, loadConfig, port, runService, runStageWorker } from '@omniaffect/core';
import { mediaStage } from './media-stage';

const env = {
  ...baseEnv,
  OPS_PORT: port(9103),
  MEDIA_CONCURRENCY: z.coerce.number().int().min(1).default(2),
  /** 3-hour uploads are refused with `too-long` rather than tying up every worker. */
  MEDIA_MAX_DURATION_SEC: z.coerce.number().positive().default(2 * 3600),
  FRAME_INTERVAL_SEC: z.coerce.number().positive().default(2),
  FRAME_MAX_SIDE: z.coerce.number().int().min(64).default(448),
  DOWNLOAD_MAX_BYTES: z.coerce.number().int().positive().default(2 * 1024 ** 3),
  DOWNLOAD_TIMEOUT_MS: z.coerce.number().int().positive().default(10 * 60_000),
  FFMPEG_TIMEOUT_MS: z.coerce.number().int().positive().default(30 * 60_000),
  OMNIAFFECT_INGEST_ALLOW_PRIVATE: bool(false),
};
const config = () => loadConfig('media', env);

void runService({
  name: 'media',
    config,
    setup: async ({ log, metrics, queues }) => {
      const cfg = config();
      const store = new ArtifactStore(cfg.ARTIFACT_DIR);
      const worker = runStageWorker({
        queues,
        queue: QUEUES.media,
        stage: 'media',
        concurrency: cfg.MEDIA_CONCURRENCY,
        log,
        metrics,
        handler: mediaStage(store, {
          maxDurationSec: cfg.MEDIA_MAX_DURATION_SEC,
          frameIntervalSec: cfg.FRAME_INTERVAL_SEC,
          frameMaxSide: cfg.FRAME_MAX_SIDE,
          downloadMaxBytes: cfg.DOWNLOAD_MAX_BYTES,
          downloadTimeoutMs: cfg.DOWNLOAD_TIMEOUT_MS,
          allowPrivateIngest: cfg.OMNIAFFECT_INGEST_ALLOW_PRIVATE,
          ffmpegTimeoutMs: cfg.FFMPEG_TIMEOUT_MS,
        }),
      });
      return {
        ready: async () => ({ ok: worker.isRunning() }),
        close: () => worker.close(),
      };
    },
});
