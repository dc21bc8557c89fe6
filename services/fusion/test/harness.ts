import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import {
  FUSION_MIGRATIONS,
  FUSION_SERVICE,
  ServiceMetrics,
  createDb,
  createLogger,
  ensureDatabase,
  migrate,
  startGrpcServer,
  type Db,
  type GrpcServerHandle,
} from '@omniaffect/core';
import { TINY_PACK_DIRS, buildTinyPack } from '@omniaffect/models';
import { EmbeddingStore } from '../src/embedding-store';
import { FusionService } from '../src/fusion-service';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface FusionReplica {
  db: Db;
  store: EmbeddingStore;
  service: FusionService;
  server: GrpcServerHandle;
  address: string;
}

/**
 * Fusion replicas over one fresh PostgreSQL database, as a scaled deployment runs them: real gRPC,
 * real database (fusion's own migrations only), the tiny pack's fusion model where one is loaded.
 */
export class FusionTestbed {
  readonly url: string;
  readonly modelDir: string;
  readonly replicas: FusionReplica[] = [];
  private readonly dbName = `oa_fusion_${randomBytes(4).toString('hex')}`;
  private readonly packDir = mkdtempSync(path.join(tmpdir(), 'oa-fusion-test-'));

  constructor() {
    this.url = ADMIN_URL.replace(/\/[^/]*$/, `/${this.dbName}`);
    this.modelDir = path.join(this.packDir, TINY_PACK_DIRS.fusion);
  }

  /** Builds the tiny pack and creates and migrates the database. */
  async setUp(): Promise<void> {
    buildTinyPack(this.packDir);
    await ensureDatabase(this.url);
    const db = createDb(this.url, 1);
    try {
      await migrate(db, FUSION_MIGRATIONS); // fusion alone: it needs no other service's tables
    } finally {
      await db.end();
    }
  }

  /**
   * One more replica; `load: false` serves the store's methods without a model (Fuse answers
   * unavailable); `url` points it at another database (one that cannot be reached, say).
   */
  async replica(opts: { load?: boolean; poolSize?: number; url?: string } = {}): Promise<FusionReplica> {
    const db = createDb(opts.url ?? this.url, opts.poolSize ?? 3);
    const store = new EmbeddingStore(db);
    const service = new FusionService(store, createLogger('fusion-test', 'silent'), new ServiceMetrics(`fusion_${randomBytes(3).toString('hex')}`), {
      modelDir: this.modelDir,
      provider: 'cpu',
      intraOpThreads: 1,
    });
    if (opts.load ?? true) await service.load();
    const server = await startGrpcServer('127.0.0.1:0', [{ name: FUSION_SERVICE, impl: service.grpcImpl() }]);
    server.setServing(true);
    const r = { db, store, service, server, address: `127.0.0.1:${server.port}` };
    this.replicas.push(r);
    return r;
  }

  async tearDown(): Promise<void> {
    for (const r of this.replicas) {
      await r.server.close();
      await r.service.close();
      await r.db.end();
    }
    const admin = new Pool({ connectionString: ADMIN_URL, max: 1 });
    await admin.query(`DROP DATABASE IF EXISTS "${this.dbName}" WITH (FORCE)`);
    await admin.end();
    rmSync(this.packDir, { recursive: true, force: true });
  }
}
