import type { PoolClient } from 'pg';
import {
  STAGES,
  problemDocument,
  isProblemSlug,
  videoLinks,
  webhookAttemptJobId,
  type Db,
  type RatingDocument,
  type RatingScoreSummary,
  type RatingsSummaryDocument,
  type StageName,
  type VideoDocument,
} from '@omniaffect/core';
import { progress, type StageChange, type VideoSnapshot } from './state-machine';

/**
 * Every statement the orchestrator runs on its own tables (videos, stages, results, tombstones,
 * erased_media_usage, webhooks and their deliveries, ratings), as plain functions over a pool or a transaction's client: the callers decide
 * what runs in one transaction, this module only how each step is spelt in SQL. Embeddings are
 * fusion's and never read here.
 */
export type Queryable = Db | PoolClient;

export interface VideoRow {
  id: string;
  owner: string;
  status: VideoSnapshot['status'];
  language: string;
  source_kind: string;
  source_path: string | null;
  source_url: string | null;
  filename: string | null;
  content_type: string | null;
  size_bytes: string | null;
  callback_url: string | null;
  metadata: Record<string, unknown>;
  idempotency_key: string | null;
  transcript: string | null;
  media_erased_at: Date | null;
  error: { type: string; detail: string; stage?: string } | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface StageRow {
  video_id: string;
  name: StageName;
  state: VideoSnapshot['stages'][StageName]['state'];
  reason: string | null;
  output: Record<string, unknown> | null;
  attempts: number;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
}

export async function loadVideo(q: Queryable, id: string, forUpdate = false, forShare = false): Promise<VideoRow | null> {
  const r = await q.query<VideoRow>(`SELECT * FROM videos WHERE id = $1${forUpdate ? ' FOR UPDATE' : forShare ? ' FOR SHARE' : ''}`, [id]);
  return r.rows[0] ?? null;
}

export async function loadStages(q: Queryable, id: string): Promise<StageRow[]> {
  return (await q.query<StageRow>('SELECT * FROM stages WHERE video_id = $1', [id])).rows;
}

export function toSnapshot(video: VideoRow, stages: StageRow[]): VideoSnapshot {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const snap = { status: video.status, stages: {} } as VideoSnapshot;
  for (const name of STAGES) {
    const s = byName.get(name);
    snap.stages[name] = { state: s?.state ?? 'pending', reason: s?.reason ?? null, output: s?.output ?? null, attempts: s?.attempts ?? 0 };
  }
  return snap;
}

/**
 * Stage times are clock_timestamp(), the moment the row is written under the video's lock,
 * not now(), the start of the transaction: after a restart the queued "started" and "done" reports
 * of one stage are applied concurrently, and a "done" whose transaction began first but got the lock
 * second would have stamped a finish before the start (a negative duration that failed the result's
 * schema and left the video processing: fault matrix, SIGKILL of the orchestrator). The video's own
 * times stay now(): its webhook rows are stamped in the same transaction and compared with them.
 */
export async function writeStageChanges(q: Queryable, videoId: string, changes: StageChange[]): Promise<void> {
  for (const c of changes) {
    await q.query(
      `UPDATE stages SET state = $3,
         reason = CASE WHEN $4::boolean THEN $5 ELSE reason END,
         output = CASE WHEN $6::boolean THEN $7::jsonb ELSE output END,
         attempts = GREATEST(attempts, COALESCE($8, attempts)),
         -- The server's clock under the video's lock when a "started" report arrives; a run too short to
         -- send one gets the worker's own start from its completion, never later than now.
         started_at = CASE
           WHEN started_at IS NOT NULL THEN started_at
           WHEN $3 = 'running' THEN clock_timestamp()
           WHEN $9::float8 IS NOT NULL THEN LEAST(to_timestamp($9::float8 / 1000), clock_timestamp())
           ELSE NULL END,
         finished_at = CASE WHEN $3 IN ('done','failed','skipped') THEN clock_timestamp() ELSE finished_at END,
         updated_at = now()
       WHERE video_id = $1 AND name = $2`,
      [
        videoId,
        c.stage,
        c.state,
        c.reason !== undefined,
        c.reason ?? null,
        c.output !== undefined,
        c.output === undefined ? null : JSON.stringify(c.output),
        c.attempts ?? null,
        c.startedAt ?? null,
      ],
    );
  }
}

export function toDocument(video: VideoRow, stages: StageRow[]): VideoDocument {
  const snap = toSnapshot(video, stages);
  const byName = new Map(stages.map((s) => [s.name, s]));
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  const err = video.error;
  return {
    id: video.id,
    status: video.status,
    language: video.language,
    createdAt: video.created_at.toISOString(),
    updatedAt: video.updated_at.toISOString(),
    startedAt: iso(video.started_at),
    finishedAt: iso(video.finished_at),
    source: {
      kind: video.source_kind,
      filename: video.filename,
      contentType: video.content_type,
      sizeBytes: video.size_bytes === null ? null : Number(video.size_bytes),
      url: video.source_url,
    },
    metadata: video.metadata,
    progress: Math.round(progress(snap) * 1000) / 1000,
    stages: Object.fromEntries(
      STAGES.map((name) => {
        const s = byName.get(name);
        return [
          name,
          {
            state: snap.stages[name].state,
            reason: s?.reason ?? null,
            attempts: s?.attempts ?? 0,
            startedAt: iso(s?.started_at ?? null),
            finishedAt: iso(s?.finished_at ?? null),
          },
        ];
      }),
    ),
    error: err
      ? problemDocument(isProblemSlug(err.type) ? err.type : 'internal', err.detail, `/v1/videos/${video.id}`, err.stage ? { stage: err.stage } : {})
      : null,
    links: videoLinks(video.id),
  };
}

// ------------------------------------------------------------------------------------------ listing

/** A position in the newest-first list: the last row's created_at in microseconds since the epoch (exact, unlike a JS Date) and its id. */
export interface ListPosition {
  createdMicros: string;
  id: string;
}

/**
 * One page of an owner's videos, newest first, strictly after `before` (keyset pagination: stable while
 * videos are added, and each page costs an index range scan however deep it is). Rows canceled before
 * erasure existed are erasures in waiting (reconcileErasures): never listed.
 */
export async function listVideos(q: Queryable, owner: string, limit: number, before: ListPosition | null): Promise<(VideoRow & { created_micros: string })[]> {
  const r = await q.query<VideoRow & { created_micros: string }>(
    `SELECT *, (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_micros FROM videos
      WHERE owner = $1 AND status <> 'canceled'
        AND ($2::bigint IS NULL OR (created_at, id) < (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::text))
      ORDER BY created_at DESC, id DESC LIMIT $4`,
    [owner, before?.createdMicros ?? null, before?.id ?? null, limit],
  );
  return r.rows;
}

/** The stages of several videos in one query, by video id. */
export async function loadStagesOf(q: Queryable, ids: string[]): Promise<Map<string, StageRow[]>> {
  const byVideo = new Map<string, StageRow[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return byVideo;
  for (const s of (await q.query<StageRow>('SELECT * FROM stages WHERE video_id = ANY($1)', [ids])).rows) byVideo.get(s.video_id)?.push(s);
  return byVideo;
}

// ------------------------------------------------------------------------------------------ Submit

/** Advisory-lock namespace serialising one owner's Submits, so a quota check and its insert are one step. */
const OWNER_SUBMIT_LOCK = 0x0a11_0001;

/** Holds the owner's Submit lock until the caller's transaction ends. */
export async function lockOwnerSubmits(c: PoolClient, owner: string): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [OWNER_SUBMIT_LOCK, owner]);
}

