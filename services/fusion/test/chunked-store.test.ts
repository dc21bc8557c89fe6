import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import {
  FUSION_SERVICE,
  FusionPushClient,
  SERVER_MAX_RECEIVE_BYTES,
  grpcClient,
  type Db,
  type FusionManifest,
  type PlannedSegment,
  type grpc,
} from '@omniaffect/core';
import { EVIDENCE_LIMITS, explain, fuseTimeline } from '@omniaffect/explain';
import { TINY_FUSION_DIM, modelFile, runFloatTensors } from '@omniaffect/models';
import { CHUNK_BYTES, type EmbeddingStore } from '../src/embedding-store';
import { collectSequences } from '../src/fusion-inputs';
import type { FusionService } from '../src/fusion-service';
import { FusionTestbed } from './harness';

/**
 * Tensors are stored in 1 MiB chunks and read back by window (migration 1003): real PostgreSQL, real
 * gRPC, the tiny fusion model. What is read equals what was pushed, across chunk boundaries that cut
 * rows in two; a push replaces the tensor atomically; a push that breaks off leaves nothing; and a
 * long video fused window by window from the store gives the answer of fusing it whole in memory.
 */
const bed = new FusionTestbed();
let db: Db;
let store: EmbeddingStore;
let service: FusionService;
let address: string;

before(async () => {
  await bed.setUp();
  ({ db, store, service, address } = await bed.replica({ poolSize: 4 }));
});
after(() => bed.tearDown());

const floats = (n: number, seed: number) => Float32Array.from({ length: n }, (_, k) => Math.sin(seed + k * 0.731));
const chunks = async (videoId: string) =>
  (await db.query<{ generation: string; n: number }>('SELECT generation, count(*)::int AS n FROM embedding_chunks WHERE video_id = $1 GROUP BY 1', [videoId]))
    .rows;

test('a tensor of 12-byte rows over three chunks reads back exactly, whole and by any window of rows', async () => {
  const videoId = randomUUID();
  const rows = Math.ceil((2.5 * CHUNK_BYTES) / 12);
  const data = floats(rows * 3, 1);
  await store.put(videoId, { modality: 'audio', kind: 'segments', shape: [rows, 3], data, items: [{ n: rows }], model: 'm' });
  assert.deepEqual(
    (await chunks(videoId)).map((c) => c.n),
    [3],
  );
  const boundary = Math.floor(CHUNK_BYTES / 12); // row 87381 starts 4 bytes before the first chunk ends
  await store.snapshot(async (r) => {
    const [meta] = await r.meta(videoId);
    assert.deepEqual({ shape: meta!.shape, items: meta!.items, model: meta!.model }, { shape: [rows, 3], items: [{ n: rows }], model: 'm' });
    for (const [from, to] of [
      [0, 1],
      [boundary - 2, boundary + 3],
      [boundary, boundary + 1],
      [2 * boundary - 1, 2 * boundary + 2],
      [10, rows],
      [rows - 1, rows],
    ] as const) {
      assert.deepEqual(Array.from(await r.rows(videoId, meta!, from, to)), Array.from(data.subarray(from * 3, to * 3)), `rows ${from}…${to}`);
    }
  });
  const [whole] = await store.rows(videoId);
  assert.ok(Buffer.from(data.buffer).equals(whole!.data));
});

test('a later push replaces the tensor and drops the chunks of the one before, whether each fits one chunk (one transaction) or not', async () => {
  const videoId = randomUUID();
  const big = Math.ceil((1.5 * CHUNK_BYTES) / (4 * TINY_FUSION_DIM));
  const push = new FusionPushClient(address);
  try {
    // small → small → big → big → small → empty: every way one push can follow another
    for (const [seed, rows, chunkCount] of [
      [1, 3, 1],
      [2, 5, 1],
      [3, big, 2],
      [4, big, 2],
      [5, 7, 1],
      [6, 0, 0],
    ] as const) {
      await push.push({
        videoId,
        modality: 'vision',
        kind: 'frames',
        shape: [rows, TINY_FUSION_DIM],
        data: floats(rows * TINY_FUSION_DIM, seed),
        items: [],
        model: `m${seed}`,
      });
      const left = await chunks(videoId);
      assert.deepEqual(
        left.map((c) => c.n),
        chunkCount ? [chunkCount] : [],
        `after push ${seed}: one generation left, of ${chunkCount} chunks`,
      );
      const [row] = await store.rows(videoId);
      assert.equal(row!.model, `m${seed}`);
      assert.deepEqual(row!.shape, [rows, TINY_FUSION_DIM]);
      assert.ok(Buffer.from(floats(rows * TINY_FUSION_DIM, seed).buffer).equals(row!.data), `push ${seed} reads back`);
    }
  } finally {
    push.close();
  }
});

