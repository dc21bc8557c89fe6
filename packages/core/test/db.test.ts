import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { MIGRATIONS, createDb, ensureDatabase, migrate, withTransaction } from '../src/db';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const created: string[] = [];
const freshUrl = () => {
  const name = `oa_t_${randomBytes(5).toString('hex')}`;
  created.push(name);
  return ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
};

after(async () => {
  const admin = new Pool({ connectionString: ADMIN_URL, max: 1 });
  for (const name of created) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
});

test('ensureDatabase creates a missing database and is a no-op the second time', async () => {
  const url = freshUrl();
  await ensureDatabase(url);
  await ensureDatabase(url);
  const db = createDb(url, 1);
  try {
    assert.equal((await db.query('SELECT current_database() AS d')).rows[0].d, created[created.length - 1]);
  } finally {
    await db.end();
  }
});

test('ensureDatabase from several services at once all succeed', async () => {
  const url = freshUrl();
  const results = await Promise.allSettled([ensureDatabase(url), ensureDatabase(url), ensureDatabase(url), ensureDatabase(url)]);
  assert.deepEqual(
    results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)),
    [],
  );
});

test('migrate is idempotent', async () => {
  const url = freshUrl();
  await ensureDatabase(url);
  const db = createDb(url, 2);
  try {
    assert.deepEqual(
      await migrate(db),
      MIGRATIONS.map((m) => m.id),
    );
    assert.deepEqual(await migrate(db), []);
    const ids = (await db.query<{ id: number }>('SELECT id FROM schema_migrations ORDER BY id')).rows.map((r) => r.id);
    assert.deepEqual(
      ids,
      MIGRATIONS.map((m) => m.id),
    );
    const tables = (await db.query<{ t: string }>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)).rows.map(
      (r) => r.t,
    );
    for (const t of ['videos', 'stages', 'results', 'embeddings', 'webhooks', 'webhook_deliveries', 'schema_migrations']) assert.ok(tables.includes(t), t);
  } finally {
    await db.end();
  }
});

test('migrate from two pools at once on a fresh database applies each migration exactly once', async () => {
  const url = freshUrl();
  await ensureDatabase(url);
  const a = createDb(url, 2);
  const b = createDb(url, 2);
  try {
    const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
    assert.deepEqual([...ra, ...rb].sort(), MIGRATIONS.map((m) => m.id).sort(), `a applied ${ra}, b applied ${rb}`);
    const n = (await a.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations')).rows[0].n;
    assert.equal(Number(n), MIGRATIONS.length);
    // The advisory lock was released: a third run still works.
    assert.deepEqual(await migrate(b), []);
  } finally {
    await Promise.all([a.end(), b.end()]);
  }
});

test('withTransaction commits on success and rolls back on error', async () => {
  const url = freshUrl();
  await ensureDatabase(url);
  const db = createDb(url, 2);
  try {
    await db.query('CREATE TABLE t (x int)');
    assert.equal(await withTransaction(db, async (c) => (await c.query('INSERT INTO t VALUES (1)'), 'ok')), 'ok');
    await assert.rejects(
      withTransaction(db, async (c) => {
        await c.query('INSERT INTO t VALUES (2)');
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual((await db.query('SELECT x FROM t ORDER BY x')).rows, [{ x: 1 }]);
  } finally {
    await db.end();
  }
});