export async function videoIdByIdempotencyKey(q: Queryable, owner: string, key: string): Promise<string | null> {
  return (await q.query<{ id: string }>('SELECT id FROM videos WHERE owner = $1 AND idempotency_key = $2', [owner, key])).rows[0]?.id ?? null;
}

export async function videoOwner(q: Queryable, id: string): Promise<string | null> {
  return (await q.query<{ owner: string }>('SELECT owner FROM videos WHERE id = $1', [id])).rows[0]?.owner ?? null;
}

export async function tombstoneOwner(q: Queryable, id: string): Promise<string | null> {
  return (await q.query<{ owner: string }>('SELECT owner FROM video_tombstones WHERE id = $1', [id])).rows[0]?.owner ?? null;
}

/**
 * What counts against an owner's quotas: unfinished videos, and media seconds of the last 24 h — the
 * durations the media stage measured (stages.media.output.durationSec); a video not probed yet counts
 * `unprobedSeconds` while unfinished and nothing once it finished without a duration; erased videos
 * keep counting through erased_media_usage.
 */
export async function quotaUsage(q: Queryable, owner: string, unprobedSeconds: number): Promise<{ unfinished: number; seconds: number }> {
  const r = await q.query<{ unfinished: number; seconds: number }>(
    `SELECT count(*) FILTER (WHERE v.status IN ('queued','processing'))::int AS unfinished,
            COALESCE(sum(CASE
              WHEN jsonb_typeof(m.output->'durationSec') = 'number' THEN GREATEST(0, (m.output->>'durationSec')::float8)
              WHEN v.status IN ('queued','processing') THEN $2::float8
              ELSE 0 END) FILTER (WHERE v.created_at > now() - interval '24 hours'), 0)::float8
            + COALESCE((SELECT sum(seconds) FROM erased_media_usage WHERE owner = $1 AND created_at > now() - interval '24 hours'), 0)::float8 AS seconds
       FROM videos v LEFT JOIN stages m ON m.video_id = v.id AND m.name = 'media'
      WHERE v.owner = $1 AND (v.status IN ('queued','processing') OR v.created_at > now() - interval '24 hours')`,
    [owner, unprobedSeconds],
  );
  return r.rows[0] ?? { unfinished: 0, seconds: 0 };
}

