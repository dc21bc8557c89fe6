import {
  type SubmitInput,
  ArtifactStore,
  MAX_STAGE_RUNS,
  ProblemError,
  QUEUES,
  STAGES,
  STAGE_QUEUES,
  artifactPaths,
  completionJobId,
  crashCounterKey,
  isVideoId,
  stageJobId,
  startedJobId,
  webhookAttemptJobId,
  withTransaction,
  type Db,
  type ErasedVideoDocument,
  type Logger,
  type Queues,
  type ServiceMetrics,
  type StageCompletion,
  type StageJob,
  type StageName,
  type VideoDocument,
} from '@omniaffect/core';
import type { Job } from 'bullmq';
import type { PoolClient } from 'pg';
import { loadStages, loadVideo, toDocument, toSnapshot, writeStageChanges, type VideoRow } from './repository';
import { applyEvent, initialSnapshot, isTerminalStatus, nextActions, withChanges, type StageEvent } from './state-machine';
import type { WebhookService } from './webhooks';

export type { SubmitInput };

/** What erasure needs from fusion (FusionForgetClient in production). */
export interface FusionForgetter {
  forget(videoId: string): Promise<unknown>;
}

export interface OrchestratorOptions {
  /** 0 = no limit (see config.ts for what each counts) */
  quota: { maxActiveVideos: number; maxMediaHoursPerDay: number; unprobedVideoSeconds: number };
  submitEnqueueTimeoutMs: number;
  eraseTimeoutMs: number;
  orphanGraceMs: number;
}

export const DEFAULT_ORCHESTRATOR_OPTIONS: OrchestratorOptions = {
  quota: { maxActiveVideos: 100, maxMediaHoursPerDay: 500, unprobedVideoSeconds: 7200 },
  submitEnqueueTimeoutMs: 2_000,
  eraseTimeoutMs: 4_000,
  orphanGraceMs: 60 * 60_000,
};

/** Advisory-lock namespace serialising one owner's Submits, so a quota check and its insert are one step. */
const OWNER_SUBMIT_LOCK = 0x0a11_0001;

/**
 * Resolves with `p`, or rejects after `ms` while `p` carries on by itself. For steps after a commit
 * whose failure the reconciler repairs: the caller must not hang on them (Redis down makes BullMQ
 * calls wait for the reconnect, indefinitely).
 */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  p.catch(() => undefined); // a late rejection after the timeout is nobody's to handle
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The single writer of video state. Every change goes through `transition()`: lock the video row,
 * apply the event with the pure state machine, write, commit, then perform the derived actions.
 */
export class Orchestrator {
  constructor(
    private readonly db: Db,
    private readonly queues: Queues,
    private readonly store: ArtifactStore,
    private readonly webhooks: WebhookService,
    private readonly log: Logger,
    private readonly metrics: ServiceMetrics,
    private readonly fusion: FusionForgetter,
    opts: Partial<OrchestratorOptions> = {},
  ) {
    this.opts = { ...DEFAULT_ORCHESTRATOR_OPTIONS, ...opts, quota: { ...DEFAULT_ORCHESTRATOR_OPTIONS.quota, ...opts.quota } };
  }

  private readonly opts: OrchestratorOptions;
  private lastOrphanSweep = 0;

