import { Pool, type PoolClient } from 'pg';

export type Db = Pool;

export function createDb(url: string, max = 10): Db {
  // Without a connect timeout a blackholed database host (no RST, e.g. a node gone mid-failover)
  // makes every query wait forever, and callers would see their gRPC deadline instead of 'unavailable'.
  const pool = new Pool({ connectionString: url, max, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 5_000 });
  // An idle client's socket error must not crash the process; the pool drops the client.
  pool.on('error', () => undefined);
  // Nor may a checked-out one's: pg removes the pool's listener while a client is lent out, and a
  // server restart (57P01, "Connection terminated unexpectedly") then emits 'error' on it with no
  // listener, killing the process. The query in flight still rejects, so its caller answers
  // `unavailable` and retries; the broken client is discarded when released.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

/**
 * `snapshot`: a read-only REPEATABLE READ transaction, for reads spread over several statements that
 * must see one state of the database (a write committed in between is not seen).
 */
export async function withTransaction<T>(db: Db, fn: (c: PoolClient) => Promise<T>, opts: { snapshot?: boolean } = {}): Promise<T> {
  const client = await db.connect();
  try {
    await client.query(opts.snapshot ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Network-level failures: the database cannot be reached at all. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
]);
/**
 * SQLSTATEs that mean "the server is not there for you right now", not "your query is wrong":
 * 57P01 admin_shutdown (restart, pg_terminate_backend), 57P02 crash_shutdown, 57P03 cannot_connect_now
 * (starting up, recovery), 53300 too_many_connections, 53xxx resources; class 08 is connection trouble.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53000', '53100', '53200', '53300', '58000', '58030']);
/**
 * pg and pg-pool report a lost or timed-out connection with a plain Error and no code; their texts
 * are stable across versions and are the only signal.
 */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/,
  /timeout exceeded when trying to connect/,
  /Client has encountered a connection error and is not queryable/,
  /Client was closed and is not queryable/,
  /Cannot use a pool after calling end on the pool/,
  /the database system is (starting up|shutting down|in recovery mode)/,
];

/**
 * True when `err` says PostgreSQL is unreachable or going away (retry later), as opposed to a query
 * the database refused. Callers answer these with a generic 'unavailable' and never pass the pg text
 * on: it names hosts, ports and users.
 */
export function isDbUnavailableError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (UNREACHABLE_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08')) return true;
  // Node's happy-eyeballs connect (127.0.0.1 and ::1) throws an AggregateError holding one per address.
  if (Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isDbUnavailableError)) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return UNAVAILABLE_MESSAGES.some((re) => re.test(message));
}

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

/**
 * Schema migrations, one list per owning service: each service's main applies only its own (the
 * orchestrator owns videos, stages, results, webhooks, ratings and erasure bookkeeping; fusion owns
 * embeddings and forgotten_videos), in order, under one advisory lock and one schema_migrations
 * history, which both services share: ids are disjoint (orchestrator 1…999, fusion 1001…), so
 * either service skips the other's rows. Append only: never change what a shipped one does.
 *
 * Migrations 1 and 2 once also created fusion's two tables; those statements moved to fusion's
 * list (1001, 1002) as CREATE … IF NOT EXISTS, so a database migrated before the split (tables
 * present, 1 and 2 recorded) and a fresh one converge on the same schema.
 */
