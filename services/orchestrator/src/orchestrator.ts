import {
  type SubmitInput,
  ArtifactStore,
  ContractError,
  ProblemError,
  STAGES,
  STAGE_OUTPUT_SCHEMAS,
  StageCompletionSchema,
  StageStartedSchema,
  artifactPaths,
  isLanguageOption,
  isVideoId,
  parseContract,
  parseRatingInput,
  withTransaction,
  type Db,
  type ErasedVideoDocument,
  type Logger,
  type MediaDocument,
  type Queues,
  type RatingDocument,
  type RatingsSummaryDocument,
  type ServiceMetrics,
  type StageName,
  type StageReport,
  type VideoDocument,
  type VideoListDocument,
} from '@omniaffect/core';
import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { Dispatcher } from './dispatcher';
import { Reconciler, type FusionForgetter } from './reconciler';
import * as repo from './repository';
import type { VideoRow } from './repository';
import { applyEvent, isTerminalStatus, nextActions, withChanges, type StageChange, type StageEvent, type VideoSnapshot } from './state-machine';
import type { WebhookService } from './webhooks';

export type { SubmitInput };

/** What the orchestrator needs from fusion, the owner of the embeddings (FusionClient in production). */
export interface FusionPort extends FusionForgetter {
  features(videoId: string): Promise<{ modality: string; kind: string; shape: number[]; data: Buffer; items: unknown[]; model: string | null }[]>;
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

/** A video as one event left it: the row and the snapshot of its stages, read once under its lock. */
interface Loaded {
  video: VideoRow;
  snap: VideoSnapshot;
}

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

/** A report off the completions queue as onCompletion reads it: well-formed, or the fields that broke its contract. */
type ReadReport = { ok: true; report: StageReport } | { ok: false; videoId: string | null; stage: StageName | null; started: boolean; fields: string[] };

/**
 * The field names of a ContractError's issues (each `<path>: <message>`, see parseContract): the
 * paths only, never a value or a message. Paths are made of the schemas' own keys and array
 * indices, so they never contain ': '.
 */
function contractFields(err: ContractError, under?: string): string[] {
  const paths = err.issues.map((issue) => {
    const p = issue.split(': ')[0] ?? '(root)';
    if (!under) return p;
    return p === '(root)' ? under : `${under}.${p}`;
  });
  return [...new Set(paths)];
}

/**
 * Checks a report against its contract (stage-contracts.ts): the envelope (StageStartedSchema or
 * StageCompletionSchema, chosen by `outcome` so a mismatch names fields rather than "invalid union"),
 * then the output against STAGE_OUTPUT_SCHEMAS: always with `done`, and with `skipped` when one is
 * sent. Lenient about keys it does not know (a newer worker during a rolling upgrade may add one);
 * what is stored is the report's own output, as runStageWorker checked and sent it.
 */
function readReport(raw: unknown): ReadReport {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const videoId = typeof r.videoId === 'string' && r.videoId !== '' ? r.videoId : null;
  const stage = (STAGES as readonly unknown[]).includes(r.stage) ? (r.stage as StageName) : null;
  const started = r.outcome === 'started';
  const broken = (err: unknown, under?: string): ReadReport => {
    if (!(err instanceof ContractError)) throw err;
    return { ok: false, videoId, stage, started, fields: contractFields(err, under) };
  };
  let report: StageReport;
  try {
    report = started ? parseContract(StageStartedSchema, raw, 'a started report') : parseContract(StageCompletionSchema, raw, 'a stage completion');
  } catch (err) {
    return broken(err);
  }
  if (report.outcome === 'done' || (report.outcome === 'skipped' && report.output !== undefined)) {
    try {
      parseContract(STAGE_OUTPUT_SCHEMAS[report.stage], report.output, `the ${report.stage} stage's output`);
    } catch (err) {
      return broken(err, 'output');
    }
    // the report's own object, not the parse (which drops keys this version does not know)
    report = { ...report, output: (raw as { output: Record<string, unknown> }).output };
  }
  return { ok: true, report };
}

const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;

/** The `next` cursor: opaque to clients (base64url), so its form can change without breaking them. */
const cursorOf = (p: repo.ListPosition): string => Buffer.from(`${p.createdMicros}.${p.id}`).toString('base64url');

function parseCursor(cursor: string): repo.ListPosition {
  const m = /^(\d{1,18})\.(.+)$/.exec(cursor.length <= 128 ? Buffer.from(cursor, 'base64url').toString('utf8') : '');
  if (!m || !isVideoId(m[2])) throw new ProblemError('validation', 'before must be the `next` cursor of a previous page');
  return { createdMicros: m[1], id: m[2] };
}

/**
 * How a rating names the model it rated: `name@version` of models.fusion in the stored result. A
 * result without a version (an old export) is named by its name alone; without models.fusion, 'unknown'.
 */
export function fusionModelName(fusion: { name?: unknown; version?: unknown } | null): string {
  const name = typeof fusion?.name === 'string' && fusion.name ? fusion.name : 'unknown';
  const version = typeof fusion?.version === 'string' || typeof fusion?.version === 'number' ? String(fusion.version) : '';
  return version ? `${name}@${version}` : name;
}

/**
 * The single writer of video state. Every change goes through `transition()`: lock the video row,
 * apply the event with the pure state machine, write, commit, then perform the derived actions
 * (through the Dispatcher). SQL lives in repository.ts; recovery, the second phase of erasure,
 * retention and the orphan sweep in the Reconciler (`this.reconciler`).
 */
export class Orchestrator {
  readonly dispatcher: Dispatcher;
  readonly reconciler: Reconciler;
  private readonly opts: OrchestratorOptions;

