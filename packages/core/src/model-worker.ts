import * as path from 'node:path';
import type { z } from 'zod';
import { baseEnv, loadConfig, modelWorkerEnv, port } from './config';
import { FusionPushClient } from './fusion-client';
import type { StageName } from './labels';
import type { Logger } from './logger';
import type { ServiceMetrics } from './metrics';
import { type QueueName } from './queues';
import { runService } from './service-runtime';
import { runStageWorker, type StageHandler } from './stage-worker';
import { ArtifactStore } from './storage';
import { ThreadClient } from './thread-rpc';

export interface ModelWorkerContext<C> {
  cfg: C;
  thread: ThreadClient;
  /** what the thread's `load` returned (model names, dims, provider) */
  loaded: Record<string, unknown>;
  store: ArtifactStore;
  fusion: FusionPushClient;
  log: Logger;
  metrics: ServiceMetrics;
}

/**
 * The shared shape of the four GPU-pinnable workers: validated config, a worker_thread that owns the
 * ONNX sessions (loaded before the queue is consumed; a load error, e.g. CUDA missing, keeps /readyz
 * failing with the loader's message), a BullMQ stage worker, and a gRPC client to fusion.
 */
export function runModelWorker<S extends z.ZodRawShape>(opts: {
  name: string;
  stage: StageName;
  queue: QueueName;
  opsPort: number;
  extraEnv: S;
  threadFile: string;
  threadData: (cfg: z.infer<z.ZodObject<typeof baseEnv & typeof modelWorkerEnv & S>>) => Record<string, unknown>;
  handler: (ctx: ModelWorkerContext<z.infer<z.ZodObject<typeof baseEnv & typeof modelWorkerEnv & S>>>) => StageHandler;
}): void {
  const shape = { ...baseEnv, ...modelWorkerEnv, OPS_PORT: port(opts.opsPort), ...opts.extraEnv } as typeof baseEnv & typeof modelWorkerEnv & S;
  const config = () => loadConfig(opts.name, shape);
  void runService({
    name: opts.name,
    config: config as never,
    setup: async ({ log, metrics, queues }) => {
      const cfg = config() as z.infer<z.ZodObject<typeof shape>>;
      const base = cfg as unknown as { ARTIFACT_DIR: string; FUSION_GRPC_URL: string; EXECUTION_PROVIDER: string; WORKER_CONCURRENCY: number; MAX_JOB_CRASHES: number };
      const thread = ThreadClient.start(path.resolve(opts.threadFile), { provider: base.EXECUTION_PROVIDER, ...opts.threadData(cfg) });
      // setup is retried on failure (runService): don't leave a thread behind per attempt
      const loaded = await thread.call<Record<string, unknown>>('load').catch(async (err: Error) => {
        await thread.close();
        throw err;
      });
      thread.defaultTimeoutMs = (cfg as unknown as { INFERENCE_TIMEOUT_MS: number }).INFERENCE_TIMEOUT_MS;
      // Without its inference thread the worker would only fail jobs: exit so the supervisor restarts
      // it, and BullMQ hands the held job to another worker once its lock lapses.
      thread.onExit((err) => {
        log.fatal({ err: err.message }, 'inference thread died; exiting');
        process.exit(70);
      });
      log.info({ loaded }, 'models loaded');
      const fusion = new FusionPushClient(base.FUSION_GRPC_URL);
      const store = new ArtifactStore(base.ARTIFACT_DIR);
      const worker = runStageWorker({
        queues,
        queue: opts.queue,
        stage: opts.stage,
        concurrency: base.WORKER_CONCURRENCY,
        // The inference timeout below exits this process mid-job: bound how many workers one job may take down.
        maxCrashes: base.MAX_JOB_CRASHES,
        log,
        metrics,
        handler: opts.handler({ cfg, thread, loaded, store, fusion, log, metrics }),
      });
      return {
        ready: async () => ({ ok: worker.isRunning() && !thread.dead, detail: { provider: base.EXECUTION_PROVIDER, models: loaded } }),
        close: async () => {
          await worker.close();
          fusion.close();
          await thread.close();
        },
      };
    },
  });
}