export interface NewVideo {
  id: string;
  owner: string;
  language: string;
  sourceKind: string;
  sourcePath: string | null;
  sourceUrl: string | null;
  filename: string | null;
  contentType: string | null;
  sizeBytes: number | null;
  callbackUrl: string | null;
  metadata: Record<string, unknown>;
  idempotencyKey: string | null;
  transcript: string | null;
}

/** Inserts a queued video with its stages pending; false when the id was taken meanwhile. */
export async function insertVideo(c: PoolClient, v: NewVideo): Promise<boolean> {
  const ins = await c.query(
    `INSERT INTO videos (id, owner, status, language, source_kind, source_path, source_url, filename, content_type, size_bytes, callback_url, metadata, idempotency_key, transcript)
     VALUES ($1,$2,'queued',$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)
     ON CONFLICT DO NOTHING`,
    [
      v.id,
      v.owner,
      v.language,
      v.sourceKind,
      v.sourcePath,
      v.sourceUrl,
      v.filename,
      v.contentType,
      v.sizeBytes,
      v.callbackUrl,
      JSON.stringify(v.metadata),
      v.idempotencyKey,
      v.transcript,
    ],
  );
  if (ins.rowCount === 0) return false;
  // one statement for every stage: a round trip each was a fifth of a submit's statements
  await c.query(`INSERT INTO stages (video_id, name, state) SELECT $1, unnest($2::text[]), 'pending' ON CONFLICT DO NOTHING`, [v.id, [...STAGES]]);
  return true;
}

// -------------------------------------------------------------------------------------- transitions