  constructor(
    private readonly db: Db,
    queues: Queues,
    store: ArtifactStore,
    private readonly webhooks: WebhookService,
    private readonly log: Logger,
    private readonly metrics: ServiceMetrics,
    private readonly fusion: FusionPort,
    opts: Partial<OrchestratorOptions> = {},
  ) {
    this.opts = { ...DEFAULT_ORCHESTRATOR_OPTIONS, ...opts, quota: { ...DEFAULT_ORCHESTRATOR_OPTIONS.quota, ...opts.quota } };
    this.store = store;
    this.dispatcher = new Dispatcher(queues, store);
    this.reconciler = new Reconciler(db, queues, store, this.dispatcher, fusion, this, log, this.opts.orphanGraceMs);
  }

  private readonly store: ArtifactStore;

  async submit(input: SubmitInput): Promise<{ doc: VideoDocument; created: boolean }> {
    // The id names a directory and BullMQ job ids; the owner scopes everything. Neither is trusted.
    if (!isVideoId(input.videoId)) throw new ProblemError('validation', 'video_id must be a lowercase UUID');
    if (!input.owner || input.owner.length > 128) throw new ProblemError('validation', 'owner must be 1 to 128 characters');
    if (!isLanguageOption(input.language)) throw new ProblemError('unsupported-language', `language must be auto, zh or en (got ${input.language})`);
    if (input.sourceKind === 'url' && !input.sourceUrl) throw new ProblemError('validation', 'a url submission needs source_url');
    // Where an upload lives follows from its id alone: a caller-supplied path could name another
    // video's file (or anything under the artifact store) and have it analysed for this owner.
    const sourcePath = input.sourceKind === 'upload' ? artifactPaths.source(input.videoId) : null;
    const outcome = await withTransaction(this.db, async (c): Promise<{ id: string; inserted: boolean }> => {
      // One owner's Submits run one at a time from here to the commit: the quota counts below and the
      // insert that would exceed them cannot interleave with another Submit of the same key.
      await repo.lockOwnerSubmits(c, input.owner);
      if (input.idempotencyKey) {
        const existing = await repo.videoIdByIdempotencyKey(c, input.owner, input.idempotencyKey);
        if (existing) return { id: existing, inserted: false };
      }
      // The same id again is the gateway retrying a Submit whose reply it lost: answer that video.
      const takenBy = await repo.videoOwner(c, input.videoId);
      if (takenBy !== null) {
        if (takenBy !== input.owner) throw new ProblemError('conflict', 'this video id is taken');
        return { id: input.videoId, inserted: false };
      }
      const erasedBy = await repo.tombstoneOwner(c, input.videoId);
      if (erasedBy !== null) {
        if (erasedBy === input.owner) throw new ProblemError('gone', `video ${input.videoId} was erased; submit it under a new id`);
        throw new ProblemError('conflict', 'this video id is taken');
      }
      await this.checkQuota(c, input.owner);
      const inserted = await repo.insertVideo(c, {
        id: input.videoId,
        owner: input.owner,
        language: input.language,
        sourceKind: input.sourceKind,
        sourcePath,
        sourceUrl: input.sourceUrl || null,
        filename: input.filename || null,
        contentType: input.contentType || null,
        sizeBytes: input.sizeBytes || null,
        callbackUrl: input.callbackUrl || null,
        metadata: input.metadata ?? {},
        idempotencyKey: input.idempotencyKey || null,
        transcript: input.transcript || null,
      });
      // The owner lock rules out a same-owner race; what is left is another owner's concurrent
      // Submit of the same id (only a hostile caller picks ids that collide).
      if (!inserted) throw new ProblemError('conflict', 'this video id is taken');
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
   * Per-owner quotas, inside Submit's transaction and under its owner lock (what counts: see
   * repository.quotaUsage). Erased videos keep counting, so DELETE does not refill a key's hours.
   */
  private async checkQuota(c: PoolClient, owner: string): Promise<void> {
    const q = this.opts.quota;
    if (q.maxActiveVideos <= 0 && q.maxMediaHoursPerDay <= 0) return;
    const { unfinished, seconds } = await repo.quotaUsage(c, owner, q.unprobedVideoSeconds);
    if (q.maxActiveVideos > 0 && unfinished >= q.maxActiveVideos) {
      throw new ProblemError(
        'quota-exceeded',
        `at most ${q.maxActiveVideos} unfinished videos per API key (QUOTA_MAX_ACTIVE_VIDEOS); ${unfinished} are queued or processing`,
        {
          limit: 'QUOTA_MAX_ACTIVE_VIDEOS',
        },
      );
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
    const video = isVideoId(id) ? await repo.loadVideo(this.db, id) : null;
    if (!video || video.owner !== owner) return this.missing(owner, id);
    return repo.toDocument(video, await repo.loadStages(this.db, id));
  }

  /**
   * The owner's videos, newest first, `limit` per page (1–100, 0 = 20). The cursor is the position of
   * the previous page's last video; it names nothing of another owner's (it is only compared with).
   */
  async listVideos(owner: string, limit: number, before: string): Promise<VideoListDocument> {
    if (!owner) throw new ProblemError('validation', 'owner is required');
    const n = limit === 0 ? DEFAULT_PAGE_SIZE : limit;
    if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE) throw new ProblemError('validation', `limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
    const position = before ? parseCursor(before) : null;
    // one row more than the page says whether there is a next page without a count
    const rows = await repo.listVideos(this.db, owner, n + 1, position);
    const page = rows.slice(0, n);
    const stages = await repo.loadStagesOf(
      this.db,
      page.map((v) => v.id),
    );
    const last = page.at(-1);
    return {
      videos: page.map((v) => repo.toDocument(v, stages.get(v.id) ?? [])),
      next: rows.length > n && last ? cursorOf({ createdMicros: last.created_micros, id: last.id }) : null,
    };
  }

  /**
   * Stores a reviewer's rating of a succeeded video's explanation, with the fusion model version that
   * made the result (ratings then compare model versions). The row is locked in share mode, so an
   * erasure running now either comes first (the rating answers gone) or waits and deletes the rating too.
   */
  async addRating(owner: string, id: string, reviewer: string, raw: unknown): Promise<RatingDocument> {
    const input = parseRatingInput(raw);
    if (!reviewer || reviewer.length > 128) throw new ProblemError('validation', 'reviewer must be 1 to 128 characters');
    return withTransaction(this.db, async (c) => {
      const video = isVideoId(id) ? await repo.lockVideoShared(c, id) : null;
      if (!video || video.owner !== owner) return this.missing(owner, id, c);
      if (video.status !== 'succeeded') {
        throw new ProblemError('not-ready', `video ${id} is ${video.status}: only a succeeded video's explanation can be rated`, { videoStatus: video.status });
      }
      return repo.insertRating(c, {
        id: randomUUID(),
        videoId: id,
        owner,
        reviewer,
        ...input,
        fusionModel: fusionModelName(await repo.resultFusionModel(c, id)),
      });
    });
  }

