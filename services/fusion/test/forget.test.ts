import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { FUSION_SERVICE, FusionClient, FusionPushClient, ProblemError, grpcClient, unary, type Db } from '@omniaffect/core';
import { TINY_FUSION_DIM } from '@omniaffect/models';
import { FusionTestbed } from './harness';

/**
 * Forget on one fusion replica holds on the other (they share PostgreSQL): a late push is refused
 * and stores nothing; ids are validated; a database outage is answered 'unavailable'. Real gRPC,
 * real database, the tiny fusion model where Fuse runs.
 */
const bed = new FusionTestbed();
let db: Db;
let withModel: string;
let storeOnly: string;

before(async () => {
  await bed.setUp();
  const a = await bed.replica();
  withModel = a.address;
  db = a.db;
  storeOnly = (await bed.replica({ load: false })).address;
});
after(() => bed.tearDown());

const tensor = (videoId: string, kind = 'segments', rows = 2) => ({
  videoId,
  modality: 'audio' as const,
  kind,
  shape: [rows, TINY_FUSION_DIM],
  data: Float32Array.from({ length: rows * TINY_FUSION_DIM }, (_, k) => Math.sin(k)),
  items: Array.from({ length: rows }, (_, i) => ({ start: i, end: i + 1 })),
  model: 'e2v',
});
const stored = async (videoId: string) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM embeddings WHERE video_id = $1', [videoId])).rows[0].n;
const slugOf = (err: unknown) => JSON.parse((err as { details: string }).details) as { slug: string; detail: string };

async function push(address: string, t: ReturnType<typeof tensor>): Promise<void> {
  const c = new FusionPushClient(address);
  try {
    await c.push(t);
  } finally {
    c.close();
  }
}
async function call(address: string, method: string, req: object): Promise<unknown> {
  const c = grpcClient(FUSION_SERVICE, address);
  try {
    return await unary(c, method, req, { deadlineMs: 15_000, idempotent: false });
  } finally {
    c.close();
  }
}

test('Forget on one replica: embeddings gone, and a late push to the other replica is refused and stores nothing', async () => {
  const id = randomUUID();
  await push(withModel, tensor(id));
  assert.equal(await stored(id), 1);
  const forget = new FusionClient(storeOnly);
  try {
    assert.equal(await forget.forget(id), 1);
    assert.equal(await forget.forget(id), 0, 'idempotent');
  } finally {
    forget.close();
  }
  assert.equal(await stored(id), 0);
  await assert.rejects(push(withModel, tensor(id, 'utterance')), (e) => slugOf(e).slug === 'gone');
  assert.equal(await stored(id), 0, 'nothing stored for the forgotten id');
  await assert.rejects(call(withModel, 'Fuse', { videoId: id, present: ['audio'], absent: {} }), (e) => slugOf(e).slug === 'gone');
  // a worker's pushWithRetry turns the refusal into a ProblemError at once, so its stage stops retrying
  const c = new FusionPushClient(storeOnly);
  try {
    const t0 = Date.now();
    await assert.rejects(c.pushWithRetry(tensor(id)), (e) => e instanceof ProblemError && e.slug === 'gone');
    assert.ok(Date.now() - t0 < 1000, 'no backoff retries for a refusal');
  } finally {
    c.close();
  }
});

test('pushes racing Forget never leave embeddings behind', async () => {
  const ids = Array.from({ length: 12 }, () => randomUUID());
  await Promise.all(
    ids.map(async (id, i) => {
      const forget = new FusionClient(i % 2 ? storeOnly : withModel);
      try {
        // the second push is 2.5 MiB: its chunks are being written while Forget runs
        await Promise.allSettled([push(withModel, tensor(id)), push(storeOnly, tensor(id, 'utterance', 20_480)), forget.forget(id)]);
      } finally {
        forget.close();
      }
    }),
  );
  const left = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM embeddings WHERE video_id = ANY($1)', [ids]);
  assert.equal(left.rows[0].n, 0);
  const chunks = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM embedding_chunks WHERE video_id = ANY($1)', [ids]);
  assert.equal(chunks.rows[0].n, 0, 'no chunk of a forgotten video');
});

test('ids, modalities and shapes are validated on every method', async () => {
  for (const bad of ['not-a-uuid', '../../etc', randomUUID().toUpperCase(), '']) {
    await assert.rejects(push(storeOnly, tensor(bad)), (e) => slugOf(e).slug === 'validation', `push ${JSON.stringify(bad)}`);
    await assert.rejects(call(storeOnly, 'Forget', { videoId: bad }), (e) => slugOf(e).slug === 'validation', `forget ${JSON.stringify(bad)}`);
    await assert.rejects(
      call(withModel, 'Fuse', { videoId: bad, present: ['audio'], absent: {} }),
      (e) => slugOf(e).slug === 'validation',
      `fuse ${JSON.stringify(bad)}`,
    );
  }
  const id = randomUUID();
  await assert.rejects(push(storeOnly, { ...tensor(id), modality: 'smell' as 'audio' }), (e) => slugOf(e).slug === 'validation');
  await assert.rejects(push(storeOnly, { ...tensor(id), kind: 'DROP TABLE' }), (e) => slugOf(e).slug === 'validation');
  await assert.rejects(call(withModel, 'Fuse', { videoId: id, present: ['smell'], absent: {} }), (e) => slugOf(e).slug === 'validation');
  assert.equal(await stored(id), 0);
});

test("PostgreSQL unreachable: fusion answers 'unavailable' with a generic text", async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  const dead = (await bed.replica({ url: `postgres://postgres@127.0.0.1:${port}/omniaffect` })).address;
  const id = randomUUID();
  for (const attempt of [
    () => push(dead, tensor(id)),
    () => call(dead, 'Fuse', { videoId: id, present: ['audio'], absent: {} }),
    () => call(dead, 'Forget', { videoId: id }),
  ]) {
    await assert.rejects(attempt(), (e) => {
      const p = slugOf(e);
      assert.equal(p.slug, 'unavailable', JSON.stringify(p));
      assert.doesNotMatch(p.detail, /ECONNREFUSED|127\.0\.0\.1|postgres|\d{4,5}/);
      return true;
    });
  }
});