export const ORCHESTRATOR_MIGRATIONS: Migration[] = [
  {
    id: 1,
    name: 'videos-stages-results',
    sql: `
      CREATE TABLE videos (
        id              text PRIMARY KEY,
        owner           text NOT NULL,
        status          text NOT NULL CHECK (status IN ('queued','processing','succeeded','failed','canceled')),
        language        text NOT NULL DEFAULT 'auto',
        source_kind     text NOT NULL,
        source_path     text,
        source_url      text,
        filename        text,
        content_type    text,
        size_bytes      bigint,
        callback_url    text,
        metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
        idempotency_key text,
        transcript      text,
        error           jsonb,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        started_at      timestamptz,
        finished_at     timestamptz,
        media_erased_at timestamptz
      );
      CREATE UNIQUE INDEX videos_idempotency ON videos (owner, idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE INDEX videos_status ON videos (status, updated_at);

      CREATE TABLE stages (
        video_id    text NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        name        text NOT NULL,
        state       text NOT NULL CHECK (state IN ('pending','running','done','failed','skipped')),
        reason      text,
        output      jsonb,
        attempts    integer NOT NULL DEFAULT 0,
        started_at  timestamptz,
        finished_at timestamptz,
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (video_id, name)
      );
      CREATE INDEX stages_state ON stages (state, updated_at);

      CREATE TABLE results (
        video_id   text PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
        result     json NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE webhooks (
        id         text PRIMARY KEY,
        owner      text NOT NULL,
        url        text NOT NULL,
        events     text[] NOT NULL,
        secret     text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
      );
      CREATE INDEX webhooks_owner ON webhooks (owner) WHERE deleted_at IS NULL;

      CREATE TABLE webhook_deliveries (
        id              text PRIMARY KEY,
        webhook_id      text,
        target_url      text NOT NULL,
        video_id        text NOT NULL,
        event_type      text NOT NULL,
        payload         jsonb NOT NULL,
        status          text NOT NULL CHECK (status IN ('pending','succeeded','failed')),
        attempts        integer NOT NULL DEFAULT 0,
        last_status     integer,
        last_error      text,
        next_attempt_at timestamptz,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX deliveries_webhook ON webhook_deliveries (webhook_id, created_at);
      CREATE INDEX deliveries_video ON webhook_deliveries (video_id);
    `,
  },
  {
    id: 2,
    name: 'erasure-tombstones-quotas',
    sql: `
      -- DELETE leaves only this row of a video (id, owner, erased_at): enough to answer 'gone' to its
      -- owner and 'not-found' to anyone else, and to refuse the id if it is submitted again. The other
      -- columns are bookkeeping for the steps outside this database (Redis jobs, the artifact store,
      -- fusion's Forget); purged_at IS NULL = some of them are still to be done (the reconciler
      -- finishes them), and webhook_jobs is emptied with it.
      CREATE TABLE video_tombstones (
        id           text PRIMARY KEY,
        owner        text NOT NULL,
        erased_at    timestamptz NOT NULL DEFAULT now(),
        purged_at    timestamptz,
        generation   integer NOT NULL DEFAULT 0,
        webhook_jobs text[] NOT NULL DEFAULT '{}'
      );
      CREATE INDEX video_tombstones_unpurged ON video_tombstones (erased_at) WHERE purged_at IS NULL;

      -- Media seconds of erased videos still inside the 24 h quota window, with no video id: DELETE must
      -- not reset a key's media-hours quota, and the tombstone must not carry anything but its three facts.
      CREATE TABLE erased_media_usage (
        owner      text NOT NULL,
        created_at timestamptz NOT NULL,
        seconds    double precision NOT NULL
      );
      CREATE INDEX erased_media_usage_owner ON erased_media_usage (owner, created_at);

      CREATE INDEX videos_owner_created ON videos (owner, created_at);
      CREATE INDEX videos_owner_unfinished ON videos (owner) WHERE status IN ('queued','processing');
    `,
  },
  {
    id: 3,
    name: 'ratings',
    sql: `
      -- Reviewers' ratings of a video's explanation. video_id is text because videos.id is (a lowercase
      -- UUID in practice): a foreign key needs the same type. ON DELETE CASCADE backs up erasure, which
      -- deletes a video's ratings with its row. owner is the video's (the summary groups by it);
      -- reviewer is the hash of the API key that rated (apiKeyOwner), never the key. fusion_model is the
      -- name@version of the fusion model whose result was rated, copied at rating time so ratings of
      -- different model versions can be compared.
      CREATE TABLE ratings (
        id           uuid PRIMARY KEY,
        video_id     text NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        owner        text NOT NULL,
        reviewer     text NOT NULL,
        clarity      smallint NOT NULL CHECK (clarity BETWEEN 1 AND 5),
        relevance    smallint NOT NULL CHECK (relevance BETWEEN 1 AND 5),
        comment      text CHECK (char_length(comment) <= 2000),
        fusion_model text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX ratings_video ON ratings (video_id, created_at);
      CREATE INDEX ratings_owner_model ON ratings (owner, fusion_model);
    `,
  },
];