  async ratings(owner: string, id: string): Promise<{ ratings: RatingDocument[] }> {
    const doc = await this.get(owner, id);
    if (doc.status === 'canceled') throw new ProblemError('not-found', `video ${id} was canceled and erased`);
    return { ratings: await repo.ratingsOfVideo(this.db, id) };
  }

  async ratingsSummary(owner: string): Promise<RatingsSummaryDocument> {
    if (!owner) throw new ProblemError('validation', 'owner is required');
    return repo.ratingsSummary(this.db, owner);
  }

  /**
   * What the gateway needs to serve a video's source media. `signedLink`: the gateway verified a link it
   * signed for this id, which stands for the owner; an erased id is then 'gone' as it is to the owner.
   * `fileMissing`: the gateway found no file; the row is read with a share lock, which waits for a
   * retention erasure holding it (Reconciler.eraseExpiredMedia) and then sees its mark.
   */
  async media(owner: string, id: string, signedLink: boolean, fileMissing = false): Promise<MediaDocument> {
    const video = isVideoId(id) ? await repo.loadVideo(this.db, id, false, fileMissing) : null;
    if (!video || (!signedLink && video.owner !== owner)) {
      if (signedLink && isVideoId(id) && (await repo.tombstoneOwner(this.db, id)) !== null) throw new ProblemError('gone', `video ${id} was erased`);
      return this.missing(owner, id);
    }
    if (video.status === 'canceled') throw new ProblemError('not-found', `video ${id} was canceled and erased`);
    return {
      id,
      owner: video.owner,
      status: video.status,
      sourceKind: video.source_kind,
      contentType: video.content_type,
      mediaErasedAt: video.media_erased_at ? video.media_erased_at.toISOString() : null,
    };
  }

