import {
  ArtifactStore,
  MAX_STAGE_RUNS,
  QUEUES,
  STAGES,
  STAGE_QUEUES,
  completionJobId,
  crashCounterKey,
  isVideoId,
  stageJobId,
  startedJobId,
  withTransaction,
  type Db,
  type Logger,
  type Queues,
  type StageName,
} from '@omniaffect/core';
import type { Job } from 'bullmq';
import type { Dispatcher } from './dispatcher';
import * as repo from './repository';
import { isTerminalStatus, type StageEvent } from './state-machine';

/** What erasure needs from fusion (FusionClient in production). */
export interface FusionForgetter {
  forget(videoId: string): Promise<unknown>;
}

/** The orchestrator's event entry points, which recovery feeds (the only writer of video state). */
export interface VideoEvents {
  transition(videoId: string, ev: StageEvent): Promise<void>;
  advance(videoId: string): Promise<void>;
}

/**
 * Everything that repairs state from the outside world rather than reacting to an event: recovery of
 * stages whose jobs BullMQ lost or gave up on, the second phase of erasure (and its retries), media
 * retention and the orphan sweep. Each pass is idempotent; main runs them on a timer.
 */
export class Reconciler {
  private lastOrphanSweep = 0;

  constructor(
    private readonly db: Db,
    private readonly queues: Queues,
    private readonly store: ArtifactStore,
    private readonly dispatcher: Dispatcher,
    private readonly fusion: FusionForgetter,
    private readonly events: VideoEvents,
    private readonly log: Logger,
    private readonly orphanGraceMs: number,
  ) {}

  /**
   * Periodic and start-up recovery: re-derive actions for every video in flight (covers a crash
   * between commit and enqueue), and turn stage jobs that BullMQ gave up on — e.g. a worker killed
   * more often than maxStalledCount — into stage failures, so no video waits forever.
   */
  async reconcile(): Promise<{ videos: number; recovered: number }> {
    const ids = await repo.inFlightVideoIds(this.db, 1000);
    let recovered = 0;
    for (const id of ids) {
      try {
        await this.events.advance(id);
        const stages = await repo.loadStages(this.db, id);
        for (const s of stages) {
          if (s.state !== 'running' && s.state !== 'pending') continue;
          const job = await this.queues.get(STAGE_QUEUES[s.name]).getJob(stageJobId(id, s.name));
          if (!job) {
            // Running, yet its job is gone (Redis lost data while the worker died): dispatch it again.
            if (s.state === 'running' && Date.now() - s.updated_at.getTime() > 30_000) {
              recovered++;
              await this.redispatch(id, s.name);
            }
            continue;
          }
          const state = await job.getState();
          if (state === 'failed') {
            // A worker that reports a failure (a corrupt file, say) enqueues the completion and then
            // fails its job; that completion, not this guess, carries the real problem type. Only a
            // job that died without reporting anything (killed past maxStalledCount) is decided here.
            // A completion that itself failed has used up a day of retries: nothing will apply it.
            const { state: cState } = await this.completionOf(id, s.name);
            if (cState === 'missing' || cState === 'completed' || cState === 'failed') {
              recovered++;
              await this.events.transition(id, {
                kind: 'failed',
                stage: s.name,
                problemType: 'model-error',
                detail: `${s.name} job gave up: ${job.failedReason ?? 'unknown reason'}`,
              });
            }
          } else if (state === 'completed' && job.finishedOn && Date.now() - job.finishedOn > 5 * 60_000) {
            // The worker finished, so its completion was reported. If that job is still waiting out
            // a backoff, hurry it; if it gave up, revive it; only if it is gone, run the stage again
            // (handlers are idempotent: an output already present is returned and reported).
            const { job: completion, state: cState } = await this.completionOf(id, s.name);
            if (cState === 'delayed') await completion!.promote().catch(() => undefined);
            else if (cState === 'failed') await completion!.retry().catch(() => undefined);
            else if (cState === 'missing' || cState === 'completed') {
              await completion?.remove().catch(() => undefined);
              await job.remove().catch(() => undefined);
              await this.redispatch(id, s.name);
            }
            recovered++;
          }
        }
      } catch (err) {
        this.log.error({ err, videoId: id }, 'reconcile failed for video');
      }
    }
    return { videos: ids.length, recovered };
  }

  /** The completion job a stage's worker reported through, and its BullMQ state ('missing' when gone). */
  private async completionOf(id: string, stage: StageName): Promise<{ job: Job | undefined; state: string }> {
    const job = await this.queues.get(QUEUES.completions).getJob(completionJobId(id, stage));
    return { job, state: job ? await job.getState() : 'missing' };
  }

  private async redispatch(videoId: string, stage: StageName): Promise<void> {
    const video = await repo.loadVideo(this.db, videoId);
    if (!video || isTerminalStatus(video.status)) return;
    const snap = repo.toSnapshot(video, await repo.loadStages(this.db, videoId));
    // its completion may have been consumed since the caller looked: a finished stage is not re-run
    const state = snap.stages[stage].state;
    if (state !== 'pending' && state !== 'running') return;
    await this.dispatcher.enqueue(video, stage, snap);
  }

