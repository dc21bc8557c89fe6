import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import {
  FUSION_SERVICE,
  FusionPushClient,
  ServiceMetrics,
  createDb,
  createLogger,
  ensureDatabase,
  grpcClient,
  FUSION_MIGRATIONS,
  migrate,
  startGrpcServer,
  unary,
  type Db,
  type GrpcServerHandle,
} from '@omniaffect/core';
import { TINY_FUSION_DIM, buildTinyPack } from '@omniaffect/models';
import { EmbeddingStore } from '../src/embedding-store';
import { FusionService } from '../src/fusion-service';

/**
 * Two fusion replicas over one PostgreSQL, as in a scaled deployment: a worker's push lands on one,
 * the orchestrator's Fuse on the other. Real gRPC, real database, the tiny fusion ONNX model.
 */
const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `oa_fusion_${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(path.join(tmpdir(), 'oa-fusion-replicas-'));
const replicas: { db: Db; service: FusionService; server: GrpcServerHandle }[] = [];

before(async () => {
  buildTinyPack(dir);
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`);
  await ensureDatabase(url);
  for (let i = 0; i < 2; i++) {
    const db = createDb(url, 3);
    await migrate(db, FUSION_MIGRATIONS); // fusion alone: it needs no other service's tables
    const service = new FusionService(new EmbeddingStore(db), createLogger(`fusion-${i}`, 'silent'), new ServiceMetrics(`fusion_${i}`), {
      modelDir: path.join(dir, 'fusion'),
      provider: 'cpu',
      intraOpThreads: 1,
    });
    await service.load();
    const server = await startGrpcServer('127.0.0.1:0', [{ name: FUSION_SERVICE, impl: service.grpcImpl() }]);
    server.setServing(true);
    replicas.push({ db, service, server });
  }
});

after(async () => {
  for (const r of replicas) {
    await r.server.close();
    await r.service.close();
    await r.db.end();
  }
  const admin = new Pool({ connectionString: ADMIN_URL, max: 1 });
  await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
});

const PROSODY = { f0MeanHz: 150, f0StdHz: 12, f0MinHz: 120, f0MaxHz: 190, energyDb: -22, voicedRatio: 0.7, rateProxy: 3.5 };
const address = (i: number) => `127.0.0.1:${replicas[i]!.server.port}`;
const sequence = (rows: number, seed: number) => Float32Array.from({ length: rows * TINY_FUSION_DIM }, (_, k) => Math.sin(seed + k * 0.37));

async function fuseOn(
  i: number,
  videoId: string,
  present: string[],
): Promise<{ modalities: Record<string, { present: boolean; contribution: number }>; sentiment: unknown }> {
  const client = grpcClient(FUSION_SERVICE, address(i));
  try {
    const res = await unary<object, { fusionJson: string }>(
      client,
      'Fuse',
      { videoId, present, absent: {}, language: 'en' },
      { deadlineMs: 20_000, idempotent: true },
    );
    return JSON.parse(res.fusionJson);
  } finally {
    client.close();
  }
}

test('embeddings pushed to one replica are fused by the other, with the same answer', async () => {
  const videoId = randomUUID();
  const push = new FusionPushClient(address(0));
  try {
    await push.push({
      videoId,
      modality: 'text',
      kind: 'tokens',
      shape: [4, TINY_FUSION_DIM],
      data: sequence(4, 1),
      items: [0, 1, 2, 3].map((i) => ({ text: `w${i}`, charStart: i, charEnd: i + 1 })),
      model: 'text-en',
    });
    await push.push({
      videoId,
      modality: 'audio',
      kind: 'segments',
      shape: [3, TINY_FUSION_DIM],
      data: sequence(3, 2),
      items: [0, 1, 2].map((i) => ({ start: i, end: i + 1, prosody: { ...PROSODY, f0MeanHz: 150 + 10 * i } })),
      model: 'emotion2vec',
    });
  } finally {
    push.close();
  }
  const onOther = await fuseOn(1, videoId, ['text', 'audio']);
  const onSame = await fuseOn(0, videoId, ['text', 'audio']);
  assert.deepEqual(onOther, onSame);
  assert.equal(onOther.modalities.text!.present, true);
  assert.equal(onOther.modalities.audio!.present, true);
  assert.ok(Math.abs(onOther.modalities.text!.contribution + onOther.modalities.audio!.contribution - 1) < 1e-6);
});