  /**
   * No row for this owner: 'gone' when the owner erased it, else 'not-found' — the same answer whether
   * the id never existed or belongs (or belonged) to someone else, so ids cannot be probed.
   */
  private async missing(owner: string, id: string, q: repo.Queryable = this.db): Promise<never> {
    const erasedBy = isVideoId(id) ? await repo.tombstoneOwner(q, id) : null;
    if (erasedBy === owner) throw new ProblemError('gone', `video ${id} was erased`);
    throw new ProblemError('not-found', `no video ${id}`);
  }

  async getResult(owner: string, id: string): Promise<unknown> {
    const doc = await this.get(owner, id);
    if (doc.status === 'succeeded') {
      const result = await repo.loadResult(this.db, id);
      if (result !== null) return result;
    }
    if (doc.status === 'failed' && doc.error) {
      const slug = doc.error.type.split('/').pop() ?? 'internal';
      throw new ProblemError(slug as never, doc.error.detail ?? 'failed', { videoStatus: 'failed' });
    }
    if (doc.status === 'canceled') throw new ProblemError('not-found', `video ${id} was canceled and erased`);
    throw new ProblemError('not-ready', `video ${id} is ${doc.status} (progress ${doc.progress})`);
  }

  /**
   * What the workers pushed for this video (the evaluator's feature cache reads it). Fusion owns the
   * embeddings: they come through its GetFeatures, after this owner's access to the video is checked here.
   */
  async features(owner: string, id: string): Promise<unknown> {
    const doc = await this.get(owner, id);
    if (doc.status === 'canceled') throw new ProblemError('not-found', `video ${id} was canceled and erased`);
    const tensors = await this.fusion.features(id);
    return {
      id,
      status: doc.status,
      tensors: tensors.map((t) => ({
        modality: t.modality,
        kind: t.kind,
        shape: t.shape,
        dtype: 'float32',
        encoding: 'base64-le',
        data: t.data.toString('base64'),
        items: t.items,
        model: t.model,
      })),
    };
  }

