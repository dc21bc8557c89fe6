import {
  type SubmitInput,
  ArtifactStore,
  ProblemError,
  QUEUES,
  STAGE_QUEUES,
  artifactPaths,
  completionJobId,
  stageJobId,
  withTransaction,
  type Db,
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
  ) {}

  async submit(input: SubmitInput): Promise<{ doc: VideoDocument; created: boolean }> {
    if (!['auto', 'zh', 'en'].includes(input.language)) throw new ProblemError('unsupported-language', `language must be auto, zh or en (got ${input.language})`);
    // Written before the row exists: once the row is committed, the asr stage may already look for it.
    if (input.transcript) {
      await this.store.writeJson(artifactPaths.providedTranscript(input.videoId), { text: input.transcript, language: input.language });
    }
    const created = await withTransaction(this.db, async (c) => {
      if (input.idempotencyKey) {
        const existing = await c.query<{ id: string }>('SELECT id FROM videos WHERE owner = $1 AND idempotency_key = $2', [input.owner, input.idempotencyKey]);
        if (existing.rows[0]) return existing.rows[0].id === input.videoId ? true : existing.rows[0].id;
      }
      const ins = await c.query(
        `INSERT INTO videos (id, owner, status, language, source_kind, source_path, source_url, filename, content_type, size_bytes, callback_url, metadata, idempotency_key, transcript)
         VALUES ($1,$2,'queued',$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)
         ON CONFLICT DO NOTHING`,
        [input.videoId, input.owner, input.language, input.sourceKind, input.sourcePath || null, input.sourceUrl || null, input.filename || null, input.contentType || null, input.sizeBytes || null, input.callbackUrl || null, JSON.stringify(input.metadata ?? {}), input.idempotencyKey || null, input.transcript || null],
      );
      if (ins.rowCount === 0) {
        // Lost a race on the idempotency key: answer with the winner.
        const again = await c.query<{ id: string }>('SELECT id FROM videos WHERE owner = $1 AND idempotency_key = $2', [input.owner, input.idempotencyKey]);
        if (again.rows[0]) return again.rows[0].id;
        return true;
      }
      for (const name of Object.keys(initialSnapshot().stages)) {
        await c.query(`INSERT INTO stages (video_id, name, state) VALUES ($1, $2, 'pending') ON CONFLICT DO NOTHING`, [input.videoId, name]);
      }
      return true;
    });
    const id = created === true ? input.videoId : created;
    if (created === true) {
      this.metrics.videos.inc({ status: 'queued' });
      // The video is accepted once committed: an enqueue failure (Redis hiccup) must not fail Submit,
      // or the gateway would discard an upload the reconciler is about to process.
      await this.advance(id).catch((err) => this.log.warn({ err, videoId: id }, 'enqueue after submit failed; the reconciler will retry'));
    }
    const doc = await this.get(input.owner, id);
    return { doc, created: created === true };
  }

  async get(owner: string, id: string): Promise<VideoDocument> {
    const video = await loadVideo(this.db, id);
    if (!video || video.owner !== owner) throw new ProblemError('not-found', `no video ${id}`);
    return toDocument(video, await loadStages(this.db, id));
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

  /** Cancels (if not finished) and erases media, features and result, keeping the status row. */
  async cancel(owner: string, id: string): Promise<VideoDocument> {
    const video = await loadVideo(this.db, id);
    if (!video || video.owner !== owner) throw new ProblemError('not-found', `no video ${id}`);
    await this.transition(id, { kind: 'cancel' });
    await this.erase(id);
    return this.get(owner, id);
  }

  /**
   * Erases a canceled video's media, features and result. Work already running when DELETE arrived
   * can still write outputs afterwards, so this runs again whenever such late work reports in.
   */
  private async erase(id: string): Promise<void> {
    await this.removeWaitingJobs(id);
    await this.db.query('DELETE FROM results WHERE video_id = $1', [id]);
    await this.db.query('DELETE FROM embeddings WHERE video_id = $1', [id]);
    await this.store.removeVideo(id);
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
      this.log.warn({ videoId, ev: ev.kind }, 'event for unknown video ignored');
      return;
    }
    if (outcome.becameTerminal) this.metrics.videos.inc({ status: outcome.video.status });
    if (outcome.video.status === 'canceled') {
      // late work of a canceled video reported in: whatever it wrote must go too
      if (ev.kind !== 'cancel') await this.erase(videoId);
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
      if (video.source_path) inputs.source = video.source_path;
      if (video.source_url) inputs.url = video.source_url;
    } else {
      inputs.media = artifactPaths.stageOutput(video.id, 'media');
      inputs.audio = artifactPaths.audio(video.id);
      if (stage === 'text') inputs.asr = artifactPaths.stageOutput(video.id, 'asr');
      if (stage === 'asr' && video.transcript) inputs.transcript = artifactPaths.providedTranscript(video.id);
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
}
