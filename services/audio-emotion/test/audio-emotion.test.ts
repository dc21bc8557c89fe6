import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, ServiceMetrics, ThreadClient, artifactPaths, createLogger, type ModelWorkerContext, type StageJob } from '@omniaffect/core';
import { writeWavFloat32 } from '@omniaffect/features';
import { buildTinyPack } from '@omniaffect/models';
import type { Job } from 'bullmq';
import { audioEmotionStage, type AudioEmotionArtifact } from '../src/audio-emotion-stage';
import type { AudioAnalysis } from '../src/audio-emotion-thread';

const dir = mkdtempSync(path.join(tmpdir(), 'oa-audio-emotion-'));
const store = new ArtifactStore(path.join(dir, 'artifacts'));
const log = createLogger('audio-emotion-test', 'silent');
const metrics = new ServiceMetrics('audio-emotion-test');
let thread: ThreadClient;
let loaded: Record<string, unknown>;

before(async () => {
  buildTinyPack(path.join(dir, 'models'));
  thread = ThreadClient.start(path.join(__dirname, '..', 'src', 'audio-emotion-thread.js'), {
    modelDir: path.join(dir, 'models', 'audio-emotion'),
    provider: 'cpu',
    maxSegments: 600,
  });
  loaded = await thread.call<Record<string, unknown>>('load');
});

after(async () => {
  await thread?.close();
  rmSync(dir, { recursive: true, force: true });
});

const tone = (n: number) => Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 220 * i) / 16000));

async function wav(id: string, samples: number): Promise<string> {
  const rel = artifactPaths.audio(id);
  await store.writeFile(rel, Buffer.alloc(0));
  writeWavFloat32(store.resolve(rel), tone(samples), 16000);
  return rel;
}

interface Pushed {
  kind: string;
  shape: number[];
}

/** The stage with the real inference thread and artifact store, and a fusion client that records pushes. */
function stage(opts: { pushes?: Pushed[]; failPush?: boolean; threadOverride?: Partial<ThreadClient> } = {}) {
  const fusion = {
    async pushWithRetry(p: Pushed) {
      if (opts.failPush) throw new Error('fusion unavailable');
      opts.pushes?.push({ kind: p.kind, shape: p.shape });
    },
  };
  const ctx = { cfg: {}, thread: opts.threadOverride ?? thread, loaded, store, fusion, log, metrics } as unknown as ModelWorkerContext<unknown>;
  return audioEmotionStage(ctx);
}
const job = (videoId: string, audio: string): StageJob => ({ videoId, stage: 'audio-emotion', language: 'auto', inputs: { audio }, enqueuedAt: Date.now() });
const hctx = { log, attempt: 1, bullJob: {} as Job<StageJob> };

test('thread: audio shorter than the 400-sample receptive field gives no segments instead of a RangeError', async () => {
  for (const n of [0, 1, 399]) {
    const id = randomUUID();
    const a = await thread.call<AudioAnalysis>('analyze', [store.resolve(await wav(id, n))]);
    assert.equal(a.items.length, 0, `${n} samples`);
    assert.equal(a.segments.length, 0);
    assert.equal(a.emotion, null);
  }
  const ok = await thread.call<AudioAnalysis>('analyze', [store.resolve(await wav(randomUUID(), 400))]);
  assert.equal(ok.items.length, 1, '400 samples are one frame');
  assert.ok(ok.dim > 0);
  // once the width is known, the empty analysis carries an utterance of that width
  const empty = await thread.call<AudioAnalysis>('analyze', [store.resolve(await wav(randomUUID(), 100))]);
  assert.equal(empty.dim, ok.dim);
  assert.equal(empty.utterance.length, ok.dim);
});

test('stage: a 10 ms audio track skips the audio modality (no push, no artifact)', async () => {
  const id = randomUUID();
  const pushes: Pushed[] = [];
  const res = await stage({ pushes })(job(id, await wav(id, 160)), hctx);
  assert.equal(res.outcome, 'skipped');
  assert.equal(res.problem?.type, 'no-audio-track');
  assert.match(res.problem!.detail, /audio track shorter than 25 ms/);
  assert.deepEqual(pushes, []);
  assert.equal(await store.exists(artifactPaths.stageOutput(id, 'audio-emotion')), false);
});

test('stage: pushes segments then utterance, then writes audio-emotion.json; a re-run answers from the file without inference', async () => {
  const id = randomUUID();
  const pushes: Pushed[] = [];
  const first = await stage({ pushes })(job(id, await wav(id, 16000 * 2)), hctx);
  assert.equal(first.outcome, 'done');
  assert.deepEqual(
    pushes.map((p) => p.kind),
    ['segments', 'utterance'],
  );
  const art = await store.readJson<AudioEmotionArtifact>(artifactPaths.stageOutput(id, 'audio-emotion'));
  assert.equal(art.segments.length, first.output?.segments);
  assert.equal(art.dim, first.output?.dim);

  const again: Pushed[] = [];
  const noInference = { call: () => Promise.reject(new Error('inference must not run again')) } as unknown as ThreadClient;
  const second = await stage({ pushes: again, threadOverride: noInference })(job(id, artifactPaths.audio(id)), hctx);
  assert.deepEqual(second, first);
  assert.deepEqual(again, [], 'nothing pushed again');
});

test('stage: when the fusion push fails, no audio-emotion.json is written (so a retry re-runs and re-pushes)', async () => {
  const id = randomUUID();
  await assert.rejects(stage({ failPush: true })(job(id, await wav(id, 16000)), hctx), /fusion unavailable/);
  assert.equal(await store.exists(artifactPaths.stageOutput(id, 'audio-emotion')), false);
  const pushes: Pushed[] = [];
  const res = await stage({ pushes })(job(id, artifactPaths.audio(id)), hctx);
  assert.equal(res.outcome, 'done');
  assert.deepEqual(
    pushes.map((p) => p.kind),
    ['segments', 'utterance'],
  );
});