test('overlapping pushes of one tensor (a retried push, a job run twice) each commit whole: the later never loses chunks to the earlier', async () => {
  const videoId = randomUUID();
  const rows = (3 * CHUNK_BYTES) / (4 * TINY_FUSION_DIM);
  const shape = [rows, TINY_FUSION_DIM];
  const dataA = floats(rows * TINY_FUSION_DIM, 5);
  const dataB = floats(rows * TINY_FUSION_DIM, 6);
  const bytesB = Buffer.from(dataB.buffer);
  const b = store.writer(videoId, 'text', 'tokens');
  await b.write(bytesB.subarray(0, 2 * CHUNK_BYTES)); // B is two chunks in…
  await store.put(videoId, { modality: 'text', kind: 'tokens', shape, data: dataA, items: [], model: 'A' }); // …when A lands whole
  await b.write(bytesB.subarray(2 * CHUNK_BYTES));
  await b.commit({ shape, items: [], model: 'B' });
  const [row] = await store.rows(videoId);
  assert.equal(row!.model, 'B');
  assert.ok(bytesB.equals(row!.data), "B's three chunks, all of them");
  assert.deepEqual(
    (await chunks(videoId)).map((c) => c.n),
    [3],
    "A's generation dropped by B's commit, which replaced it",
  );
});

test('a commit drops what a push that died long ago left, and leaves a push still being written alone', async () => {
  const videoId = randomUUID();
  const dead = randomUUID();
  const alive = randomUUID();
  for (const [generation, age] of [
    [dead, '1 hour'],
    [alive, '5 seconds'],
  ]) {
    await db.query(
      `INSERT INTO embedding_chunks (video_id, modality, kind, generation, first_byte, data, created_at) VALUES ($1, 'vision', 'frames', $2, 0, '\\x00', now() - $3::interval)`,
      [videoId, generation, age],
    );
  }
  await store.put(videoId, { modality: 'vision', kind: 'frames', shape: [1, TINY_FUSION_DIM], data: floats(TINY_FUSION_DIM, 7), items: [], model: 'v' });
  const left = (await chunks(videoId)).map((c) => c.generation);
  assert.ok(!left.includes(dead), 'the dead push is dropped');
  assert.ok(left.includes(alive), 'a push in progress keeps its chunks');
  assert.equal(left.length, 2);
});

/** A push stream written by hand: head, then `parts` raw chunks; `end` false leaves it open. */
function rawPush(head: object, parts: Buffer[], finish: 'end' | 'cancel'): Promise<{ err: grpc.ServiceError | null }> {
  const client = grpcClient(FUSION_SERVICE, address);
  return new Promise((resolve) => {
    const call = (client as unknown as { PushEmbeddings: Function }).PushEmbeddings({ deadline: Date.now() + 15_000 }, (err: grpc.ServiceError | null) => {
      client.close();
      resolve({ err });
    }) as grpc.ClientWritableStream<unknown>;
    call.on('error', () => undefined);
    parts.forEach((data, i) => call.write(i === 0 ? { ...head, data } : { data }));
    if (finish === 'end') call.end();
    else setTimeout(() => call.cancel(), 300);
  });
}

test('a push that breaks off or overruns its shape leaves the stored tensor as it was, and no chunks behind', async () => {
  const videoId = randomUUID();
  const rows = 1000;
  const before = floats(rows * TINY_FUSION_DIM, 3);
  await store.put(videoId, { modality: 'text', kind: 'tokens', shape: [rows, TINY_FUSION_DIM], data: before, items: [], model: 'first' });
  const big = 4 * CHUNK_BYTES;
  const head = { videoId, modality: 'text', kind: 'tokens', shape: [big / (4 * TINY_FUSION_DIM), TINY_FUSION_DIM], itemsJson: '[]', model: 'second' };
  const parts = [randomBytes(CHUNK_BYTES), randomBytes(CHUNK_BYTES), randomBytes(CHUNK_BYTES)];

  const cancelled = await rawPush(head, parts, 'cancel');
  assert.equal(cancelled.err?.code, 1, 'cancelled by the client');
  const overrun = await rawPush({ ...head, shape: [10, TINY_FUSION_DIM] }, [randomBytes(4 * 10 * TINY_FUSION_DIM), randomBytes(4)], 'end');
  assert.match(overrun.err?.details ?? '', /pushed more than the 1280 bytes of shape \[10,32\]/);
  const huge = await rawPush(head, [randomBytes(5 * CHUNK_BYTES)], 'end');
  assert.match(huge.err?.details ?? '', /a push message carries at most 4194304 bytes/);
  const larger = await rawPush(head, [randomBytes(SERVER_MAX_RECEIVE_BYTES + 1)], 'end');
  assert.equal(larger.err?.code, 8, `refused by the transport: ${larger.err?.details}`); // RESOURCE_EXHAUSTED
  const badItems = await rawPush({ ...head, itemsJson: '{"not":"a list"}' }, [randomBytes(CHUNK_BYTES)], 'end');
  assert.match(badItems.err?.details ?? '', /items_json must be a JSON array/);

  // the broken push's chunks are dropped once its write in flight is done
  for (let i = 0; i < 50 && (await chunks(videoId)).length > 1; i++) await new Promise((r) => setTimeout(r, 100));
  const left = await chunks(videoId);
  assert.equal(left.length, 1, `generations left: ${JSON.stringify(left)}`);
  const [row] = await store.rows(videoId);
  assert.equal(row!.model, 'first');
  assert.ok(Buffer.from(before.buffer).equals(row!.data));
});

