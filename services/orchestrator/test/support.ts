import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { QUEUES, Queues, ServiceMetrics, createDb, createLogger, ensureDatabase, migrate, redisConnection, type Db } from '@omniaffect/core';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * What an orchestrator test file runs against: a fresh database on the real PostgreSQL (migrated)
 * and a private BullMQ prefix on the real Redis; teardown drops both.
 */
export function testInfra(name: string) {
  const tag = randomBytes(4).toString('hex');
  const dbName = `oa_t_${tag}`;
  const connection = redisConnection(REDIS_URL);
  const queues = new Queues(connection, `oat${tag}`);
  let db: Db | undefined;
  return {
    tag,
    queues,
    log: createLogger(name, 'silent'),
    metrics: new ServiceMetrics(name),
    async setup(): Promise<Db> {
      const url = ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`);
      await ensureDatabase(url);
      db = createDb(url, 5);
      await migrate(db);
      return db;
    },
    async teardown(): Promise<void> {
      for (const q of Object.values(QUEUES)) await queues.get(q).obliterate({ force: true });
      await queues.close();
      await connection.quit();
      await db?.end();
      const admin = new Pool({ connectionString: ADMIN_URL, max: 1 });
      await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await admin.end();
    },
  };
}