  /**
   * DELETE, in any status: cancels what is in flight and erases everything of the video but a
   * tombstone (id, owner, erased_at). In two phases, so a crash anywhere loses nothing:
   * 1. one transaction replaces the video, its stages, result, transcript, metadata, URLs and delivery
   *    rows by the tombstone: from its commit on, every call about the video answers 'gone';
   * 2. Reconciler.purge removes the copies outside this database (BullMQ jobs, the artifact store,
   *    fusion's embeddings). DELETE waits for it a bounded time; until it has fully succeeded the
   *    tombstone stays unpurged, and the reconciler runs it again.
   */
  async cancel(owner: string, id: string): Promise<ErasedVideoDocument> {
    const erasedAt = await withTransaction(this.db, async (c) => {
      const video = isVideoId(id) ? await repo.loadVideo(c, id, true) : null;
      if (!video || video.owner !== owner) return this.missing(owner, id, c);
      return repo.eraseVideoRow(c, video);
    });
    this.metrics.videos.inc({ status: 'erased' });
    await bounded(this.reconciler.purge(id), this.opts.eraseTimeoutMs, 'erase clean-up').catch((err) =>
      this.log.warn({ err: (err as Error).message, videoId: id }, 'erase clean-up incomplete; the reconciler will finish it'),
    );
    return { id, status: 'erased', erasedAt: erasedAt.toISOString() };
  }

  /**
   * Something reported in for a video that has no row. If it was erased, the late work may have
   * written to the artifact store: sweep now, and re-open the tombstone so the next purge also removes
   * the jobs the late work left (its completion, still locked while it is being handled here).
   */
  private async lateWorkForErased(videoId: string): Promise<boolean> {
    if (!isVideoId(videoId)) return false;
    if (!(await repo.reopenTombstone(this.db, videoId))) return false;
    await this.store.removeVideo(videoId);
    return true;
  }

  /**
   * Applies a report off the completions queue (at-least-once; idempotent), parsed against its
   * contract first. A completion that breaks it is a bug in the worker that sent it: neither the
   * user's fault nor anything waiting heals, so it is logged (the stage and the field names, never
   * values: outputs carry the tenant's data) and fails the stage as 'model-error' instead of being
   * retried. A broken "started" report is advisory like any (losing one loses nothing): logged and
   * dropped, and the stage's completion still decides. A report naming no video or stage is logged
   * and dropped too: there is nothing to fail.
   */
  async onCompletion(raw: unknown): Promise<void> {
    const read = readReport(raw);
    if (!read.ok) {
      const { videoId, stage, started, fields } = read;
      const id = videoId && isVideoId(videoId) ? videoId : null;
      this.log.error({ videoId: id, stage, report: started ? 'started' : 'completion', fields }, 'stage report breaks its contract');
      if (started || !id || !stage) return;
      await this.transition(id, {
        kind: 'failed',
        stage,
        problemType: 'model-error',
        detail: `the ${stage} worker reported a malformed completion (fields: ${fields.join(', ')})`,
      });
      return;
    }
    const c = read.report;
    let ev: StageEvent;
    if (c.outcome === 'started') ev = { kind: 'started', stage: c.stage, attempts: c.attempts };
    else {
      const run = { startedAt: c.startedAt, attempts: c.attempts };
      if (c.outcome === 'done') ev = { kind: 'done', stage: c.stage, output: c.output ?? {}, run };
      else if (c.outcome === 'skipped') ev = { kind: 'skipped', stage: c.stage, reason: c.problem?.detail ?? 'skipped', output: c.output, run };
      else ev = { kind: 'failed', stage: c.stage, problemType: c.problem?.type ?? 'internal', detail: c.problem?.detail ?? 'stage failed', run };
    }
    await this.transition(c.videoId, ev);
  }

