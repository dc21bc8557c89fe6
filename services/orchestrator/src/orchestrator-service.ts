import {
  ArtifactStore,
  FusionClient,
  ORCHESTRATOR_MIGRATIONS,
  ORCHESTRATOR_SERVICE,
  QUEUES,
  createDb,
  ensureDatabase,
  migrate,
  runStageWorker,
  startGrpcServer,
  type ServiceContext,
  type ServiceHooks,
  type WebhookJob,
} from '@omniaffect/core';
import type { OrchestratorConfig } from './config';
import { fusionStageHandler } from './fusion-stage';
import { orchestratorGrpcImpl } from './grpc-api';
import { Orchestrator } from './orchestrator';
import { ping } from './repository';
import { WebhookService } from './webhooks';

/**
 * Wires the orchestrator from its parsed config: its own tables migrated (ORCHESTRATOR_MIGRATIONS;
 * fusion migrates its own), the state machine's inbox (stage-completions), the fusion stage's worker,
 * webhook delivery, the gRPC API and the reconciler's timer. Called by runService, which retries it
 * on failure: whatever one attempt opened is released before it throws.
 */
export async function startOrchestrator(cfg: OrchestratorConfig, { log, metrics, queues, redis }: ServiceContext): Promise<ServiceHooks> {
  // BullMQ loses jobs silently if Redis evicts keys, and a Redis restart without persistence loses
  // queued work: say so loudly at start rather than discover it after an incident.
  try {
    const policy = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const aof = (await redis.config('GET', 'appendonly')) as string[];
    if (policy[1] !== 'noeviction') log.warn({ policy: policy[1] }, 'Redis maxmemory-policy is not noeviction: queued jobs can be evicted');
    if (aof[1] !== 'yes') log.warn('Redis appendonly is off: a Redis restart loses queued jobs (the reconciler re-enqueues stages, but not completions)');
  } catch (err) {
    log.info({ err: (err as Error).message }, 'could not read Redis config (managed Redis?)');
  }
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL);
  // setup is retried on failure (runService): release this attempt's pool
  const applied = await migrate(db, ORCHESTRATOR_MIGRATIONS).catch(async (err) => {
    await db.end().catch(() => undefined);
    throw err;
  });
  if (applied.length) log.info({ applied }, 'migrations applied');
  const store = new ArtifactStore(cfg.ARTIFACT_DIR);
  const webhooks = new WebhookService(
    db,
    queues,
    {
      allowPrivate: cfg.OMNIAFFECT_WEBHOOK_ALLOW_PRIVATE,
      callbackSecret: cfg.OMNIAFFECT_CALLBACK_SECRET ?? null,
      retryScale: cfg.WEBHOOK_RETRY_SCALE,
      timeoutMs: cfg.WEBHOOK_TIMEOUT_MS,
      maxPerOwner: cfg.QUOTA_MAX_WEBHOOKS,
    },
    log,
    metrics,
  );
  const fusion = new FusionClient(cfg.FUSION_GRPC_URL);
  const orchestrator = new Orchestrator(db, queues, store, webhooks, log, metrics, fusion, {
    quota: {
      maxActiveVideos: cfg.QUOTA_MAX_ACTIVE_VIDEOS,
      maxMediaHoursPerDay: cfg.QUOTA_MAX_MEDIA_HOURS_PER_DAY,
      unprobedVideoSeconds: cfg.QUOTA_UNPROBED_VIDEO_SECONDS,
    },
    submitEnqueueTimeoutMs: cfg.SUBMIT_ENQUEUE_TIMEOUT_MS,
    eraseTimeoutMs: cfg.ERASE_TIMEOUT_MS,
    orphanGraceMs: cfg.ORPHAN_GRACE_MINUTES * 60_000,
  });
  const { reconciler } = orchestrator;

  // Reports are parsed against their contracts by onCompletion: a job's data is not trusted here.
  const completionWorker = queues.worker<unknown>(QUEUES.completions, (job) => orchestrator.onCompletion(job.data), {
    concurrency: cfg.COMPLETION_CONCURRENCY,
  });
  // The fusion stage reports through the completions queue like every other stage.
  const fusionWorker = runStageWorker({
    queues,
    queue: QUEUES.fusion,
    stage: 'fusion',
    concurrency: 4,
    maxCrashes: cfg.MAX_JOB_CRASHES,
    startedReportDelayMs: cfg.STARTED_REPORT_DELAY_MS,
    log,
    metrics,
    handler: fusionStageHandler({ db, store, fusion }),
  });
  const webhookWorker = queues.worker<WebhookJob>(QUEUES.webhooks, (job) => webhooks.deliver(job), { concurrency: 8 });
  for (const w of [completionWorker, webhookWorker]) w.on('error', (err) => log.error({ err }, 'worker error'));

  metrics.onScrape(async () => {
    for (const [queue, counts] of Object.entries(await queues.depths())) {
      for (const [state, n] of Object.entries(counts)) metrics.queueDepth.set({ queue, state }, n);
    }
  });

  const grpcServer = await startGrpcServer(`${cfg.GRPC_HOST}:${cfg.GRPC_PORT}`, [
    { name: ORCHESTRATOR_SERVICE, impl: orchestratorGrpcImpl(orchestrator, webhooks, log) },
  ]);
  log.info({ port: grpcServer.port }, 'orchestrator gRPC listening');

  // Resume whatever was in flight when the previous process stopped, then keep reconciling.
  const reconcile = async () => {
    try {
      const r = await reconciler.reconcile();
      const due = await webhooks.enqueueDue();
      const erasures = await reconciler.reconcileErasures();
      await reconciler.eraseExpiredMedia(cfg.MEDIA_RETENTION_HOURS);
      await reconciler.sweepOrphansIfDue(cfg.ORPHAN_SWEEP_INTERVAL_MS);
      if (r.recovered || due || erasures.purged || erasures.pending || erasures.legacy) log.info({ ...r, webhooksRequeued: due, erasures }, 'reconciled');
    } catch (err) {
      log.error({ err }, 'reconcile failed');
    }
  };
  // Each pass is scheduled after the previous one ends, so slow passes never overlap.
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const loop = async () => {
    await reconcile();
    if (!stopped) timer = setTimeout(() => void loop(), cfg.RECONCILE_INTERVAL_MS);
  };
  await loop();
  grpcServer.setServing(true);

  return {
    ready: async () => {
      try {
        await ping(db);
        return { ok: true, detail: { grpcPort: grpcServer.port } };
      } catch (err) {
        // /readyz is unauthenticated: the pg text (host, port, user) stays in the log
        log.warn({ err: (err as Error).message }, 'readiness: postgres unreachable');
        return { ok: false, detail: { error: 'postgres unreachable' } };
      }
    },
    close: async () => {
      stopped = true;
      clearTimeout(timer);
      grpcServer.setServing(false);
      await grpcServer.close();
      await Promise.all([completionWorker.close(), fusionWorker.close(), webhookWorker.close()]);
      fusion.close();
      await db.end();
    },
  };
}