  /**
   * Phase 2 of erasure: everything of an erased video outside PostgreSQL's rows. Idempotent; true when
   * all of it is gone and the tombstone was marked purged. A job a worker still holds cannot be removed
   * (BullMQ refuses while it is locked): the tombstone then stays unpurged and a later pass retries;
   * whatever that worker writes or reports meanwhile is swept when its completion lands (see transition).
   */
  async purge(id: string): Promise<boolean> {
    const tomb = await repo.loadTombstone(this.db, id);
    if (!tomb) return false;
    if (tomb.purged_at) return true;
    const jobs: { queue: (typeof QUEUES)[keyof typeof QUEUES]; id: string }[] = [];
    for (const stage of STAGES) {
      jobs.push({ queue: STAGE_QUEUES[stage], id: stageJobId(id, stage) });
      jobs.push({ queue: QUEUES.completions, id: completionJobId(id, stage) });
      for (let run = 1; run <= MAX_STAGE_RUNS; run++) jobs.push({ queue: QUEUES.completions, id: startedJobId(id, stage, run) });
    }
    for (const j of tomb.webhook_jobs) jobs.push({ queue: QUEUES.webhooks, id: j });
    // remove() answers 1 when the job is gone (or never existed) and 0 when a worker holds its lock
    const codes = await Promise.all(jobs.map((j) => this.queues.get(j.queue).remove(j.id)));
    const held = codes.filter((code) => code === 0).length;
    // the stage workers' per-job crash counters name the video in their keys (they expire on their own, in days)
    const redis = await this.queues.get(QUEUES.media).client;
    await redis.del(...STAGES.map((stage) => crashCounterKey(this.queues.prefix, STAGE_QUEUES[stage], stageJobId(id, stage))));
    await this.fusion.forget(id);
    await this.store.removeVideo(id);
    if (held > 0) {
      this.log.info({ videoId: id, held }, 'erase waits for jobs a worker still holds');
      return false;
    }
    // Only if nothing re-opened the tombstone meanwhile (a late completion bumps the generation).
    return repo.markPurged(this.db, id, tomb.generation);
  }

  /**
   * The reconciler's erasure duties: finish tombstones whose clean-up did not complete (a crash, Redis
   * or fusion down, a job a worker held), and turn rows canceled before erasure existed into
   * tombstones (their metadata, URLs and transcript were still stored).
   */
  async reconcileErasures(): Promise<{ purged: number; pending: number; legacy: number }> {
    const legacy = await repo.legacyCanceledIds(this.db, 200);
    for (const id of legacy) {
      await withTransaction(this.db, async (c) => {
        const video = await repo.loadVideo(c, id, true);
        if (video && video.status === 'canceled') await repo.eraseVideoRow(c, video);
      });
    }
    const ids = await repo.unpurgedTombstoneIds(this.db, 200);
    let purged = 0;
    for (const id of ids) {
      try {
        if (await this.purge(id)) purged++;
      } catch (err) {
        this.log.warn({ err: (err as Error).message, videoId: id }, 'erase clean-up failed; retrying next pass');
      }
    }
    return { purged, pending: ids.length - purged, legacy: legacy.length };
  }

  /**
   * Privacy retention (docs/architecture.md §9): raw media and frames of finished videos are erased once they
   * are older than the retention; results, transcripts and features stay until DELETE.
   */
  async eraseExpiredMedia(retentionHours: number): Promise<number> {
    if (retentionHours <= 0) return 0;
    const due = await repo.dueForMediaRetention(this.db, retentionHours, 500);
    for (const id of due) {
      // The files go and the mark is set under the row's lock, in one transaction: a reader that finds
      // no file waits for the commit and sees the mark (Orchestrator.media, fileMissing), and a crash
      // or failure before the commit leaves the video unmarked, so the next pass removes again.
      await withTransaction(this.db, async (c) => {
        await repo.loadVideo(c, id, true);
        await this.store.removeMedia(id);
        await repo.markMediaErased(c, id);
      });
    }
    if (due.length) this.log.info({ erased: due.length, retentionHours }, 'raw media past retention erased');
    return due.length;
  }

  /** sweepOrphans, at most once per `intervalMs` (it reads the whole videos/ directory). */
  async sweepOrphansIfDue(intervalMs: number): Promise<{ dirs: number; temps: number } | null> {
    if (Date.now() - this.lastOrphanSweep < intervalMs) return null;
    this.lastOrphanSweep = Date.now();
    return this.sweepOrphans();
  }

  /**
   * Collects what no row accounts for, once untouched for the grace period:
   * - videos/<id>/ with no video row: an upload whose Submit never committed (refused, timed out, the
   *   gateway killed mid-upload with only its .part), a duplicate an idempotency key matched, late
   *   writes of an erased video's worker;
   * - `.tmp-`/`.part-` leftovers in the directory of a finished video (nothing writes there any more).
   * Only directory names that are video ids are considered: anything else under videos/ is not ours.
   */
  async sweepOrphans(graceMs = this.orphanGraceMs): Promise<{ dirs: number; temps: number }> {
    const names = (await this.store.listVideoDirs()).filter(isVideoId);
    let dirs = 0;
    let temps = 0;
    for (let i = 0; i < names.length; i += 500) {
      const chunk = names.slice(i, i + 500);
      const status = await repo.statusesOf(this.db, chunk);
      for (const id of chunk) {
        const st = status.get(id);
        if (st === undefined) {
          const last = await this.store.lastActivity(id);
          if (last === null || Date.now() - last < graceMs) continue;
          // Checked again just before: a Submit that committed since the batch query keeps its upload.
          if (await repo.videoStatus(this.db, id)) continue;
          await this.store.removeVideo(id);
          dirs++;
        } else if (isTerminalStatus(st)) {
          temps += await this.store.removeStaleTemps(id, graceMs);
        }
      }
    }
    await repo.deleteExpiredMediaUsage(this.db);
    if (dirs || temps) this.log.info({ dirs, temps }, 'orphaned artifacts collected');
    return { dirs, temps };
  }
}