  /**
   * One locked transaction per event, then the derived actions. The stages the new state makes
   * skippable (no audio track → asr and audio-emotion) are skipped in the same transaction: a skip
   * is decided from the snapshot alone, so it needs no second lock and no second read. The snapshot
   * as committed is what advance() dispatches from.
   */
  async transition(videoId: string, ev: StageEvent): Promise<void> {
    const outcome = await withTransaction(this.db, async (c) => {
      const video = await repo.loadVideo(c, videoId, true);
      if (!video) return null;
      const before = repo.toSnapshot(video, await repo.loadStages(c, videoId));
      const t = applyEvent(before, ev);
      const changes: StageChange[] = [...t.stageChanges];
      let snap = withChanges(before, t);
      // at most one skip per stage
      for (let i = 0; i < Object.keys(snap.stages).length; i++) {
        const skip = nextActions(snap).find((a) => a.kind === 'skip');
        if (!skip || skip.kind !== 'skip') break;
        const s = applyEvent(snap, { kind: 'skipped', stage: skip.stage, reason: skip.reason });
        changes.push(...s.stageChanges);
        snap = { ...withChanges(snap, s), status: t.status };
      }
      if (changes.length === 0 && t.status === before.status) return { loaded: { video, snap }, becameTerminal: false };
      await repo.writeStageChanges(c, videoId, changes);
      await repo.writeStatus(c, video, t.status, t.error);
      if (t.becameTerminal) await this.webhooks.scheduleForVideo(c, { ...video, status: t.status });
      return { loaded: { video: { ...video, status: t.status }, snap }, becameTerminal: t.becameTerminal };
    });
    if (!outcome) {
      if (await this.lateWorkForErased(videoId)) this.log.info({ videoId, ev: ev.kind }, 'late work for an erased video ignored; what it wrote was swept');
      else this.log.warn({ videoId, ev: ev.kind }, 'event for unknown video ignored');
      return;
    }
    const { video } = outcome.loaded;
    if (outcome.becameTerminal) this.metrics.videos.inc({ status: video.status });
    if (video.status === 'canceled') {
      // a row canceled before erasure existed (reconcile turns those into tombstones)
    } else if (isTerminalStatus(video.status)) {
      // Also on a replayed event that changes nothing: the run that committed the terminal state may
      // have died (or lost Redis) before these steps. Both are idempotent (fixed job ids).
      if (video.status === 'failed') await this.dispatcher.removeWaitingJobs(videoId);
      await this.webhooks.enqueuePendingForVideo(videoId);
    }
    await this.advance(videoId, outcome.loaded);
  }

  /**
   * Derives and performs the next actions: skip what cannot run, enqueue what can. Safe to call any
   * number of times (Submit, restart recovery and the periodic reconciler call it without a snapshot;
   * transition passes the one it committed).
   */
  async advance(videoId: string, known?: Loaded): Promise<void> {
    let loaded = known;
    if (!loaded) {
      const video = await repo.loadVideo(this.db, videoId);
      if (!video) return;
      loaded = { video, snap: repo.toSnapshot(video, await repo.loadStages(this.db, videoId)) };
    }
    const { video, snap } = loaded;
    if (isTerminalStatus(video.status)) return;
    const actions = nextActions(snap);
    const skip = actions.find((a) => a.kind === 'skip');
    if (skip && skip.kind === 'skip') {
      // only without a fresh snapshot (transition applies skips itself): a state written before that
      await this.transition(videoId, { kind: 'skipped', stage: skip.stage, reason: skip.reason });
      return; // transition() calls advance() again
    }
    // side by side: media's completion unblocks three stages, and each add is a Redis round trip
    const enqueued = actions.flatMap((a) => (a.kind === 'enqueue' ? [a.stage] : []));
    await Promise.all(enqueued.map((stage) => this.dispatcher.enqueue(video, stage, snap)));
    if (enqueued.length > 0) {
      // The snapshot was read before the enqueue, outside any lock now: a failure or cancel may have
      // landed meanwhile, and its cleanup would have missed what was just queued.
      const now = await repo.videoStatus(this.db, videoId);
      if (now === 'failed' || now === 'canceled') await this.dispatcher.removeWaitingJobs(videoId, enqueued);
    }
  }
}
