import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Pool } from 'pg';
import {
  FUSION_SERVICE,
  QUEUES,
  Queues,
  ServiceMetrics,
  createDb,
  createLogger,
  ensureDatabase,
  migrate,
  redisConnection,
  repoRoot,
  startGrpcServer,
  type Db,
  type Logger,
  type SubmitInput,
  type grpc,
} from '@omniaffect/core';

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
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`);
  let db: Db | undefined;
  return {
    tag,
    queues,
    url,
    log: createLogger(name, 'silent'),
    metrics: new ServiceMetrics(name),
    async setup(): Promise<Db> {
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

interface FusionServiceLike {
  grpcImpl(): grpc.UntypedServiceImplementation;
  close(): Promise<void>;
}

/**
 * The real fusion service (services/fusion, compiled) over the test's database, served on real gRPC,
 * without its ONNX model: erasure needs Forget and PushEmbeddings, which run on the embedding store
 * alone (Fuse answers 'unavailable'). Loaded from the fusion package's build output by path: the
 * orchestrator does not depend on the fusion package, only on its wire contract.
 */
export async function startFusion(db: Db, log: Logger): Promise<{ address: string; close(): Promise<void> }> {
  const dist = path.join(repoRoot(), 'services', 'fusion', 'dist', 'src');
  const { EmbeddingStore } = require(path.join(dist, 'embedding-store.js')) as { EmbeddingStore: new (db: Db) => unknown };
  const { FusionService } = require(path.join(dist, 'fusion-service.js')) as {
    FusionService: new (
      store: unknown,
      log: Logger,
      metrics: ServiceMetrics,
      opts: { modelDir: string; provider: string; intraOpThreads: number },
    ) => FusionServiceLike;
  };
  const service = new FusionService(new EmbeddingStore(db), log, new ServiceMetrics(`fusion_${randomBytes(3).toString('hex')}`), {
    modelDir: '/nonexistent',
    provider: 'cpu',
    intraOpThreads: 1,
  });
  const server = await startGrpcServer('127.0.0.1:0', [{ name: FUSION_SERVICE, impl: service.grpcImpl() }]);
  server.setServing(true);
  return {
    address: `127.0.0.1:${server.port}`,
    close: async () => {
      await server.close();
      await service.close();
    },
  };
}

/** A plain upload's Submit input (what the gateway sends for a 1-byte mp4), for tests that need a video row. */
export function uploadSubmit(owner: string, videoId: string): SubmitInput {
  return {
    owner,
    videoId,
    idempotencyKey: '',
    sourceKind: 'upload',
    sourcePath: '',
    sourceUrl: '',
    filename: 'a.mp4',
    contentType: 'video/mp4',
    sizeBytes: 1,
    language: 'auto',
    callbackUrl: '',
    metadata: {},
  };
}