export async function writeStatus(
  c: PoolClient,
  video: VideoRow,
  status: VideoRow['status'],
  error?: { type: string; detail: string; stage?: string },
): Promise<void> {
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

/** Just the status, for re-checks that need nothing else of the row. */
export async function videoStatus(q: Queryable, id: string): Promise<VideoRow['status'] | null> {
  return (await q.query<{ status: VideoRow['status'] }>('SELECT status FROM videos WHERE id = $1', [id])).rows[0]?.status ?? null;
}

// ------------------------------------------------------------------------------------------ results

export async function loadResult(q: Queryable, id: string): Promise<unknown | null> {
  const r = await q.query<{ result: unknown }>('SELECT result FROM results WHERE video_id = $1', [id]);
  return r.rows[0] ? r.rows[0].result : null;
}

/** Stores the result only while the video is still processing: a DELETE that landed meanwhile must not be undone. */
export async function storeResultWhileProcessing(q: Queryable, id: string, result: unknown): Promise<void> {
  await q.query(
    `INSERT INTO results (video_id, result) SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM videos WHERE id = $1 AND status = 'processing')
     ON CONFLICT (video_id) DO UPDATE SET result = EXCLUDED.result`,
    [id, JSON.stringify(result)],
  );
}

// ------------------------------------------------------------------------------------------ ratings

interface RatingRow {
  id: string;
  video_id: string;
  clarity: number;
  relevance: number;
  comment: string | null;
  fusion_model: string;
  created_at: Date;
}

const toRating = (r: RatingRow): RatingDocument => ({
  id: r.id,
  videoId: r.video_id,
  clarity: r.clarity,
  relevance: r.relevance,
  comment: r.comment,
  fusionModel: r.fusion_model,
  createdAt: r.created_at.toISOString(),
});

/** Takes the video's row lock in share mode: an erasure (which locks it for update) waits for the rating, then deletes it with the row. */
export async function lockVideoShared(c: PoolClient, id: string): Promise<VideoRow | null> {
  return (await c.query<VideoRow>('SELECT * FROM videos WHERE id = $1 FOR SHARE', [id])).rows[0] ?? null;
}

/** The stored result's models.fusion, without reading the whole result document into the process. */
export async function resultFusionModel(q: Queryable, id: string): Promise<{ name?: unknown; version?: unknown } | null> {
  const r = await q.query<{ fusion: { name?: unknown; version?: unknown } | null }>(
    `SELECT result->'models'->'fusion' AS fusion FROM results WHERE video_id = $1`,
    [id],
  );
  return r.rows[0]?.fusion ?? null;
}

export async function insertRating(
  q: Queryable,
  r: { id: string; videoId: string; owner: string; reviewer: string; clarity: number; relevance: number; comment: string | null; fusionModel: string },
): Promise<RatingDocument> {
  const ins = await q.query<RatingRow>(
    `INSERT INTO ratings (id, video_id, owner, reviewer, clarity, relevance, comment, fusion_model) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
     RETURNING id, video_id, clarity, relevance, comment, fusion_model, created_at`,
    [r.id, r.videoId, r.owner, r.reviewer, r.clarity, r.relevance, r.comment, r.fusionModel],
  );
  return toRating(ins.rows[0]);
}

export async function ratingsOfVideo(q: Queryable, videoId: string): Promise<RatingDocument[]> {
  const r = await q.query<RatingRow>(
    `SELECT id, video_id, clarity, relevance, comment, fusion_model, created_at FROM ratings WHERE video_id = $1 ORDER BY created_at DESC, id DESC`,
    [videoId],
  );
  return r.rows.map(toRating);
}

/** count(*) per score value 1..5 of one column, in the aggregate's SELECT list (the column names are constants). */
const histogram = (col: 'clarity' | 'relevance') => `ARRAY[${[1, 2, 3, 4, 5].map((v) => `count(*) FILTER (WHERE ${col} = ${v})`).join(', ')}]::int[]`;

/** Per fusion model version over the owner's ratings: count, mean, median and histogram of each score. */
export async function ratingsSummary(q: Queryable, owner: string): Promise<RatingsSummaryDocument> {
  const r = await q.query<{
    fusion_model: string;
    count: number;
    clarity_mean: number;
    clarity_median: number;
    clarity_histogram: number[];
    relevance_mean: number;
    relevance_median: number;
    relevance_histogram: number[];
  }>(
    `SELECT fusion_model, count(*)::int AS count,
            avg(clarity)::float8 AS clarity_mean, percentile_cont(0.5) WITHIN GROUP (ORDER BY clarity)::float8 AS clarity_median,
            ${histogram('clarity')} AS clarity_histogram,
            avg(relevance)::float8 AS relevance_mean, percentile_cont(0.5) WITHIN GROUP (ORDER BY relevance)::float8 AS relevance_median,
            ${histogram('relevance')} AS relevance_histogram
       FROM ratings WHERE owner = $1 GROUP BY fusion_model ORDER BY fusion_model`,
    [owner],
  );
  const score = (mean: number, median: number, h: number[]): RatingScoreSummary => ({
    mean,
    median,
    histogram: [h[0] ?? 0, h[1] ?? 0, h[2] ?? 0, h[3] ?? 0, h[4] ?? 0],
  });
  return {
    models: r.rows.map((row) => ({
      fusionModel: row.fusion_model,
      count: row.count,
      clarity: score(row.clarity_mean, row.clarity_median, row.clarity_histogram),
      relevance: score(row.relevance_mean, row.relevance_median, row.relevance_histogram),
    })),
  };
}

// ------------------------------------------------------------------------------------------ erasure

/**
 * Phase 1 of erasure, inside the caller's transaction holding the video's row lock: the video, its
 * stages, result, ratings and delivery rows are replaced by a tombstone; the media seconds still inside the
 * quota window are kept without the id; the tombstone records the webhook jobs purge() must remove.
 */
export async function eraseVideoRow(c: PoolClient, video: VideoRow): Promise<Date> {
  const id = video.id;
  const deliveries = await c.query<{ id: string; attempts: number }>('SELECT id, attempts FROM webhook_deliveries WHERE video_id = $1', [id]);
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
    // every attempt of the schedule was its own job (0 … attempts, the next one possibly queued)
    [id, video.owner, deliveries.rows.flatMap((d) => Array.from({ length: d.attempts + 1 }, (_, n) => webhookAttemptJobId(d.id, n)))],
  );
  await c.query('DELETE FROM webhook_deliveries WHERE video_id = $1', [id]);
  await c.query('DELETE FROM results WHERE video_id = $1', [id]);
  // reviewers' comments are the tenant's text too; the foreign key's cascade would also take them
  await c.query('DELETE FROM ratings WHERE video_id = $1', [id]);
  // stages go with it (ON DELETE CASCADE); the row held the transcript, metadata, filename and URLs
  await c.query('DELETE FROM videos WHERE id = $1', [id]);
  return t.rows[0].erased_at;
}

