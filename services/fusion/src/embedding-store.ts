import { randomUUID } from 'node:crypto';
import { ProblemError, withTransaction, type Db, type EncoderTensor, type StoredFeature } from '@omniaffect/core';
import type { PoolClient } from 'pg';

export type StoredTensor = EncoderTensor;
/** A stored row is exactly what GetFeatures hands out. */
export type StoredRow = StoredFeature;
/** A stored tensor's description, without its bytes (read by window with TensorReader.rows). */
export type StoredMeta = Omit<StoredRow, 'data'> & { generation: string };

/**
 * Namespace of the per-video advisory lock that orders pushes against Forget (the second key is
 * hashtext(video id)). Every statement that writes a video's embeddings takes it shared, so pushes
 * never wait for one another; Forget takes it exclusive, so it waits for the writes already inside
 * and every later write sees its record.
 */
const FORGET_LOCK = 0x0fa5_0001;

/** Bytes of a float32 tensor of this shape (of one row, given the shape after the first axis). */
export const float32Bytes = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1) * 4;

/** Bytes per stored chunk: what a push holds before writing, and the grain a window is read in. */
export const CHUNK_BYTES = 1024 * 1024;
/** Chunks of another generation older than this belong to a push that died; a commit drops them. */
const STALE_PUSH_SECONDS = 15 * 60;

/**
 * Embeddings live in PostgreSQL so any fusion replica can fuse any video (replicas hold no state).
 * Fusion owns the `embeddings`, `embedding_chunks` and `forgotten_videos` tables (FUSION_MIGRATIONS)
 * and reads nothing else: whether a video may still receive pushes is only what the orchestrator told
 * it through Forget (a row canceled before erasure existed is turned into a tombstone by the
 * orchestrator's reconciler, whose purge calls Forget).
 *
 * A tensor is stored as 1 MiB chunks of one generation (migration 1003): a push streams into a new
 * generation, and its last statement points the tensor's row at it and drops the one it replaces.
 */
export class EmbeddingStore {
  constructor(private readonly db: Db) {}

  /** A writer for one pushed tensor; nothing is visible to readers until `commit`. */
  writer(videoId: string, modality: string, kind: string): TensorWriter {
    return new TensorWriter(this.db, videoId, modality, kind);
  }

  /** Stores (or replaces) one whole tensor; ProblemError('gone') when the video was forgotten, storing nothing. */
  async put(videoId: string, t: StoredTensor): Promise<void> {
    const w = this.writer(videoId, t.modality, t.kind);
    try {
      await w.write(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      await w.commit({ shape: t.shape, items: t.items, model: t.model });
    } catch (err) {
      await w.abort();
      throw err;
    }
  }

  /** What was pushed for the video, whole (GetFeatures), ordered by modality and kind. */
  async rows(videoId: string): Promise<StoredRow[]> {
    return this.snapshot(async (r) => {
      const out: StoredRow[] = [];
      for (const m of await r.meta(videoId)) {
        const data = await r.whole(videoId, m);
        const expected = float32Bytes(m.shape);
        if (data.length !== expected) throw new Error(`${m.modality}/${m.kind}: ${data.length} bytes stored for shape [${m.shape}] (expected ${expected})`);
        out.push({ modality: m.modality, kind: m.kind, shape: m.shape, items: m.items, model: m.model, data });
      }
      return out;
    });
  }

  /**
   * Runs `fn` over one snapshot of the store: a push that commits meanwhile (a retried stage replacing
   * its tensor) is not seen half-way through a fusion that reads window by window.
   */
  snapshot<T>(fn: (reader: TensorReader) => Promise<T>): Promise<T> {
    return withTransaction(this.db, (c) => fn(new TensorReader(c)), { snapshot: true });
  }

  async isForgotten(videoId: string): Promise<boolean> {
    return ((await this.db.query('SELECT 1 FROM forgotten_videos WHERE video_id = $1', [videoId])).rowCount ?? 0) > 0;
  }

  /**
   * Drops the video's embeddings and records the id, in one transaction: every replica shares this
   * database, so a late write to any of them is refused from the commit on (a push's chunks included:
   * none can be left behind). Idempotent.
   */
  async forget(videoId: string): Promise<number> {
    return withTransaction(this.db, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [FORGET_LOCK, videoId]);
      await c.query('INSERT INTO forgotten_videos (video_id) VALUES ($1) ON CONFLICT DO NOTHING', [videoId]);
      await c.query('DELETE FROM embedding_chunks WHERE video_id = $1', [videoId]);
      return (await c.query('DELETE FROM embeddings WHERE video_id = $1', [videoId])).rowCount ?? 0;
    });
  }
}

/** Reads stored tensors inside one snapshot (EmbeddingStore.snapshot). */
export class TensorReader {
  constructor(private readonly c: PoolClient) {}