export const FUSION_MIGRATIONS: Migration[] = [
  {
    id: 1001,
    name: 'fusion-embeddings',
    sql: `
      -- What the model workers pushed, one row per (video, modality, kind). No foreign key to videos:
      -- that table is the orchestrator's (and may live in another database).
      CREATE TABLE IF NOT EXISTS embeddings (
        video_id   text NOT NULL,
        modality   text NOT NULL,
        kind       text NOT NULL,
        shape      integer[] NOT NULL,
        data       bytea NOT NULL,
        items      jsonb NOT NULL DEFAULT '[]'::jsonb,
        model      text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (video_id, modality, kind)
      );

    `,
  },
  {
    id: 1002,
    name: 'fusion-forgotten-videos',
    sql: `
      -- Fusion's record of ids it was told to forget: a push that arrives later is refused.
      CREATE TABLE IF NOT EXISTS forgotten_videos (
        video_id     text PRIMARY KEY,
        forgotten_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    id: 1003,
    name: 'fusion-embedding-chunks',
    sql: `
      -- A tensor's bytes in chunks of at most 1 MiB, so fusion streams a push into the database and
      -- reads back only the rows a window of the timeline needs: its memory stays flat however long
      -- the video (a 2-hour video's word pieces at BERT's 768 floats are 66 MB). A push writes a new
      -- generation; the embeddings row names the one that is complete, so readers never see half a push.
      ALTER TABLE embeddings ADD COLUMN IF NOT EXISTS generation uuid;
      CREATE TABLE IF NOT EXISTS embedding_chunks (
        video_id   text NOT NULL,
        modality   text NOT NULL,
        kind       text NOT NULL,
        generation uuid NOT NULL,
        first_byte bigint NOT NULL CHECK (first_byte >= 0),
        data       bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (video_id, modality, kind, generation, first_byte)
      );
      -- float32 does not compress; stored as is, a chunk is read without a decompression pass
      ALTER TABLE embedding_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
      -- tensors stored whole before this migration become one generation of 1 MiB chunks
      UPDATE embeddings SET generation = gen_random_uuid() WHERE generation IS NULL;
      INSERT INTO embedding_chunks (video_id, modality, kind, generation, first_byte, data)
        SELECT e.video_id, e.modality, e.kind, e.generation, g * 1048576, substring(e.data FROM g * 1048576 + 1 FOR 1048576)
        FROM embeddings e, generate_series(0, (octet_length(e.data) - 1) / 1048576) g
        WHERE octet_length(e.data) > 0;
      ALTER TABLE embeddings ALTER COLUMN generation SET NOT NULL;
      ALTER TABLE embeddings DROP COLUMN data;
    `,
  },
];

/** Every service's migrations: the whole schema, for tests and tools that stand in for all of them. */
export const MIGRATIONS: Migration[] = [...ORCHESTRATOR_MIGRATIONS, ...FUSION_MIGRATIONS];

const MIGRATION_LOCK = 0x0a11_aff3;

/** Applies what of `migrations` is not recorded yet; the ids applied now, in order. */
export async function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const client = await db.connect();
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await client.query<{ id: number }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
    for (const m of [...migrations].sort((a, b) => a.id - b.id)) {
      if (done.has(m.id)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
        await client.query('COMMIT');
        applied.push(m.id);
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.id} (${m.name}) failed: ${(err as Error).message}`);
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return applied;
}

/** Creates the database named in `url` when it does not exist (local `up` and first deploys). */
export async function ensureDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!name || !/^[A-Za-z0-9_-]+$/.test(name)) return;
  u.pathname = '/postgres';
  const admin = new Pool({ connectionString: u.toString(), max: 1 });
  try {
    const r = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount === 0) await admin.query(`CREATE DATABASE "${name}"`);
  } catch (err) {
    // 42P04 = already exists; 23505 on pg_database_datname_index = created concurrently by another service: fine.
    if (!['42P04', '23505'].includes((err as { code?: string }).code ?? '')) throw err;
  } finally {
    await admin.end();
  }
}