export interface TombstoneRow {
  generation: number;
  webhook_jobs: string[];
  purged_at: Date | null;
}

export async function loadTombstone(q: Queryable, id: string): Promise<TombstoneRow | null> {
  return (await q.query<TombstoneRow>('SELECT generation, webhook_jobs, purged_at FROM video_tombstones WHERE id = $1', [id])).rows[0] ?? null;
}

/** Marks the tombstone purged, only if nothing re-opened it since `generation` was read. */
export async function markPurged(q: Queryable, id: string, generation: number): Promise<boolean> {
  const done = await q.query(`UPDATE video_tombstones SET purged_at = now(), webhook_jobs = '{}' WHERE id = $1 AND generation = $2 AND purged_at IS NULL`, [
    id,
    generation,
  ]);
  return (done.rowCount ?? 0) > 0;
}

/** Re-opens a tombstone for another purge (late work came in); false when the id has none. */
export async function reopenTombstone(q: Queryable, id: string): Promise<boolean> {
  const r = await q.query('UPDATE video_tombstones SET purged_at = NULL, generation = generation + 1 WHERE id = $1', [id]);
  return (r.rowCount ?? 0) > 0;
}

export async function unpurgedTombstoneIds(q: Queryable, limit: number): Promise<string[]> {
  return (await q.query<{ id: string }>('SELECT id FROM video_tombstones WHERE purged_at IS NULL ORDER BY erased_at LIMIT $1', [limit])).rows.map((r) => r.id);
}

