import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, ServiceMetrics, ThreadClient, artifactPaths, createLogger, mulberry32, type ModelWorkerContext, type StageJob } from '@omniaffect/core';
import { buildTinyPack } from '@omniaffect/models';
import type { Job } from 'bullmq';
import { visionStage, type FrameSource } from '../src/vision-stage';

/**
 * The vision service's batching across jobs, with its real inference thread (tiny SigLIP under ONNX
 * Runtime): frames of videos processed at the same time share model calls, and every video still
 * gets its own frames' embeddings, in order.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'oa-vision-batching-'));
const store = new ArtifactStore(path.join(dir, 'artifacts'));
const log = createLogger('vision-batching-test', 'silent');
let thread: ThreadClient;
let loaded: Record<string, unknown>;

before(async () => {
  buildTinyPack(path.join(dir, 'models'));
  thread = ThreadClient.start(path.join(__dirname, '..', 'src', 'vision-thread.js'), { modelDir: path.join(dir, 'models', 'vision'), provider: 'cpu' });
  loaded = await thread.call<Record<string, unknown>>('load');
});

after(async () => {
  await thread?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A video whose media.json lists `n` frames held in a PPM stream of random 64×48 pictures. */
async function video(id: string, n: number, seed: number): Promise<void> {
  const rnd = mulberry32(seed);
  const images: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const px = Buffer.alloc(64 * 48 * 3);
    for (let k = 0; k < px.length; k++) px[k] = Math.floor(rnd() * 256);
    images.push(Buffer.from('P6\n64 48\n255\n'), px);
  }
  const pixels = `${artifactPaths.framesDir(id)}/pixels.ppm`;
  await store.writeFile(pixels, Buffer.alloc(0));
  writeFileSync(store.resolve(pixels), Buffer.concat(images));
  await store.writeJson(artifactPaths.stageOutput(id, 'media'), {
    durationSec: 2 * n,
    formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
    hasAudio: false,
    hasVideo: true,
    audio: null,
    frames: Array.from({ length: n }, (_, i) => ({ path: artifactPaths.frame(id, i), time: 2 * i })),
    pixels,
    probe: {},
  });
}

/** The stage on the real thread, recording which frames each model call carried and what was pushed. */
function stage(batchMax: number, calls: FrameSource[][], pushed: Map<string, Float32Array>) {
  const recording = {
    call: (method: string, args: unknown[]) => {
      calls.push(args[0] as FrameSource[]);
      return thread.call(method, args);
    },
  };
  const fusion = {
    async pushWithRetry(p: { videoId: string; data: Float32Array }) {
      pushed.set(p.videoId, p.data);
    },
  };
  const ctx = {
    cfg: { BATCH_MAX: batchMax, BATCH_WAIT_MS: 30 },
    thread: recording,
    loaded,
    store,
    fusion,
    log,
    metrics: new ServiceMetrics('vision-batching-test'),
  };
  return visionStage(ctx as unknown as ModelWorkerContext<{ BATCH_MAX: number; BATCH_WAIT_MS: number }>);
}

const job = (videoId: string): StageJob => ({
  videoId,
  stage: 'vision',
  language: 'auto',
  inputs: { media: artifactPaths.stageOutput(videoId, 'media') },
  enqueuedAt: Date.now(),
});
const hctx = { log, attempt: 1, bullJob: {} as Job<StageJob> };
const videoOf = (f: FrameSource) => (typeof f === 'string' ? f : f.file).split('/videos/')[1]!.split('/')[0]!;

test('three videos at once share model calls (batches mix videos) and each gets exactly its own embeddings', async () => {
  const ids = ['vb-a', 'vb-b', 'vb-c'];
  await Promise.all(ids.map((id, i) => video(id, 5, i + 1)));

  const alone = new Map<string, Float32Array>();
  const aloneCalls: FrameSource[][] = [];
  for (const id of ids) await stage(1, aloneCalls, alone)(job(id), hctx);
  assert.ok(aloneCalls.every((c) => c.length === 1));
  assert.equal(aloneCalls.length, 15);

  const together = new Map<string, Float32Array>();
  const calls: FrameSource[][] = [];
  const handler = stage(8, calls, together);
  const results = await Promise.all(ids.map((id) => handler(job(id), hctx)));
  assert.ok(results.every((r) => r.outcome === 'done'));
  assert.equal(
    calls.reduce((a, c) => a + c.length, 0),
    15,
    'every frame embedded once',
  );
  assert.ok(calls.length <= 3, `15 frames in ${calls.length} calls of at most 8`);
  assert.ok(
    calls.some((c) => new Set(c.map(videoOf)).size > 1),
    `no call mixed videos: ${JSON.stringify(calls.map((c) => c.map(videoOf)))}`,
  );
  for (const id of ids) {
    const a = alone.get(id)!;
    const b = together.get(id)!;
    assert.equal(b.length, a.length);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5, `${id}[${i}]: batched ${b[i]} vs alone ${a[i]}`);
  }
  // and the videos are told apart: their embeddings differ
  assert.ok(together.get('vb-a')!.some((v, i) => Math.abs(v - together.get('vb-b')![i]!) > 1e-4));
});
