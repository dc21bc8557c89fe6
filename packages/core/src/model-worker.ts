import * as path from 'node:path';
import type { z } from 'zod';
import { baseEnv, modelWorkerEnv, port, type ModelWorkerBaseConfig } from './config';
import { FusionPushClient } from './fusion-client';
import type { Logger } from './logger';
import type { ServiceMetrics } from './metrics';
import { STAGE_QUEUES } from './queues';
import { EXIT_CODES, runService } from './service-runtime';
import { runStageWorker, type StageHandler } from './stage-worker';
import { ArtifactStore } from './storage';
import { ThreadClient } from './thread-rpc';
import { DEFAULT_PORTS, type WorkerStageName } from './vocabulary';

/** The stages whose workers run an ONNX model in a thread (media runs ffmpeg instead). */
export type ModelStageName = Exclude<WorkerStageName, 'media'>;

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

/** The full variable shape of a model worker: the shared variables, its OPS_PORT default, and its own. */
export type ModelWorkerEnv<S extends z.ZodRawShape> = typeof baseEnv & typeof modelWorkerEnv & S;
export type ModelWorkerConfig<S extends z.ZodRawShape> = z.infer<z.ZodObject<ModelWorkerEnv<S>>>;

/**
 * A model worker's environment shape for its config.ts: the shared variables with the stage's
 * OPS_PORT default (DEFAULT_PORTS, the same table the local stack uses) and its own variables.
 */
export function modelWorkerShape<S extends z.ZodRawShape>(stage: ModelStageName, extra: S): ModelWorkerEnv<S> {
  return { ...baseEnv, ...modelWorkerEnv, OPS_PORT: port(DEFAULT_PORTS.ops[stage]), ...extra };
}

/** A model thread started and loaded by startModelThread. */
export interface ModelThread<L> {
  thread: ThreadClient;
  /** what the thread's `load` returned (model names, dims, provider; fusion's manifest) */
  loaded: L;
  /** null while the thread runs; the error it died of (the process is exiting then). For /readyz. */
  readonly dead: Error | null;
  close(): Promise<void>;
}

/**
 * The life cycle of a model thread, the same in every service that runs ONNX sessions off its event
 * loop (the model workers through runModelWorker, fusion): start the worker_thread, call its `load`
 * (a load error, e.g. CUDA missing, rejects here with the loader's message after the thread is
 * closed, so a setup that runService retries leaves no thread behind per attempt), then bound every
 * later call by `timeoutMs` and exit EXIT_CODES.software when the thread dies on its own. A thread
 * that dies during load is that attempt's failure, not an exit.
 */
export async function startModelThread<L = Record<string, unknown>>(opts: {
  /** the compiled thread module (resolved against the working directory when relative) */
  threadFile: string;
  /** the thread's workerData */
  data: Record<string, unknown>;
  /** per-call limit once loaded (INFERENCE_TIMEOUT_MS); 0 or omitted = none. The load itself is not bounded. */
  timeoutMs?: number;
  log: Logger;
}): Promise<ModelThread<L>> {
  const thread = ThreadClient.start(path.resolve(opts.threadFile), opts.data);
  const loaded = await thread.call<L>('load').catch(async (err: Error) => {
    await thread.close();
    throw err;
  });
  thread.defaultTimeoutMs = opts.timeoutMs ?? 0;
  // Without its model thread the service could only fail its work: exit so the supervisor restarts
  // it (a model worker's held job goes to another worker once its lock lapses).
  thread.onExit((err) => {
    // the Error itself: the logger's `err` serializer expects one (a string is logged character by character)
    opts.log.fatal({ err, thread: path.basename(opts.threadFile) }, 'model thread died; exiting');
    process.exit(EXIT_CODES.software);
  });
  return {
    thread,
    loaded,
    get dead() {
      return thread.dead;
    },
    close: () => thread.close(),
  };
}

/**
 * The shared shape of the four GPU-pinnable workers: validated config, a model thread that owns the
 * ONNX sessions (startModelThread: loaded before the queue is consumed; a load error, e.g. CUDA
 * missing, keeps /readyz failing with the loader's message), a BullMQ stage worker, and a gRPC
 * client to fusion.
 */
export function runModelWorker<C extends ModelWorkerBaseConfig>(opts: {
  stage: ModelStageName;
  /** Parses the worker's config (its config.ts); called once, at start. */
  config: () => C;
  threadFile: string;
  threadData: (cfg: C) => Record<string, unknown>;
  handler: (ctx: ModelWorkerContext<C>) => StageHandler;
}): void {
  void runService({
    // A worker service is named after its stage (logs, metrics' `service` label, the local stack).
    name: opts.stage,
    config: opts.config,
    setup: async ({ log, metrics, queues, cfg }) => {
      const model = await startModelThread({
        threadFile: opts.threadFile,
        data: { provider: cfg.EXECUTION_PROVIDER, ...opts.threadData(cfg) },
        timeoutMs: cfg.INFERENCE_TIMEOUT_MS,
        log,
      });
      const { thread, loaded } = model;
      log.info({ loaded }, 'models loaded');
      const fusion = new FusionPushClient(cfg.FUSION_GRPC_URL);
      const store = new ArtifactStore(cfg.ARTIFACT_DIR);
      const worker = runStageWorker({
        queues,
        queue: STAGE_QUEUES[opts.stage],
        stage: opts.stage,
        concurrency: cfg.WORKER_CONCURRENCY,
        // The inference timeout below exits this process mid-job: bound how many workers one job may take down.
        maxCrashes: cfg.MAX_JOB_CRASHES,
        startedReportDelayMs: cfg.STARTED_REPORT_DELAY_MS,
        log,
        metrics,
        handler: opts.handler({ cfg, thread, loaded, store, fusion, log, metrics }),
      });
      return {
        ready: async () => ({ ok: worker.isRunning() && !model.dead, detail: { provider: cfg.EXECUTION_PROVIDER, models: loaded } }),
        close: async () => {
          await worker.close();
          fusion.close();
          await model.close();
        },
      };
    },
  });
}
