import type { PoolClient } from 'pg';
import {
  STAGES,
  problemDocument,
  isProblemSlug,
  videoLinks,
  type Db,
  type StageName,
  type VideoDocument,
} from '@omniaffect/core';
import { progress, type StageChange, type VideoSnapshot } from './state-machine';

type Queryable = Db | PoolClient;

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

export async function loadVideo(q: Queryable, id: string, forUpdate = false): Promise<VideoRow | null> {
  const r = await q.query<VideoRow>(`SELECT * FROM videos WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
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

export async function writeStageChanges(q: Queryable, videoId: string, changes: StageChange[]): Promise<void> {
  for (const c of changes) {
    await q.query(
      `UPDATE stages SET state = $3,
         reason = CASE WHEN $4::boolean THEN $5 ELSE reason END,
         output = CASE WHEN $6::boolean THEN $7::jsonb ELSE output END,
         attempts = GREATEST(attempts, COALESCE($8, attempts)),
         started_at = CASE WHEN $3 = 'running' AND started_at IS NULL THEN now() ELSE started_at END,
         finished_at = CASE WHEN $3 IN ('done','failed','skipped') THEN now() ELSE finished_at END,
         updated_at = now()
       WHERE video_id = $1 AND name = $2`,
      [videoId, c.stage, c.state, c.reason !== undefined, c.reason ?? null, c.output !== undefined, c.output === undefined ? null : JSON.stringify(c.output), c.attempts ?? null],
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
        return [name, { state: snap.stages[name].state, reason: s?.reason ?? null, attempts: s?.attempts ?? 0, startedAt: iso(s?.started_at ?? null), finishedAt: iso(s?.finished_at ?? null) }];
      }),
    ),
    error: err
      ? problemDocument(isProblemSlug(err.type) ? err.type : 'internal', err.detail, `/v1/videos/${video.id}`, err.stage ? { stage: err.stage } : {})
      : null,
    links: videoLinks(video.id),
  };
}