/** Rows canceled before erasure existed (they still hold metadata, URLs and transcript). */
export async function legacyCanceledIds(q: Queryable, limit: number): Promise<string[]> {
  return (await q.query<{ id: string }>(`SELECT id FROM videos WHERE status = 'canceled' ORDER BY updated_at LIMIT $1`, [limit])).rows.map((r) => r.id);
}

// ----------------------------------------------------------------------------------- reconciliation

export async function inFlightVideoIds(q: Queryable, limit: number): Promise<string[]> {
  return (await q.query<{ id: string }>(`SELECT id FROM videos WHERE status IN ('queued','processing') ORDER BY updated_at LIMIT $1`, [limit])).rows.map(
    (r) => r.id,
  );
}

export async function statusesOf(q: Queryable, ids: string[]): Promise<Map<string, VideoRow['status']>> {
  const rows = await q.query<{ id: string; status: VideoRow['status'] }>('SELECT id, status FROM videos WHERE id = ANY($1)', [ids]);
  return new Map(rows.rows.map((r) => [r.id, r.status]));
}

export async function deleteExpiredMediaUsage(q: Queryable): Promise<void> {
  await q.query(`DELETE FROM erased_media_usage WHERE created_at < now() - interval '24 hours'`);
}

/** Finished videos whose raw media is older than the retention and not erased yet. */
export async function dueForMediaRetention(q: Queryable, retentionHours: number, limit: number): Promise<string[]> {
  const due = await q.query<{ id: string }>(
    `SELECT id FROM videos WHERE status IN ('succeeded','failed','canceled') AND media_erased_at IS NULL
       AND finished_at < now() - ($1::double precision * interval '1 hour') ORDER BY finished_at LIMIT $2`,
    [retentionHours, limit],
  );
  return due.rows.map((r) => r.id);
}

export async function markMediaErased(q: Queryable, id: string): Promise<void> {
  await q.query('UPDATE videos SET media_erased_at = now() WHERE id = $1', [id]);
}

// ----------------------------------------------------------------------------------------- webhooks

/** Advisory-lock namespace serialising one owner's CreateWebhook calls (count, then insert). */
const OWNER_WEBHOOK_LOCK = 0x0a11_0002;

export interface DeliveryRow {
  id: string;
  webhook_id: string | null;
  target_url: string;
  video_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: Date | null;
  created_at: Date;
}

export async function lockOwnerWebhooks(c: PoolClient, owner: string): Promise<void> {
  await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [OWNER_WEBHOOK_LOCK, owner]);
}

export async function countActiveWebhooks(q: Queryable, owner: string): Promise<number> {
  return (await q.query<{ n: number }>('SELECT count(*)::int AS n FROM webhooks WHERE owner = $1 AND deleted_at IS NULL', [owner])).rows[0].n;
}

export async function insertWebhook(q: Queryable, w: { id: string; owner: string; url: string; events: string[]; secret: string }): Promise<Date> {
  const r = await q.query<{ created_at: Date }>('INSERT INTO webhooks (id, owner, url, events, secret) VALUES ($1,$2,$3,$4,$5) RETURNING created_at', [
    w.id,
    w.owner,
    w.url,
    w.events,
    w.secret,
  ]);
  return r.rows[0].created_at;
}

export async function activeWebhooks(q: Queryable, owner: string): Promise<{ id: string; url: string; events: string[]; created_at: Date }[]> {
  return (
    await q.query<{ id: string; url: string; events: string[]; created_at: Date }>(
      'SELECT id, url, events, created_at FROM webhooks WHERE owner = $1 AND deleted_at IS NULL ORDER BY created_at',
      [owner],
    )
  ).rows;
}

/** false when the owner has no such active subscription */
export async function softDeleteWebhook(q: Queryable, owner: string, id: string): Promise<boolean> {
  const r = await q.query('UPDATE webhooks SET deleted_at = now() WHERE id = $1 AND owner = $2 AND deleted_at IS NULL', [id, owner]);
  return (r.rowCount ?? 0) > 0;
}

