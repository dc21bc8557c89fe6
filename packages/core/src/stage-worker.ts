import { UnrecoverableError, type Job, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { DEFAULT_MAX_JOB_CRASHES, DEFAULT_STARTED_REPORT_DELAY_MS } from './config';
import type { StageName } from './labels';
import type { Logger } from './logger';
import type { ServiceMetrics } from './metrics';
import { ProblemError } from './problems';
import { StageJobSchema, parseContract, parseStageOutput } from './stage-contracts';
import { QUEUES, completionJobId, startedJobId, type QueueName, type Queues, type StageCompletion, type StageJob } from './queues';

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
 *
 * Poison jobs: a job whose run kills the process (an inference timeout exits the worker, an OOM
 * kill, a native crash) would otherwise be handed to the next worker and kill it too, up to
 * BullMQ's stalled limit. A Redis counter per job is incremented when a run starts and deleted when
 * it ends in any way the process survives; a counter found at `maxCrashes` therefore means that
 * many runs died with their worker, and the job fails for good with that reason instead of running.
 */
export function crashCounterKey(prefix: string, queue: string, jobId: string): string {
  return `${prefix}:${queue}:crashes:${jobId}`;
}

/** Long enough to outlive any retry schedule; only matters for counters orphaned by a removed job. */
const CRASH_COUNTER_TTL_S = 7 * 24 * 3600;

export function runStageWorker(opts: {
  queues: Queues;
  queue: QueueName;
  stage: StageName;
  concurrency: number;
  log: Logger;
  metrics: ServiceMetrics;
  handler: StageHandler;
  /** Runs of one job that may die with their worker before the job fails (the service's parsed MAX_JOB_CRASHES). */
  maxCrashes?: number;
  /** How long a run lasts before its advisory "started" report is sent (the service's parsed STARTED_REPORT_DELAY_MS). */
  startedReportDelayMs?: number;
}): Worker<StageJob> {
  const startedReportDelayMs = opts.startedReportDelayMs ?? DEFAULT_STARTED_REPORT_DELAY_MS;
  const completions = opts.queues.get(QUEUES.completions);
  const maxCrashes = opts.maxCrashes ?? DEFAULT_MAX_JOB_CRASHES;
  const report = async (c: StageCompletion, suffix = '') => {
    await completions.add(`${c.stage}:${c.outcome}`, c, { jobId: completionJobId(c.videoId, c.stage) + suffix });
  };
  /** `runs` counts this job's runs, stalled ones included: what the completion reports as its attempts. */
  const runHandler = async (job: Job<StageJob>, log: Logger, startedAt: number, attempt: number, runs: number): Promise<void> => {
    const data = job.data;
    try {
      // Both checks guard our own contracts (stage-contracts.ts): a job or an output that does not
      // match is a bug in the orchestrator or this stage, so it throws a plain Error (retried, and
      // reported as model-error in the end), never a ProblemError that would blame the user's file.
      parseContract(StageJobSchema, data, `the ${opts.stage} job`);
      const res = await opts.handler(data, { log, attempt, bullJob: job });
      // The handler's own object is reported (the schema only checks it), so what reaches the
      // orchestrator is byte for byte what the stage produced.
      if (res.output !== undefined) parseStageOutput(opts.stage, res.output);
      await report({
        videoId: data.videoId,
        stage: opts.stage,
        outcome: res.outcome,
        output: res.output,
        problem: res.problem,
        startedAt,
        finishedAt: Date.now(),
        attempts: runs,
      });
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
      await report({ videoId: data.videoId, stage: opts.stage, outcome: 'failed', problem, startedAt, finishedAt: Date.now(), attempts: runs });
      opts.metrics.stageDuration.observe({ stage: opts.stage, outcome: 'failed' }, (Date.now() - startedAt) / 1000);
      throw new UnrecoverableError(problem.detail);
    }
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
      const crashKey = crashCounterKey(opts.queues.prefix, opts.queue, job.id ?? `${data.videoId}:${opts.stage}`);
      const redis = (await completions.client) as unknown as Redis;
      // Its value before this run = runs that started and never finished = workers this job took down.
      // One round trip for both (they sit on every stage's critical path).
      const counted = await redis.multi().incr(crashKey).expire(crashKey, CRASH_COUNTER_TTL_S).exec();
      const [incrErr, runsStarted] = counted?.[0] ?? [new Error('the crash counter transaction was discarded'), null];
      if (incrErr) throw incrErr;
      const crashed = Number(runsStarted) - 1;
      if (crashed >= maxCrashes) {
        const problem = {
          type: 'model-error',
          detail: `${opts.stage}: a job that crashed ${crashed} workers (each run ended with its worker process dying, e.g. an inference timeout); not retried`,
        };
        log.error({ crashed, maxCrashes }, 'poison job: failing it instead of running it again');
        await report({ videoId: data.videoId, stage: opts.stage, outcome: 'failed', problem, startedAt, finishedAt: Date.now(), attempts: runs });
        opts.metrics.stageDuration.observe({ stage: opts.stage, outcome: 'failed' }, 0);
        await redis.del(crashKey);
        throw new UnrecoverableError(problem.detail);
      }
      opts.metrics.queueWaitSeconds.observe({ queue: opts.queue }, Math.max(0, (job.processedOn ?? startedAt) - job.timestamp) / 1000);
      // "started" is advisory (the running state and attempt count a client sees); losing it loses nothing.
      // It is sent only once the run has lasted startedReportDelayMs: for the short stages of a short
      // clip it was half the orchestrator's transactions, each taking the video's lock on the critical
      // path, for a running state that lasted a few tens of milliseconds. Such a stage goes from pending
      // to done, and its completion carries the run's start (this worker's clock) and its attempt count.
      const reportStart = () =>
        completions
          .add(
            `${opts.stage}:started`,
            { videoId: data.videoId, stage: opts.stage, outcome: 'started', startedAt, attempts: runs },
            { jobId: startedJobId(data.videoId, opts.stage, runs) },
          )
          .catch((err) => log.warn({ err }, 'could not report stage start'));
      const startedTimer = setTimeout(() => void reportStart(), startedReportDelayMs);
      try {
        await runHandler(job, log, startedAt, attempt, runs);
      } finally {
        clearTimeout(startedTimer);
        // Reached whenever the process survives the run (success, failure, retry): not a crash.
        await redis.del(crashKey).catch((err: unknown) => log.warn({ err }, 'could not clear the crash counter'));
      }
    },
    { concurrency: opts.concurrency },
  );
  worker.on('error', (err) => opts.log.error({ err }, 'worker error'));
  return worker;
}