  async meta(videoId: string): Promise<StoredMeta[]> {
    const r = await this.c.query<StoredMeta>(
      'SELECT modality, kind, shape, items, model, generation FROM embeddings WHERE video_id = $1 ORDER BY modality, kind',
      [videoId],
    );
    return r.rows;
  }

  /** A stored tensor's bytes, whole (GetFeatures). */
  async whole(videoId: string, t: Pick<StoredMeta, 'modality' | 'kind' | 'generation'>): Promise<Buffer> {
    const r = await this.c.query<{ data: Buffer }>(
      'SELECT data FROM embedding_chunks WHERE video_id = $1 AND modality = $2 AND kind = $3 AND generation = $4 ORDER BY first_byte',
      [videoId, t.modality, t.kind, t.generation],
    );
    return Buffer.concat(r.rows.map((row) => row.data));
  }

  /**
   * Bytes [from, to) of a stored tensor, in one buffer of their own (offset 0, so 4-byte aligned).
   * One chunk per statement, cut to what is needed by the server (substring of an uncompressed value
   * reads only that part): pg sends a bytea as hex text, twice its size, and a window read whole would
   * hold every chunk's text at once.
   */
  async bytes(
    videoId: string,
    t: Pick<StoredMeta, 'modality' | 'kind' | 'generation'>,
    from: number,
    to: number,
    allocate: (bytes: number) => Buffer = (n) => Buffer.alloc(n),
  ): Promise<Buffer> {
    const out = allocate(to - from);
    for (let at = from; at < to;) {
      const r = await this.c.query<{ data: Buffer }>(
        `SELECT substring(data FROM ($5::bigint - first_byte + 1)::int FOR ($6::bigint - $5::bigint)::int) AS data FROM embedding_chunks
         WHERE video_id = $1 AND modality = $2 AND kind = $3 AND generation = $4 AND first_byte <= $5
         ORDER BY first_byte DESC LIMIT 1`,
        [videoId, t.modality, t.kind, t.generation, at, to],
      );
      const data = r.rows[0]?.data;
      if (!data?.length) throw new Error(`${t.modality}/${t.kind}: no stored bytes at ${at} (asked for ${from}…${to})`);
      at += data.copy(out, at - from);
    }
    return out;
  }

  /** Rows [from, to) of a stored [rows, dim] float32 tensor, as floats of their own. */
  async rows(
    videoId: string,
    t: Pick<StoredMeta, 'modality' | 'kind' | 'generation' | 'shape'>,
    from: number,
    to: number,
    allocate?: (floats: number) => Float32Array,
  ): Promise<Float32Array> {
    const width = float32Bytes(t.shape.slice(1));
    const into =
      allocate &&
      ((n: number) => {
        const f = allocate(n / 4);
        return Buffer.from(f.buffer, f.byteOffset, f.byteLength);
      });
    const b = await this.bytes(videoId, t, from * width, to * width, into);
    if (b.length !== (to - from) * width) throw new Error(`${t.modality}/${t.kind}: rows ${from}…${to} are ${b.length} bytes, not ${(to - from) * width}`);
    return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
  }
}

/**
 * One push on its way into the store: bytes are written in CHUNK_BYTES chunks as they arrive, under a
 * generation of their own, so a push costs fusion one chunk of memory whatever the tensor's size.
 * Every chunk is written under the Forget lock and refused once the video is forgotten, so a push
 * racing Forget leaves nothing behind; `commit` makes the generation the tensor's, atomically.
 */
export class TensorWriter {
  private readonly generation = randomUUID();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;

  constructor(
    private readonly db: Db,
    readonly videoId: string,
    readonly modality: string,
    readonly kind: string,
  ) {}

  /** Bytes received so far. */
  get bytes(): number {
    return this.written + this.pendingBytes;
  }

  async write(data: Buffer): Promise<void> {
    this.pending.push(data);
    this.pendingBytes += data.length;
    while (this.pendingBytes >= CHUNK_BYTES) await this.flush(CHUNK_BYTES);
  }