export async function webhookOwnedBy(q: Queryable, id: string, owner: string): Promise<boolean> {
  return ((await q.query('SELECT 1 FROM webhooks WHERE id = $1 AND owner = $2', [id, owner])).rowCount ?? 0) > 0;
}

export async function deliveriesOfWebhook(q: Queryable, webhookId: string, limit: number): Promise<DeliveryRow[]> {
  return (await q.query<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC LIMIT $2', [webhookId, limit])).rows;
}

export async function subscriptionsFor(q: Queryable, owner: string, eventType: string): Promise<{ id: string; url: string }[]> {
  return (
    await q.query<{ id: string; url: string }>('SELECT id, url FROM webhooks WHERE owner = $1 AND deleted_at IS NULL AND $2 = ANY(events)', [owner, eventType])
  ).rows;
}

export async function insertPendingDelivery(
  q: Queryable,
  d: { id: string; webhookId: string | null; targetUrl: string; videoId: string; eventType: string; payload: unknown },
): Promise<void> {
  await q.query(
    `INSERT INTO webhook_deliveries (id, webhook_id, target_url, video_id, event_type, payload, status, next_attempt_at)
     VALUES ($1,$2,$3,$4,$5,$6,'pending', now())`,
    [d.id, d.webhookId, d.targetUrl, d.videoId, d.eventType, JSON.stringify(d.payload)],
  );
}

export async function pendingDeliveriesOfVideo(q: Queryable, videoId: string): Promise<DeliveryRow[]> {
  return (await q.query<DeliveryRow>(`SELECT * FROM webhook_deliveries WHERE video_id = $1 AND status = 'pending'`, [videoId])).rows;
}

/** Pending deliveries whose attempt was due over a minute ago (their job may have vanished). */
export async function overdueDeliveries(q: Queryable, limit: number): Promise<DeliveryRow[]> {
  return (
    await q.query<DeliveryRow>(
      `SELECT * FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at < now() - interval '1 minute'
       ORDER BY next_attempt_at LIMIT $1`,
      [limit],
    )
  ).rows;
}

/** One delivery with what an attempt needs: its subscription's secret and state, and the video's owner. */
export async function deliveryForAttempt(
  q: Queryable,
  id: string,
): Promise<(DeliveryRow & { secret: string | null; webhook_deleted_at: Date | null; video_owner: string | null }) | null> {
  const r = await q.query<DeliveryRow & { secret: string | null; webhook_deleted_at: Date | null; video_owner: string | null }>(
    `SELECT d.*, w.secret, w.deleted_at AS webhook_deleted_at, v.owner AS video_owner
       FROM webhook_deliveries d LEFT JOIN webhooks w ON w.id = d.webhook_id LEFT JOIN videos v ON v.id = d.video_id
      WHERE d.id = $1`,
    [id],
  );
  return r.rows[0] ?? null;
}

export async function failDelivery(q: Queryable, id: string, error: string): Promise<void> {
  await q.query(`UPDATE webhook_deliveries SET status = 'failed', last_error = $2, next_attempt_at = NULL, updated_at = now() WHERE id = $1`, [id, error]);
}

/** Records one attempt's outcome; false when the row is gone (the video was erased meanwhile). */
export async function recordAttempt(
  q: Queryable,
  a: { id: string; status: DeliveryRow['status']; attempts: number; lastStatus: number | null; lastError: string | null; retryInMs: number | null },
): Promise<boolean> {
  const upd = await q.query(
    `UPDATE webhook_deliveries SET status = $2, attempts = $3, last_status = $4, last_error = $5, updated_at = now(),
       next_attempt_at = CASE WHEN $6::bigint IS NULL THEN NULL ELSE now() + ($6::bigint * interval '1 millisecond') END
     WHERE id = $1`,
    [a.id, a.status, a.attempts, a.lastStatus, a.lastError, a.retryInMs],
  );
  return (upd.rowCount ?? 0) > 0;
}

/** Readiness: the database answers. */
export async function ping(q: Queryable): Promise<void> {
  await q.query('SELECT 1');
}