test('a long video fused window by window from the store answers as fusing it whole in memory does', async () => {
  const videoId = randomUUID();
  const seconds = 3600;
  const D = TINY_FUSION_DIM;
  const tokens = Array.from({ length: seconds * 4 }, (_, i) => ({ text: `w${i}`, charStart: i * 6, charEnd: i * 6 + 5, start: i / 4, end: (i + 1) / 4 }));
  const PROSODY = { f0MeanHz: 180, f0StdHz: 12, f0MinHz: 150, f0MaxHz: 220, energyDb: -18, voicedRatio: 0.7, rateProxy: 4 };
  const audio = Array.from({ length: seconds }, (_, i) => ({ start: i, end: i + 1, prosody: PROSODY }));
  const frames = Array.from({ length: seconds / 2 }, (_, i) => ({ time: 2 * i }));
  const pushed = [
    { modality: 'text' as const, kind: 'tokens', shape: [tokens.length, D], data: floats(tokens.length * D, 11), items: tokens as unknown[], model: 'bert' },
    { modality: 'audio' as const, kind: 'segments', shape: [audio.length, D], data: floats(audio.length * D, 12), items: audio as unknown[], model: 'e2v' },
    {
      modality: 'vision' as const,
      kind: 'frames',
      shape: [frames.length, D],
      data: floats(frames.length * D, 13),
      items: frames as unknown[],
      model: 'siglip',
    },
  ];
  assert.ok(pushed[0]!.data.byteLength > CHUNK_BYTES, 'the word pieces take more than one chunk');
  const push = new FusionPushClient(address);
  try {
    for (const t of pushed) await push.push({ videoId, ...t });
  } finally {
    push.close();
  }
  const plan: PlannedSegment[] = Array.from({ length: seconds / 4 }, (_, i) => ({ start: 4 * i, end: 4 * (i + 1), speech: true, voiceSeconds: null }));
  const present = ['text', 'audio', 'vision'];
  const served = JSON.parse(await service.fuse(videoId, present, {}, plan)) as unknown;

  // the same fusion, whole and in memory, with the model run here
  const fusionDir = bed.modelDir;
  const manifest = JSON.parse(readFileSync(modelFile('fusion', fusionDir, 'manifest'), 'utf8')) as FusionManifest;
  const session = await ort.InferenceSession.create(modelFile('fusion', fusionDir, 'model'));
  try {
    const seqs = collectSequences(pushed, new Set(present), manifest.dims);
    const fused = await fuseTimeline({
      seqs,
      plan,
      absent: {},
      unweighed: {},
      voice: null,
      limits: { ...EVIDENCE_LIMITS, windowSegments: plan.length },
      run: (feeds) => runFloatTensors(session, feeds),
    });
    assert.ok(fused.segments.length > 2 * EVIDENCE_LIMITS.windowSegments, 'more than two windows');
    const whole = JSON.parse(JSON.stringify(explain({ fused, seqs, manifest, unweighed: {} }, {}))) as unknown;
    assertClose(served, whole, '$');
  } finally {
    await session.release();
  }
});

/** Deep equality with numbers within 1e-3 (the runs batch rows differently; reported values are rounded). */
function assertClose(a: unknown, b: unknown, at: string): void {
  if (typeof a === 'number' && typeof b === 'number') {
    assert.ok(Math.abs(a - b) <= 1e-3, `${at}: ${a} vs ${b}`);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    assert.equal(a.length, b.length, `${at}: length`);
    a.forEach((x, i) => assertClose(x, b[i], `${at}[${i}]`));
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${at}: keys`);
    for (const k of Object.keys(a)) assertClose((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`);
    return;
  }
  assert.equal(a, b, at);
}
