import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { FUSION_MIGRATIONS, ORCHESTRATOR_MIGRATIONS, createDb, ensureDatabase, migrate, type Db } from '@omniaffect/core';
import { EmbeddingStore } from '../src/embedding-store';

/**
 * Each service migrates only its own tables, through one shared schema_migrations history; a database
 * migrated before the split (migrations 1 and 2 created fusion's tables too) upgrades without loss.
 */
const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const created: string[] = [];
async function freshDb(): Promise<Db> {
  const name = `oa_t_${randomBytes(5).toString('hex')}`;
  created.push(name);
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  await ensureDatabase(url);
  return createDb(url, 2);
}
const tables = async (db: Db) =>
  (await db.query<{ t: string }>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)).rows.map((r) => r.t);

after(async () => {
  const admin = new Pool({ connectionString: ADMIN_URL, max: 1 });
  for (const name of created) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
});

test('the orchestrator and fusion each create only their own tables, in either order, sharing one history', async () => {
  for (const order of [
    ['orchestrator', 'fusion'],
    ['fusion', 'orchestrator'],
  ]) {
    const db = await freshDb();
    try {
      for (const who of order) {
        const own = who === 'fusion' ? FUSION_MIGRATIONS : ORCHESTRATOR_MIGRATIONS;
        assert.deepEqual(
          await migrate(db, own),
          own.map((m) => m.id),
        );
        const t = await tables(db);
        if (who === order[0]) {
          assert.equal(t.includes('embeddings'), who === 'fusion', `${who} alone: embeddings only if fusion`);
          assert.equal(t.includes('videos'), who === 'orchestrator', `${who} alone: videos only if orchestrator`);
        }
      }
      for (const t of [
        'videos',
        'stages',
        'results',
        'webhooks',
        'video_tombstones',
        'erased_media_usage',
        'embeddings',
        'embedding_chunks',
        'forgotten_videos',
      ])
        assert.ok((await tables(db)).includes(t), t);
      assert.deepEqual(await migrate(db, ORCHESTRATOR_MIGRATIONS), []);
      assert.deepEqual(await migrate(db, FUSION_MIGRATIONS), []);
    } finally {
      await db.end();
    }
  }
});

test("a database migrated before the split keeps its embeddings and takes fusion's migrations as no-ops", async () => {
  const db = await freshDb();
  try {
    // What migrations 1 and 2 used to leave: the orchestrator's tables, fusion's two, ids 1 and 2 recorded.
    await migrate(db, ORCHESTRATOR_MIGRATIONS);
    await db.query(`CREATE TABLE embeddings (video_id text NOT NULL, modality text NOT NULL, kind text NOT NULL, shape integer[] NOT NULL, data bytea NOT NULL,
      items jsonb NOT NULL DEFAULT '[]'::jsonb, model text, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (video_id, modality, kind))`);
    await db.query(`CREATE TABLE forgotten_videos (video_id text PRIMARY KEY, forgotten_at timestamptz NOT NULL DEFAULT now())`);
    await db.query(`INSERT INTO embeddings (video_id, modality, kind, shape, data) VALUES ('v', 'text', 'tokens', '{1}', '\\x00000000')`);
    // a tensor stored whole, 2.5 MiB: migration 1003 moves it into three chunks
    const rows = (5 * 1024 * 1024) / 2 / 8;
    const data = Float32Array.from({ length: rows * 2 }, (_, k) => Math.cos(k));
    await db.query(
      `INSERT INTO embeddings (video_id, modality, kind, shape, data, items, model) VALUES ('w', 'audio', 'segments', $1, $2, '[{"start":0}]', 'e2v')`,
      [[rows, 2], Buffer.from(data.buffer)],
    );
    assert.deepEqual(
      await migrate(db, FUSION_MIGRATIONS),
      FUSION_MIGRATIONS.map((m) => m.id),
    );
    assert.equal((await db.query('SELECT 1 FROM embeddings')).rowCount, 2, 'existing embeddings kept');
    assert.equal((await db.query(`SELECT 1 FROM embedding_chunks WHERE video_id = 'w'`)).rowCount, 3);
    const store = new EmbeddingStore(db);
    const [tiny] = await store.rows('v');
    assert.deepEqual(tiny!.data, Buffer.alloc(4));
    const [moved] = await store.rows('w');
    assert.deepEqual({ ...moved, data: null }, { modality: 'audio', kind: 'segments', shape: [rows, 2], items: [{ start: 0 }], model: 'e2v', data: null });
    assert.ok(Buffer.from(data.buffer).equals(moved!.data), 'the bytes read back as they were');
    await store.snapshot(async (r) => {
      const [meta] = await r.meta('w');
      assert.deepEqual(Array.from(await r.rows('w', meta!, rows / 2 - 1, rows / 2 + 1)), Array.from(data.subarray(rows - 2, rows + 2)));
    });
  } finally {
    await db.end();
  }
});
