import { Queue, Worker, type ConnectionOptions, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import IORedis, { type Redis } from 'ioredis';
import type { StageName } from './labels';
import type { StageCompletionPayload, StageJobPayload } from './stage-contracts';

/** One queue per stage, one for stage completions (the orchestrator's inbox) and one for webhooks. */
export const QUEUES = {
  media: 'media',
  asr: 'asr',
  audioEmotion: 'audio-emotion',
  vision: 'vision',
  text: 'text',
  fusion: 'fusion',
  completions: 'stage-completions',
  webhooks: 'webhooks',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** The queue each stage's jobs go on. */
export const STAGE_QUEUES: Record<StageName, QueueName> = {
  media: QUEUES.media,
  asr: QUEUES.asr,
  'audio-emotion': QUEUES.audioEmotion,
  vision: QUEUES.vision,
  text: QUEUES.text,
  fusion: QUEUES.fusion,
};

/**
 * Stage jobs and completions are the payloads stage-contracts.ts declares (and every boundary
 * parses): one definition, the types inferred from it. Jobs reference artifacts by path; they never
 * carry media or tensors (docs/architecture.md §6).
 */
export type StageJob = StageJobPayload;
export type StageCompletion = StageCompletionPayload;

export interface WebhookJob {
  deliveryId: string;
}

/**
 * BullMQ rejects custom job ids that contain ':' (its key separator), so the design's `<videoId>:<stage>`
 * is spelt with '.'; still deterministic, so a re-enqueue of the same stage is a no-op.
 */
export const stageJobId = (videoId: string, stage: string): string => `${videoId}.${stage}`;
export const completionJobId = (videoId: string, stage: string): string => `${videoId}.${stage}.completion`;
/** The advisory "started" report of one run of a stage (one per run, so a re-run reports again). */
export const startedJobId = (videoId: string, stage: string, run: number): string => `${completionJobId(videoId, stage)}.started.${run}`;
/** One attempt of one webhook delivery (each attempt of the retry schedule is its own job). */
export const webhookAttemptJobId = (deliveryId: string, attempt: number): string => `${deliveryId}.${attempt}`;
/**
 * How many runs of one stage an erase looks for when it removes "started" reports: the stage queues'
 * attempts (7) plus the stalls BullMQ tolerates (maxStalledCount 5) plus reconciler re-dispatches, with
 * room to spare. A report beyond it carries only the id, stage and attempt count, never media or text.
 */
export const MAX_STAGE_RUNS = 24;

const KEEP = { age: 7 * 24 * 3600, count: 50_000 };

/**
 * Attempts and backoff per queue. Bad input never retries (a ProblemError fails the stage at once);
 * these attempts cover transient trouble — a dependency restarting (fusion, PostgreSQL), a worker
 * OOM-killed — so they span minutes, not seconds: a stage gives up only after ~2 min of retries,
 * the fusion stage after ~8 min.
 */
const stageRetries: JobsOptions = { attempts: 7, backoff: { type: 'capped', delay: 2000 }, removeOnComplete: KEEP, removeOnFail: KEEP };

/**
 * Exponential backoff with a ceiling ('capped'): BullMQ's own exponential grows without bound, so after
 * a long outage the 16th retry of a completion would wait hours. Capped, retries keep coming every
 * BACKOFF_CAP_MS for as many attempts as the queue allows.
 */
export const BACKOFF_CAP_MS = 30_000;
export function cappedBackoff(attemptsMade: number, type?: string, _err?: Error, job?: { opts: JobsOptions }): number {
  const base = typeof job?.opts.backoff === 'object' ? (job.opts.backoff.delay ?? 1000) : 1000;
  if (type !== undefined && type !== 'capped') return base;
  return Math.min(BACKOFF_CAP_MS, base * 2 ** Math.max(0, attemptsMade - 1));
}

export const JOB_OPTIONS: Record<QueueName, JobsOptions> = {
  media: stageRetries,
  asr: stageRetries,
  'audio-emotion': stageRetries,
  vision: stageRetries,
  text: stageRetries,
  fusion: { attempts: 20, backoff: { type: 'capped', delay: 1000 }, removeOnComplete: KEEP, removeOnFail: KEEP },
  // Completions must never be dropped: ~24 h of retries every 30 s; the orchestrator's handler is idempotent.
  'stage-completions': { attempts: 3000, backoff: { type: 'capped', delay: 500 }, removeOnComplete: KEEP, removeOnFail: KEEP },
  // The Standard Webhooks schedule is one job per attempt (scheduled by the delivery code); these
  // attempts only cover a crash or a database error inside one delivery attempt.
  webhooks: { attempts: 5, backoff: { type: 'capped', delay: 1000 }, removeOnComplete: KEEP, removeOnFail: KEEP },
};

export function redisConnection(url: string): Redis {
  // BullMQ workers block on Redis; they need maxRetriesPerRequest null to wait through reconnects.
  return new IORedis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
}

export class Queues {
  private readonly queues = new Map<string, Queue>();
  constructor(
    private readonly connection: Redis,
    readonly prefix: string,
    /** How long a worker's job lock lasts: after a crash the job is retried within lock + stalled interval. */
    private readonly locks: { lockDurationMs: number; stalledIntervalMs: number } = { lockDurationMs: 30_000, stalledIntervalMs: 5_000 },
  ) {}

  get(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: this.connection as unknown as ConnectionOptions,
        prefix: this.prefix,
        defaultJobOptions: JOB_OPTIONS[name],
      });
      this.queues.set(name, q);
    }
    return q;
  }

  worker<T, R = unknown>(name: QueueName, processor: Processor<T, R>, opts: Partial<WorkerOptions> = {}): Worker<T, R> {
    // BullMQ treats a passed-in connection as borrowed and never closes it: close it with the worker.
    const connection = this.connection.duplicate();
    const worker = new Worker<T, R>(name, processor, {
      connection: connection as unknown as ConnectionOptions,
      prefix: this.prefix,
      // A SIGKILLed worker's job goes back to wait after the lock expires; allow a few of those
      // before BullMQ gives up on the job (the orchestrator's reconciler catches the rest).
      maxStalledCount: 5,
      stalledInterval: this.locks.stalledIntervalMs,
      lockDuration: this.locks.lockDurationMs,
      settings: { backoffStrategy: cappedBackoff },
      ...opts,
    });
    worker.on('closed', () => connection.disconnect());
    return worker;
  }

  async depths(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const name of Object.values(QUEUES)) {
      out[name] = await this.get(name).getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
