import { UnrecoverableError, type Job, type Worker } from 'bullmq';
import type { StageName } from './labels';
import type { Logger } from './logger';
import type { ServiceMetrics } from './metrics';
import { ProblemError } from './problems';
import { QUEUES, completionJobId, type QueueName, type Queues, type StageCompletion, type StageJob } from './queues';

export interface StageHandlerResult {
  outcome: 'done' | 'skipped';
  output?: Record<string, unknown>;
  /** Why a stage was skipped (problem slug + text). */
  problem?: { type: string; detail: string };
}

export type StageHandler = (job: StageJob, ctx: { log: Logger; attempt: number; bullJob: Job<StageJob> }) => Promise<StageHandlerResult>;

/**
 * Runs one stage's queue. Every outcome reaches the orchestrator as a job on the completions queue
 * (durable, deterministic id), never as a fire-and-forget event:
 * - success → `done` (or `skipped` with a reason);
 * - a ProblemError (bad input: corrupt file, no audio...) → `failed` at once, no retry, since
 *   retrying cannot change the answer;
 * - any other error → BullMQ retries with backoff; the last attempt reports `failed`.
 * A SIGKILLed worker reports nothing: its job stalls, BullMQ hands it to another worker, and the
 * orchestrator's reconciler covers a job that BullMQ finally gives up on.
 */
export function runStageWorker(opts: {
  queues: Queues;
  queue: QueueName;
  stage: StageName;
  concurrency: number;
  log: Logger;
  metrics: ServiceMetrics;
  handler: StageHandler;
}): Worker<StageJob> {
  const completions = opts.queues.get(QUEUES.completions);
  const report = async (c: StageCompletion, suffix = '') => {
    await completions.add(`${c.stage}:${c.outcome}`, c, { jobId: completionJobId(c.videoId, c.stage) + suffix });
  };
  const worker = opts.queues.worker<StageJob>(
    opts.queue,
    async (job) => {
      const data = job.data;
      const log = opts.log.child({ videoId: data.videoId, stage: opts.stage, jobId: job.id });
      const startedAt = Date.now();
      const attempt = job.attemptsMade + 1;
      // A job re-run after its worker died (stalled) keeps attemptsMade; attemptsStarted counts it.
      const runs = Math.max(attempt, job.attemptsStarted ?? 0);
      opts.metrics.queueWaitSeconds.observe({ queue: opts.queue }, Math.max(0, (job.processedOn ?? startedAt) - job.timestamp) / 1000);
      // "started" is advisory (running state, attempt count); losing it loses nothing.
      await completions
        .add(`${opts.stage}:started`, { videoId: data.videoId, stage: opts.stage, outcome: 'started', startedAt, attempts: runs }, {
          jobId: `${completionJobId(data.videoId, opts.stage)}.started.${runs}`,
        })
        .catch((err) => log.warn({ err }, 'could not report stage start'));
      try {
        const res = await opts.handler(data, { log, attempt, bullJob: job });
        await report({ videoId: data.videoId, stage: opts.stage, outcome: res.outcome, output: res.output, problem: res.problem, startedAt, finishedAt: Date.now(), attempts: attempt });
        opts.metrics.stageDuration.observe({ stage: opts.stage, outcome: res.outcome }, (Date.now() - startedAt) / 1000);
        log.info({ outcome: res.outcome, ms: Date.now() - startedAt }, 'stage finished');
      } catch (err) {
        const permanent = err instanceof ProblemError;
        const last = permanent || attempt >= (job.opts.attempts ?? 1);
        log.error({ err, attempt, permanent }, 'stage failed');
        if (!last) throw err;
        const problem = permanent
          ? { type: err.slug, detail: err.detail }
          : { type: 'model-error', detail: `${opts.stage} failed after ${attempt} attempts: ${(err as Error).message}` };
        await report({ videoId: data.videoId, stage: opts.stage, outcome: 'failed', problem, startedAt, finishedAt: Date.now(), attempts: attempt });
        opts.metrics.stageDuration.observe({ stage: opts.stage, outcome: 'failed' }, (Date.now() - startedAt) / 1000);
        throw new UnrecoverableError(problem.detail);
      }
    },
    { concurrency: opts.concurrency },
  );
  worker.on('error', (err) => opts.log.error({ err }, 'worker error'));
  return worker;
}