  async submit(input: SubmitInput): Promise<{ doc: VideoDocument; created: boolean }> {
    // The id names a directory and BullMQ job ids; the owner scopes everything. Neither is trusted.
    if (!isVideoId(input.videoId)) throw new ProblemError('validation', 'video_id must be a lowercase UUID');
    if (!input.owner || input.owner.length > 128) throw new ProblemError('validation', 'owner must be 1 to 128 characters');
    if (!['auto', 'zh', 'en'].includes(input.language)) throw new ProblemError('unsupported-language', `language must be auto, zh or en (got ${input.language})`);
    if (input.sourceKind === 'url' && !input.sourceUrl) throw new ProblemError('validation', 'a url submission needs source_url');
    // Where an upload lives follows from its id alone: a caller-supplied path could name another
    // video's file (or anything under the artifact store) and have it analysed for this owner.
    const sourcePath = input.sourceKind === 'upload' ? artifactPaths.source(input.videoId) : null;
    const outcome = await withTransaction(this.db, async (c): Promise<{ id: string; inserted: boolean }> => {
      // One owner's Submits run one at a time from here to the commit: the quota counts below and the
      // insert that would exceed them cannot interleave with another Submit of the same key.
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [OWNER_SUBMIT_LOCK, input.owner]);
      if (input.idempotencyKey) {
        const existing = await c.query<{ id: string }>('SELECT id FROM videos WHERE owner = $1 AND idempotency_key = $2', [input.owner, input.idempotencyKey]);
        if (existing.rows[0]) return { id: existing.rows[0].id, inserted: false };
      }
      // The same id again is the gateway retrying a Submit whose reply it lost: answer that video.
      const taken = await c.query<{ owner: string }>('SELECT owner FROM videos WHERE id = $1', [input.videoId]);
      if (taken.rows[0]) {
        if (taken.rows[0].owner !== input.owner) throw new ProblemError('conflict', 'this video id is taken');
        return { id: input.videoId, inserted: false };
      }
      const tomb = await c.query<{ owner: string }>('SELECT owner FROM video_tombstones WHERE id = $1', [input.videoId]);
      if (tomb.rows[0]) {
        if (tomb.rows[0].owner === input.owner) throw new ProblemError('gone', `video ${input.videoId} was erased; submit it under a new id`);
        throw new ProblemError('conflict', 'this video id is taken');
      }
      await this.checkQuota(c, input.owner);
      const ins = await c.query(
        `INSERT INTO videos (id, owner, status, language, source_kind, source_path, source_url, filename, content_type, size_bytes, callback_url, metadata, idempotency_key, transcript)
         VALUES ($1,$2,'queued',$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)
         ON CONFLICT DO NOTHING`,
        [input.videoId, input.owner, input.language, input.sourceKind, sourcePath, input.sourceUrl || null, input.filename || null, input.contentType || null, input.sizeBytes || null, input.callbackUrl || null, JSON.stringify(input.metadata ?? {}), input.idempotencyKey || null, input.transcript || null],
      );
      // The owner lock rules out a same-owner race; what is left is another owner's concurrent
      // Submit of the same id (only a hostile caller picks ids that collide).
      if (ins.rowCount === 0) throw new ProblemError('conflict', 'this video id is taken');
      for (const name of Object.keys(initialSnapshot().stages)) {
        await c.query(`INSERT INTO stages (video_id, name, state) VALUES ($1, $2, 'pending') ON CONFLICT DO NOTHING`, [input.videoId, name]);
      }
      return { id: input.videoId, inserted: true };
    });
    const { id } = outcome;
    if (outcome.inserted) this.metrics.videos.inc({ status: 'queued' });
    if (id === input.videoId) {
      // Committed = accepted, whatever Redis does now: the enqueue is bounded, and a failed or slow
      // one is left to the reconciler, which re-derives the media job from the row. Failing Submit
      // here would make the gateway answer 503 (and keep the upload) for a video that will be analysed.
      await bounded(this.advance(id), this.opts.submitEnqueueTimeoutMs, 'enqueue after submit').catch((err) =>
        this.log.warn({ err: (err as Error).message, videoId: id }, 'enqueue after submit failed or timed out; the reconciler will retry'),
      );
    }
    const doc = await this.get(input.owner, id);
    return { doc, created: id === input.videoId };
  }

  /**
   * Per-owner quotas, inside Submit's transaction and under its owner lock. Media seconds count what
   * the media stage measured (stages.media.output.durationSec); a video not probed yet counts
   * `unprobedVideoSeconds` while unfinished (it may still turn out that long) and nothing once it
   * finished without a duration (it failed before any decoding work). Erased videos keep counting
   * through erased_media_usage, so DELETE does not refill a key's hours.
   */
  private async checkQuota(c: PoolClient, owner: string): Promise<void> {
    const q = this.opts.quota;
    if (q.maxActiveVideos <= 0 && q.maxMediaHoursPerDay <= 0) return;
    const r = await c.query<{ unfinished: number; seconds: number }>(
      `SELECT count(*) FILTER (WHERE v.status IN ('queued','processing'))::int AS unfinished,
              COALESCE(sum(CASE
                WHEN jsonb_typeof(m.output->'durationSec') = 'number' THEN GREATEST(0, (m.output->>'durationSec')::float8)
                WHEN v.status IN ('queued','processing') THEN $2::float8
                ELSE 0 END) FILTER (WHERE v.created_at > now() - interval '24 hours'), 0)::float8
              + COALESCE((SELECT sum(seconds) FROM erased_media_usage WHERE owner = $1 AND created_at > now() - interval '24 hours'), 0)::float8 AS seconds
         FROM videos v LEFT JOIN stages m ON m.video_id = v.id AND m.name = 'media'
        WHERE v.owner = $1 AND (v.status IN ('queued','processing') OR v.created_at > now() - interval '24 hours')`,
      [owner, q.unprobedVideoSeconds],
    );
    const { unfinished, seconds } = r.rows[0] ?? { unfinished: 0, seconds: 0 };
    if (q.maxActiveVideos > 0 && unfinished >= q.maxActiveVideos) {
      throw new ProblemError('quota-exceeded', `at most ${q.maxActiveVideos} unfinished videos per API key (QUOTA_MAX_ACTIVE_VIDEOS); ${unfinished} are queued or processing`, {
        limit: 'QUOTA_MAX_ACTIVE_VIDEOS',
      });
    }
    const limitSec = q.maxMediaHoursPerDay * 3600;
    if (q.maxMediaHoursPerDay > 0 && seconds + q.unprobedVideoSeconds > limitSec) {
      const used = (seconds / 3600).toFixed(2);
      throw new ProblemError(
        'quota-exceeded',
        `at most ${q.maxMediaHoursPerDay} media hours per API key per 24 h (QUOTA_MAX_MEDIA_HOURS_PER_DAY); ${used} h are used or reserved, ` +
          `and a new video reserves ${(q.unprobedVideoSeconds / 3600).toFixed(2)} h until its duration is known`,
        { limit: 'QUOTA_MAX_MEDIA_HOURS_PER_DAY' },
      );
    }
  }

  async get(owner: string, id: string): Promise<VideoDocument> {
    const video = isVideoId(id) ? await loadVideo(this.db, id) : null;
    if (!video || video.owner !== owner) return this.missing(owner, id);
    return toDocument(video, await loadStages(this.db, id));
  }

  /**
   * No row for this owner: 'gone' when the owner erased it, else 'not-found' — the same answer whether
   * the id never existed or belongs (or belonged) to someone else, so ids cannot be probed.
   */
  private async missing(owner: string, id: string, q: Db | PoolClient = this.db): Promise<never> {
    const t = isVideoId(id) ? await q.query<{ owner: string }>('SELECT owner FROM video_tombstones WHERE id = $1', [id]) : { rows: [] };
    if (t.rows[0]?.owner === owner) throw new ProblemError('gone', `video ${id} was erased`);
    throw new ProblemError('not-found', `no video ${id}`);
  }

  async getResult(owner: string, id: string): Promise<unknown> {
    const doc = await this.get(owner, id);
    if (doc.status === 'succeeded') {
      const r = await this.db.query<{ result: unknown }>('SELECT result FROM results WHERE video_id = $1', [id]);
      if (r.rows[0]) return r.rows[0].result;
    }
    if (doc.status === 'failed' && doc.error) {
      const slug = doc.error.type.split('/').pop() ?? 'internal';
      throw new ProblemError(slug as never, doc.error.detail ?? 'failed', { videoStatus: 'failed' });
    }
    if (doc.status === 'canceled') throw new ProblemError('not-found', `video ${id} was canceled and erased`);
    throw new ProblemError('not-ready', `video ${id} is ${doc.status} (progress ${doc.progress})`);
  }

  /** What the workers pushed for this video (the evaluator's feature cache reads it). */
  async features(owner: string, id: string): Promise<unknown> {
    const doc = await this.get(owner, id);
    if (doc.status === 'canceled') throw new ProblemError('not-found', `video ${id} was canceled and erased`);
    const r = await this.db.query<{ modality: string; kind: string; shape: number[]; data: Buffer; items: unknown[]; model: string | null }>(
      'SELECT modality, kind, shape, data, items, model FROM embeddings WHERE video_id = $1 ORDER BY modality, kind',
      [id],
    );
    return {
      id,
      status: doc.status,
      tensors: r.rows.map((t) => ({ modality: t.modality, kind: t.kind, shape: t.shape, dtype: 'float32', encoding: 'base64-le', data: t.data.toString('base64'), items: t.items, model: t.model })),
    };
  }

  /**
   * DELETE, in any status: cancels what is in flight and erases everything of the video but a
   * tombstone (id, owner, erased_at). In two phases, so a crash anywhere loses nothing:
   * 1. one transaction replaces the video, its stages, result, transcript, metadata, URLs and delivery
   *    rows by the tombstone: from its commit on, every call about the video answers 'gone';
   * 2. purge() removes the copies outside this database (BullMQ jobs, the artifact store, fusion's
   *    embeddings). DELETE waits for it a bounded time; until it has fully succeeded the tombstone
   *    stays unpurged, and the reconciler runs it again.
   */
  async cancel(owner: string, id: string): Promise<ErasedVideoDocument> {
    const erasedAt = await withTransaction(this.db, async (c) => {
      const video = isVideoId(id) ? await loadVideo(c, id, true) : null;
      if (!video || video.owner !== owner) return this.missing(owner, id, c);
      return this.eraseRow(c, video);
    });
    this.metrics.videos.inc({ status: 'erased' });
    await bounded(this.purge(id), this.opts.eraseTimeoutMs, 'erase clean-up').catch((err) =>
      this.log.warn({ err: (err as Error).message, videoId: id }, 'erase clean-up incomplete; the reconciler will finish it'),
    );
    return { id, status: 'erased', erasedAt: erasedAt.toISOString() };
  }

  /** Phase 1 of erasure, inside the caller's transaction holding the video's row lock. */
  private async eraseRow(c: PoolClient, video: VideoRow): Promise<Date> {
    const id = video.id;
    const deliveries = await c.query<{ id: string; attempts: number }>('SELECT id, attempts FROM webhook_deliveries WHERE video_id = $1', [id]);
    // every attempt of the schedule was its own job (0 … attempts, the next one possibly queued)
    const webhookJobs = deliveries.rows.flatMap((d) => Array.from({ length: d.attempts + 1 }, (_, n) => webhookAttemptJobId(d.id, n)));
    const media = await c.query<{ seconds: number | null }>(
      `SELECT CASE WHEN jsonb_typeof(output->'durationSec') = 'number' THEN (output->>'durationSec')::float8 END AS seconds FROM stages WHERE video_id = $1 AND name = 'media'`,
      [id],
    );
    const seconds = media.rows[0]?.seconds ?? 0;
    if (seconds > 0 && Date.now() - video.created_at.getTime() < 24 * 3600_000) {
      await c.query('INSERT INTO erased_media_usage (owner, created_at, seconds) VALUES ($1, $2, $3)', [video.owner, video.created_at, seconds]);
    }
    const t = await c.query<{ erased_at: Date }>(
      `INSERT INTO video_tombstones (id, owner, webhook_jobs) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET purged_at = NULL, generation = video_tombstones.generation + 1,
         webhook_jobs = video_tombstones.webhook_jobs || EXCLUDED.webhook_jobs
       RETURNING erased_at`,
      [id, video.owner, webhookJobs],
    );
    await c.query('DELETE FROM webhook_deliveries WHERE video_id = $1', [id]);
    await c.query('DELETE FROM results WHERE video_id = $1', [id]);
    // stages go with it (ON DELETE CASCADE); the row held the transcript, metadata, filename and URLs
    await c.query('DELETE FROM videos WHERE id = $1', [id]);
    return t.rows[0].erased_at;
  }

  /**
   * Phase 2 of erasure: everything of an erased video outside PostgreSQL's rows. Idempotent; true when
   * all of it is gone and the tombstone was marked purged. A job a worker still holds cannot be removed
   * (BullMQ refuses while it is locked): the tombstone then stays unpurged and a later pass retries;
   * whatever that worker writes or reports meanwhile is swept when its completion lands (see transition).
   */
  async purge(id: string): Promise<boolean> {
    const t = await this.db.query<{ generation: number; webhook_jobs: string[]; purged_at: Date | null }>(
      'SELECT generation, webhook_jobs, purged_at FROM video_tombstones WHERE id = $1',
      [id],
    );
    const tomb = t.rows[0];
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
    const done = await this.db.query(
      `UPDATE video_tombstones SET purged_at = now(), webhook_jobs = '{}' WHERE id = $1 AND generation = $2 AND purged_at IS NULL`,
      [id, tomb.generation],
    );
    return (done.rowCount ?? 0) > 0;
  }

  /**
   * Something reported in for a video that has no row. If it was erased, the late work may have
   * written to the artifact store: sweep now, and re-open the tombstone so the next purge also removes
   * the jobs the late work left (its completion, still locked while it is being handled here).
   */
  private async lateWorkForErased(videoId: string): Promise<boolean> {
    if (!isVideoId(videoId)) return false;
    const r = await this.db.query('UPDATE video_tombstones SET purged_at = NULL, generation = generation + 1 WHERE id = $1', [videoId]);
    if ((r.rowCount ?? 0) === 0) return false;
    await this.store.removeVideo(videoId);
    return true;
  }

  /** Waiting stage jobs of a finished video are dropped; an active one finishes and is ignored. */
  private async removeWaitingJobs(id: string, stages = Object.keys(STAGE_QUEUES) as StageName[]): Promise<void> {
    for (const stage of stages) {
      await this.queues.get(STAGE_QUEUES[stage]).remove(stageJobId(id, stage)).catch(() => undefined);
    }
  }

  /** The completion job a stage's worker reported through, and its BullMQ state ('missing' when gone). */
  private async completionOf(id: string, stage: StageName): Promise<{ job: Job | undefined; state: string }> {
    const job = await this.queues.get(QUEUES.completions).getJob(completionJobId(id, stage));
    return { job, state: job ? await job.getState() : 'missing' };
  }

  /** Applies a worker's completion (at-least-once; idempotent). */
  async onCompletion(c: StageCompletion | (Omit<StageCompletion, 'outcome'> & { outcome: 'started' })): Promise<void> {
    let ev: StageEvent;
    if (c.outcome === 'started') ev = { kind: 'started', stage: c.stage, attempts: c.attempts };
    else if (c.outcome === 'done') ev = { kind: 'done', stage: c.stage, output: c.output ?? {} };
    else if (c.outcome === 'skipped') ev = { kind: 'skipped', stage: c.stage, reason: c.problem?.detail ?? 'skipped', output: c.output };
    else ev = { kind: 'failed', stage: c.stage, problemType: c.problem?.type ?? 'internal', detail: c.problem?.detail ?? 'stage failed' };
    await this.transition(c.videoId, ev);
  }

  /** One locked transaction per event, then the derived actions. */
  async transition(videoId: string, ev: StageEvent): Promise<void> {
    const outcome = await withTransaction(this.db, async (c) => {
      const video = await loadVideo(c, videoId, true);
      if (!video) return null;
      const snap = toSnapshot(video, await loadStages(c, videoId));
      const t = applyEvent(snap, ev);
      if (t.stageChanges.length === 0 && t.status === snap.status) return { video, becameTerminal: false };
      await writeStageChanges(c, videoId, t.stageChanges);
      await this.writeStatus(c, video, t.status, t.error);
      if (t.becameTerminal) await this.webhooks.scheduleForVideo(c, { ...video, status: t.status });
      return { video: { ...video, status: t.status }, becameTerminal: t.becameTerminal };
    });
    if (!outcome) {
      if (await this.lateWorkForErased(videoId)) this.log.info({ videoId, ev: ev.kind }, 'late work for an erased video ignored; what it wrote was swept');
      else this.log.warn({ videoId, ev: ev.kind }, 'event for unknown video ignored');
      return;
    }
    if (outcome.becameTerminal) this.metrics.videos.inc({ status: outcome.video.status });
    if (outcome.video.status === 'canceled') {
      // a row canceled before erasure existed (reconcile turns those into tombstones)
    } else if (isTerminalStatus(outcome.video.status)) {
      // Also on a replayed event that changes nothing: the run that committed the terminal state may
      // have died (or lost Redis) before these steps. Both are idempotent (fixed job ids).
      if (outcome.video.status === 'failed') await this.removeWaitingJobs(videoId);
      await this.webhooks.enqueuePendingForVideo(videoId);
    }
    await this.advance(videoId);
  }

  private async writeStatus(c: PoolClient, video: VideoRow, status: VideoRow['status'], error?: { type: string; detail: string; stage?: string }): Promise<void> {
    if (status === video.status && !error) {
      await c.query('UPDATE videos SET updated_at = now() WHERE id = $1', [video.id]);
      return;
    }
    await c.query(
      `UPDATE videos SET status = $2, updated_at = now(),
         started_at = CASE WHEN $2 = 'processing' AND started_at IS NULL THEN now() ELSE started_at END,
         finished_at = CASE WHEN $2 IN ('succeeded','failed','canceled') THEN now() ELSE finished_at END,
         error = COALESCE($3::jsonb, error)
       WHERE id = $1`,
      [video.id, status, error ? JSON.stringify(error) : null],
    );
  }

  /**
   * Derives and performs the next actions until nothing changes: skip what cannot run, enqueue what
   * can. Safe to call any number of times (restart recovery and the periodic reconciler call it).
   */
  async advance(videoId: string): Promise<void> {
    for (let guard = 0; guard < 10; guard++) {
      const video = await loadVideo(this.db, videoId);
      if (!video || isTerminalStatus(video.status)) return;
      const snap = toSnapshot(video, await loadStages(this.db, videoId));
      const actions = nextActions(snap);
      const skip = actions.find((a) => a.kind === 'skip');
      if (skip && skip.kind === 'skip') {
        await this.transition(videoId, { kind: 'skipped', stage: skip.stage, reason: skip.reason });
        return; // transition() calls advance() again
      }
      const enqueued: StageName[] = [];
      for (const a of actions) {
        if (a.kind !== 'enqueue') continue;
        await this.enqueue(video, a.stage, snap);
        enqueued.push(a.stage);
      }
      if (enqueued.length > 0) {
        // The snapshot was read without the row lock: a failure or cancel may have landed meanwhile,
        // and its cleanup would have missed what was just queued.
        const now = await loadVideo(this.db, videoId);
        if (now && (now.status === 'failed' || now.status === 'canceled')) await this.removeWaitingJobs(videoId, enqueued);
      }
      return;
    }
  }

  private async enqueue(video: VideoRow, stage: StageName, snap: ReturnType<typeof withChanges>): Promise<void> {
    const inputs: Record<string, string> = {};
    if (stage === 'media') {
      // derived, never the stored source_path: rows written before Submit derived it carry whatever
      // the caller sent
      if (video.source_kind === 'upload') inputs.source = artifactPaths.source(video.id);
      if (video.source_url) inputs.url = video.source_url;
    } else {
      inputs.media = artifactPaths.stageOutput(video.id, 'media');
      inputs.audio = artifactPaths.audio(video.id);
      if (stage === 'text') inputs.asr = artifactPaths.stageOutput(video.id, 'asr');
      if (stage === 'asr' && video.transcript) {
        // Written from the row here, not by Submit: nothing reads it before asr, and a file written
        // before Submit's checks would be left behind whenever they refused (or matched an earlier
        // video by idempotency key). Rewriting it on a re-dispatch is harmless (atomic, same content).
        inputs.transcript = artifactPaths.providedTranscript(video.id);
        await this.store.writeJson(inputs.transcript, { text: video.transcript, language: video.language });
      }
    }
    const asrLang = (snap.stages.asr.output as { language?: string } | null)?.language;
    const job: StageJob = {
      videoId: video.id,
      stage,
      language: (stage === 'text' && (asrLang === 'zh' || asrLang === 'en') ? asrLang : video.language) as StageJob['language'],
      inputs,
      enqueuedAt: Date.now(),
    };
    await this.queues.get(STAGE_QUEUES[stage]).add(stage, job, { jobId: stageJobId(video.id, stage) });
  }

  private async redispatch(videoId: string, stage: StageName): Promise<void> {
    const video = await loadVideo(this.db, videoId);
    if (!video || isTerminalStatus(video.status)) return;
    const snap = toSnapshot(video, await loadStages(this.db, videoId));
    // its completion may have been consumed since the caller looked: a finished stage is not re-run
    const state = snap.stages[stage].state;
    if (state !== 'pending' && state !== 'running') return;
    await this.enqueue(video, stage, snap);
  }

  /**
   * Privacy retention (DESIGN.md §8): raw media and frames of finished videos are erased once they
   * are older than the retention; results, transcripts and features stay until DELETE.
   */
  async eraseExpiredMedia(retentionHours: number): Promise<number> {
    if (retentionHours <= 0) return 0;
    const due = await this.db.query<{ id: string }>(
      `SELECT id FROM videos WHERE status IN ('succeeded','failed','canceled') AND media_erased_at IS NULL
         AND finished_at < now() - ($1::double precision * interval '1 hour') ORDER BY finished_at LIMIT 500`,
      [retentionHours],
    );
    for (const { id } of due.rows) {
      await this.store.removeMedia(id);
      await this.db.query('UPDATE videos SET media_erased_at = now() WHERE id = $1', [id]);
    }
    if (due.rowCount) this.log.info({ erased: due.rowCount, retentionHours }, 'raw media past retention erased');
    return due.rowCount ?? 0;
  }

  /**
   * Periodic and start-up recovery: re-derive actions for every video in flight (covers a crash
   * between commit and enqueue), and turn stage jobs that BullMQ gave up on — e.g. a worker killed
   * more often than maxStalledCount — into stage failures, so no video waits forever.
   */
  async reconcile(): Promise<{ videos: number; recovered: number }> {
    const rows = (await this.db.query<{ id: string }>(`SELECT id FROM videos WHERE status IN ('queued','processing') ORDER BY updated_at LIMIT 1000`)).rows;
    let recovered = 0;
    for (const { id } of rows) {
      try {
        await this.advance(id);
        const stages = await loadStages(this.db, id);
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
              await this.transition(id, { kind: 'failed', stage: s.name, problemType: 'model-error', detail: `${s.name} job gave up: ${job.failedReason ?? 'unknown reason'}` });
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
    return { videos: rows.length, recovered };
  }

  /**
   * The reconciler's erasure duties: finish tombstones whose clean-up did not complete (a crash, Redis
   * or fusion down, a job a worker held), and turn rows canceled before erasure existed into
   * tombstones (their metadata, URLs and transcript were still stored).
   */
  async reconcileErasures(): Promise<{ purged: number; pending: number; legacy: number }> {
    const legacy = (await this.db.query<{ id: string }>(`SELECT id FROM videos WHERE status = 'canceled' ORDER BY updated_at LIMIT 200`)).rows;
    for (const { id } of legacy) {
      await withTransaction(this.db, async (c) => {
        const video = await loadVideo(c, id, true);
        if (video && video.status === 'canceled') await this.eraseRow(c, video);
      });
    }
    const rows = (await this.db.query<{ id: string }>('SELECT id FROM video_tombstones WHERE purged_at IS NULL ORDER BY erased_at LIMIT 200')).rows;
    let purged = 0;
    for (const { id } of rows) {
      try {
        if (await this.purge(id)) purged++;
      } catch (err) {
        this.log.warn({ err: (err as Error).message, videoId: id }, 'erase clean-up failed; retrying next pass');
      }
    }
    return { purged, pending: rows.length - purged, legacy: legacy.length };
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
  async sweepOrphans(graceMs = this.opts.orphanGraceMs): Promise<{ dirs: number; temps: number }> {
    const names = (await this.store.listVideoDirs()).filter(isVideoId);
    let dirs = 0;
    let temps = 0;
    for (let i = 0; i < names.length; i += 500) {
      const chunk = names.slice(i, i + 500);
      const rows = await this.db.query<{ id: string; status: VideoRow['status'] }>('SELECT id, status FROM videos WHERE id = ANY($1)', [chunk]);
      const status = new Map(rows.rows.map((r) => [r.id, r.status]));
      for (const id of chunk) {
        const st = status.get(id);
        if (st === undefined) {
          const last = await this.store.lastActivity(id);
          if (last === null || Date.now() - last < graceMs) continue;
          // Checked again just before: a Submit that committed since the batch query keeps its upload.
          if (await loadVideo(this.db, id)) continue;
          await this.store.removeVideo(id);
          dirs++;
        } else if (isTerminalStatus(st)) {
          temps += await this.store.removeStaleTemps(id, graceMs);
        }
      }
    }
    await this.db.query(`DELETE FROM erased_media_usage WHERE created_at < now() - interval '24 hours'`);
    if (dirs || temps) this.log.info({ dirs, temps }, 'orphaned artifacts collected');
    return { dirs, temps };
  }
}
