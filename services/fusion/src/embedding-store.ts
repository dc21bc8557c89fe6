import { ProblemError, withTransaction, type Db, type EncoderTensor, type StoredFeature } from '@omniaffect/core';

export type StoredTensor = EncoderTensor;
/** A stored row is exactly what GetFeatures hands out. */
export type StoredRow = StoredFeature;

/**
 * Namespace of the per-video advisory lock that orders pushes against Forget (the second key is
 * hashtext(video id)). Pushes take it shared, so they never wait for one another; Forget takes it
 * exclusive, so it waits for the pushes already inside and every later push sees its record.
 */
const FORGET_LOCK = 0x0fa5_0001;

/**
 * Embeddings live in PostgreSQL so any fusion replica can fuse any video (replicas hold no state).
 * Fusion owns the `embeddings` and `forgotten_videos` tables (FUSION_MIGRATIONS) and reads nothing
 * else: whether a video may still receive pushes is only what the orchestrator told it through Forget
 * (a row canceled before erasure existed is turned into a tombstone by the orchestrator's reconciler,
 * whose purge calls Forget).
 */
/**
 * The row's float32 data in place when its bytes are 4-byte aligned (pg decodes a large bytea into a
 * buffer of its own, offset 0), else copied: a small one may be a slice of Node's shared pool at any
 * offset. The copy spared is a whole tensor per modality (11 MB of frames for a 2-hour video).
 */
function floatsOf(b: Buffer): Float32Array {
  if (b.byteOffset % 4 === 0) return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  const aligned = new Uint8Array(b.byteLength);
  aligned.set(b);
  return new Float32Array(aligned.buffer);
}

export class EmbeddingStore {
  constructor(private readonly db: Db) {}

  /** Stores (or replaces) one tensor; ProblemError('gone') when the video was forgotten, storing nothing. */
  async put(videoId: string, t: StoredTensor): Promise<void> {
    const buf = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const stored = await withTransaction(this.db, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock_shared($1, hashtext($2))', [FORGET_LOCK, videoId]);
      // Read after the lock: a Forget that committed while this push waited is visible to this
      // statement (READ COMMITTED takes its snapshot per statement).
      const r = await c.query(
        `INSERT INTO embeddings (video_id, modality, kind, shape, data, items, model, updated_at)
         SELECT $1,$2,$3,$4,$5,$6,$7, now()
         WHERE NOT EXISTS (SELECT 1 FROM forgotten_videos WHERE video_id = $1)
         ON CONFLICT (video_id, modality, kind) DO UPDATE
           SET shape = EXCLUDED.shape, data = EXCLUDED.data, items = EXCLUDED.items, model = EXCLUDED.model, updated_at = now()`,
        [videoId, t.modality, t.kind, t.shape, buf, JSON.stringify(t.items), t.model],
      );
      return (r.rowCount ?? 0) > 0;
    });
    // A worker still holding an erased video's job learns it here, and its stage stops retrying.
    if (!stored) throw new ProblemError('gone', `video ${videoId} was erased; its embeddings are not stored`);
  }

  /** What was pushed for the video as stored (the row's bytes, unaligned), ordered by modality and kind. */
  async rows(videoId: string): Promise<StoredRow[]> {
    const r = await this.db.query<StoredRow>('SELECT modality, kind, shape, data, items, model FROM embeddings WHERE video_id = $1 ORDER BY modality, kind', [
      videoId,
    ]);
    return r.rows;
  }

  async all(videoId: string): Promise<StoredTensor[]> {
    return (await this.rows(videoId)).map((row) => {
      return { modality: row.modality, kind: row.kind, shape: row.shape, data: floatsOf(row.data), items: row.items, model: row.model };
    });
  }

  async isForgotten(videoId: string): Promise<boolean> {
    return ((await this.db.query('SELECT 1 FROM forgotten_videos WHERE video_id = $1', [videoId])).rowCount ?? 0) > 0;
  }

  /**
   * Drops the video's embeddings and records the id, in one transaction: every replica shares this
   * database, so a late push to any of them is refused from the commit on. Idempotent.
   */
  async forget(videoId: string): Promise<number> {
    return withTransaction(this.db, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [FORGET_LOCK, videoId]);
      await c.query('INSERT INTO forgotten_videos (video_id) VALUES ($1) ON CONFLICT DO NOTHING', [videoId]);
      return (await c.query('DELETE FROM embeddings WHERE video_id = $1', [videoId])).rowCount ?? 0;
    });
  }
}
