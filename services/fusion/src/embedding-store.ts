import type { Db, EncoderTensor } from '@omniaffect/core';

export type StoredTensor = EncoderTensor;

/** Embeddings live in PostgreSQL so any fusion replica can fuse any video (replicas hold no state). */
export class EmbeddingStore {
  constructor(private readonly db: Db) {}

  async put(videoId: string, t: StoredTensor): Promise<void> {
    const buf = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    await this.db.query(
      // A push that arrives after DELETE (the worker was mid-job) must not bring the features back.
      `INSERT INTO embeddings (video_id, modality, kind, shape, data, items, model, updated_at)
       SELECT $1,$2,$3,$4,$5,$6,$7, now()
       WHERE NOT EXISTS (SELECT 1 FROM videos WHERE id = $1 AND status = 'canceled')
       ON CONFLICT (video_id, modality, kind) DO UPDATE
         SET shape = EXCLUDED.shape, data = EXCLUDED.data, items = EXCLUDED.items, model = EXCLUDED.model, updated_at = now()`,
      [videoId, t.modality, t.kind, t.shape, buf, JSON.stringify(t.items), t.model],
    );
  }

  async all(videoId: string): Promise<StoredTensor[]> {
    const r = await this.db.query<{ modality: string; kind: string; shape: number[]; data: Buffer; items: unknown[]; model: string | null }>(
      'SELECT modality, kind, shape, data, items, model FROM embeddings WHERE video_id = $1',
      [videoId],
    );
    return r.rows.map((row) => {
      // Copy into an aligned buffer: a Buffer slice of the pg row may not be 4-byte aligned.
      const aligned = new Uint8Array(row.data.byteLength);
      aligned.set(row.data);
      return { modality: row.modality, kind: row.kind, shape: row.shape, data: new Float32Array(aligned.buffer), items: row.items, model: row.model };
    });
  }

  async forget(videoId: string): Promise<number> {
    return (await this.db.query('DELETE FROM embeddings WHERE video_id = $1', [videoId])).rowCount ?? 0;
  }
}