  /**
   * Writes what is pending, then points the tensor at this generation (replacing any earlier push). A
   * push that fits in one chunk and has written none yet (nearly every push: two hours of word pieces at
   * 32 floats are 2 MiB, a clip's a few KiB) writes its chunk in the commit's own transaction: 7
   * statements instead of 15, and no other push can have touched a chunk its own transaction wrote.
   */
  async commit(meta: { shape: number[]; items: unknown[]; model: string | null }): Promise<void> {
    const inOne = this.written === 0 && this.pendingBytes <= CHUNK_BYTES;
    if (!inOne) while (this.pendingBytes > 0) await this.flush(Math.min(CHUNK_BYTES, this.pendingBytes));
    const key = [this.videoId, this.modality, this.kind];
    const stored = await this.underLock(async (c) => {
      if (inOne) {
        // refused (and nothing written) once the video is forgotten; an empty tensor is refused by the upsert below
        if (this.pendingBytes > 0 && !(await this.insertChunk(c, 0, this.takePending(this.pendingBytes)))) return false;
      } else {
        // under the lock, Forget either committed before (refused here) or waits for this commit
        if ((await c.query('SELECT 1 FROM forgotten_videos WHERE video_id = $1', [this.videoId])).rowCount) return false;
        const mine = await c.query<{ n: string }>(
          'SELECT coalesce(sum(octet_length(data)), 0)::text AS n FROM embedding_chunks WHERE video_id = $1 AND modality = $2 AND kind = $3 AND generation = $4',
          [...key, this.generation],
        );
        // another push of the same tensor must never have taken this one's chunks (see below)
        if (Number(mine.rows[0]!.n) !== this.written)
          throw new Error(`push of ${this.modality}/${this.kind}: ${mine.rows[0]!.n} of ${this.written} bytes stored`);
      }
      // The row is locked, so pushes of one tensor that overlap (a retried push, a job that ran
      // twice) commit one after the other, and each drops only the generation it replaces: never
      // the chunks of a push still being written.
      const previous = await c.query<{ generation: string }>(
        'SELECT generation FROM embeddings WHERE video_id = $1 AND modality = $2 AND kind = $3 FOR UPDATE',
        key,
      );
      const r = await c.query(
        `INSERT INTO embeddings (video_id, modality, kind, shape, items, model, generation, updated_at)
         SELECT $1,$2,$3,$4,$5,$6,$7, now()
         WHERE NOT EXISTS (SELECT 1 FROM forgotten_videos WHERE video_id = $1)
         ON CONFLICT (video_id, modality, kind) DO UPDATE
           SET shape = EXCLUDED.shape, items = EXCLUDED.items, model = EXCLUDED.model, generation = EXCLUDED.generation, updated_at = now()`,
        [...key, meta.shape, JSON.stringify(meta.items), meta.model, this.generation],
      );
      // The generation replaced, and what pushes that died midway left (a push lasts seconds; Forget
      // drops everything anyway).
      await c.query(
        `DELETE FROM embedding_chunks WHERE video_id = $1 AND modality = $2 AND kind = $3 AND generation <> $4
           AND (generation = $5 OR created_at < now() - make_interval(secs => $6))`,
        [...key, this.generation, previous.rows[0]?.generation ?? null, STALE_PUSH_SECONDS],
      );
      return (r.rowCount ?? 0) > 0;
    });
    if (!stored) throw gone(this.videoId);
  }

  /** Drops what this push wrote (a refused or broken push); never throws. */
  async abort(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    // even with nothing counted as written: a chunk's commit may have landed while its answer was lost
    await this.db
      .query('DELETE FROM embedding_chunks WHERE video_id = $1 AND modality = $2 AND kind = $3 AND generation = $4', [
        this.videoId,
        this.modality,
        this.kind,
        this.generation,
      ])
      .catch(() => undefined);
  }

  private async flush(n: number): Promise<void> {
    const first = this.written;
    const chunk = this.takePending(n);
    const stored = await this.underLock((c) => this.insertChunk(c, first, chunk));
    // A worker still holding an erased video's job learns it here, and its stage stops retrying.
    if (!stored) throw gone(this.videoId);
  }

  /** The first n pending bytes, counted as written from here on (a failed write fails the push). */
  private takePending(n: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const rest = all.subarray(n);
    this.written += n;
    this.pending = rest.length ? [rest] : [];
    this.pendingBytes = rest.length;
    return all.subarray(0, n);
  }

  /** False when the video is forgotten (nothing written). Runs under the shared Forget lock. */
  private async insertChunk(c: PoolClient, first: number, chunk: Buffer): Promise<boolean> {
    // Read after the lock: a Forget that committed while this write waited is visible to this
    // statement (READ COMMITTED takes its snapshot per statement).
    const r = await c.query(
      `INSERT INTO embedding_chunks (video_id, modality, kind, generation, first_byte, data)
       SELECT $1,$2,$3,$4,$5,$6 WHERE NOT EXISTS (SELECT 1 FROM forgotten_videos WHERE video_id = $1)`,
      [this.videoId, this.modality, this.kind, this.generation, first, chunk],
    );
    return (r.rowCount ?? 0) > 0;
  }

  private underLock<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.db, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock_shared($1, hashtext($2))', [FORGET_LOCK, this.videoId]);
      return fn(c);
    });
  }
}

const gone = (videoId: string) => new ProblemError('gone', `video ${videoId} was erased; its embeddings are not stored`);
