import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Worker } from 'bullmq';
import {
  ArtifactStore,
  EMOTION_LABELS,
  FusionClient,
  FusionPushClient,
  QUEUES,
  SENTIMENT_LABELS,
  artifactPaths,
  completionJobId,
  newWebhookSecret,
  runStageWorker,
  type Db,
  type FuseRequest,
  type StageCompletion,
  type StageJob,
  type StageName,
} from '@omniaffect/core';
import { fusionStageHandler, type Fuser } from '../src/fusion-stage';
import { Orchestrator } from '../src/orchestrator';
import { WebhookService } from '../src/webhooks';
import { startFusion, testInfra, uploadSubmit } from './support';

/**
 * The fusion stage reports like every other stage: a worker on the fusion queue (runStageWorker)
 * calls Fuse, stores the result and reports `done` (or `failed`) as a StageCompletion on the
 * completions queue; only the orchestrator's completion consumer moves the video.
 */
const infra = testInfra('orchestrator-fusion-stage');
const { queues, log, metrics } = infra;
const dir = mkdtempSync(path.join(tmpdir(), `oa-fs-${infra.tag}-`));
const store = new ArtifactStore(path.join(dir, 'artifacts'));
let db: Db;
let orch: Orchestrator;
let fusion: Awaited<ReturnType<typeof startFusion>>;
let client: FusionClient;
let completions: Worker;
const workers: Worker[] = [];

before(async () => {
  db = await infra.setup();
  fusion = await startFusion(db, log);
  client = new FusionClient(fusion.address);
  const webhooks = new WebhookService(db, queues, { allowPrivate: true, callbackSecret: newWebhookSecret(), retryScale: 0.001, timeoutMs: 2000 }, log, metrics);
  orch = new Orchestrator(db, queues, store, webhooks, log, metrics, client);
  completions = queues.worker<StageCompletion>(QUEUES.completions, (job) => orch.onCompletion(job.data), { concurrency: 2 });
});

after(async () => {
  for (const w of workers) await w.close();
  await completions.close();
  client.close();
  await fusion.close();
  await infra.teardown();
  rmSync(dir, { recursive: true, force: true });
});

const model = (name: string) => ({ model: { name, provider: 'cpu' } });
const completion = (videoId: string, stage: StageName, output: Record<string, unknown>) =>
  ({ videoId, stage, outcome: 'done', output, startedAt: Date.now(), finishedAt: Date.now(), attempts: 1 }) as StageCompletion;

/** A video with every stage before fusion done, so its fusion job is on the queue. */
async function readyForFusion(opts: { speech?: { start: number; end: number }[]; durationSec?: number } = {}): Promise<string> {
  const id = randomUUID();
  await orch.submit(uploadSubmit('owner-f', id));
  await orch.onCompletion(completion(id, 'media', { durationSec: 5, hasAudio: true, hasVideo: true, frameCount: 3, formatName: 'mp4' }));
  if (opts.durationSec !== undefined) {
    await store.writeJson(artifactPaths.stageOutput(id, 'media'), {
      durationSec: opts.durationSec,
      formatName: 'mp4',
      hasAudio: true,
      hasVideo: true,
      audio: artifactPaths.audio(id),
      frames: [],
      probe: {},
    });
  }
  await store.writeJson(artifactPaths.stageOutput(id, 'asr'), {
    ...(opts.speech ? { speech: { regions: opts.speech, speechRatio: 0, durationSec: opts.durationSec ?? 5, model: 'silero-vad v4' } } : {}),
    language: 'en',
    languageProbability: 0.9,
    topLanguage: { id: 1, code: 'en' },
    languageOutOfScope: false,
    noSpeechProbability: 0.01,
    text: 'hello there',
    segments: [{ start: 0, end: 1, text: 'hello there', charStart: 0, charEnd: 11 }],
  });
  await orch.onCompletion(completion(id, 'asr', { hasSpeech: true, language: 'en', languageProbability: 0.9, segments: 1, ...model('whisper') }));
  await orch.onCompletion(completion(id, 'vision', { frames: 3, dim: 4, ...model('siglip') }));
  await orch.onCompletion(completion(id, 'audio-emotion', { segments: 1, dim: 4, speechEmotion: null, ...model('emotion2vec') }));
  await orch.onCompletion(completion(id, 'text', { tokens: 2, windows: 1, model: { name: 'bert', language: 'en', slot: 'en' } }));
  return id;
}

/** A fusion part the result schema accepts (what Fuse returns as fusion_json). */
function fusionPart() {
  const uniform = (labels: readonly string[]) => Object.fromEntries(labels.map((l) => [l, 1 / labels.length]));
  const part = {
    sentiment: { label: SENTIMENT_LABELS[0], probabilities: uniform(SENTIMENT_LABELS), intensity: 0 },
    emotion: { label: EMOTION_LABELS[0], probabilities: uniform(EMOTION_LABELS) },
    modalities: {
      text: { present: true, contribution: 1 },
      audio: { present: false, contribution: 0, reason: 'x' },
      vision: { present: false, contribution: 0, reason: 'x' },
    },
    evidence: { words: [], audioSegments: [], frames: [] },
    faithfulness: { comprehensiveness: null, sufficiency: null, items: 0, reason: 'no evidence item was verified by deletion' },
    decisionPath: [{ step: 1, description: 'stub' }],
  };
  return { ...part, timeline: [{ start: 0, end: 3, speech: true, verdictWeight: 1, ...part }], models: { fusion: { name: 'fusion-stub', version: '0' } } };
}

function fusionWorker(fuser: Fuser): Worker<StageJob> {
  const w = runStageWorker({
    queues,
    queue: QUEUES.fusion,
    stage: 'fusion',
    concurrency: 1,
    log,
    metrics,
    handler: fusionStageHandler({ db, store, fusion: fuser }),
  });
  workers.push(w);
  return w;
}

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('fusion done travels the completions queue: the result is stored and the video succeeds', async () => {
  const id = await readyForFusion();
  const asked: FuseRequest[] = [];
  const w = fusionWorker({ fuse: async (req) => (asked.push(req), JSON.stringify(fusionPart())) });
  const status = await until('succeeded', async () => {
    const doc = await orch.get('owner-f', id);
    return doc.status === 'succeeded' && doc;
  });
  await w.close();
  assert.equal(status.stages.fusion?.state, 'done');
  // no media.json (no known duration) and no VAD record: one segment over everything, voice unknown
  assert.deepEqual(asked, [{ videoId: id, present: ['text', 'audio', 'vision'], absent: {}, language: 'en', segments: [], voice: null }]);
  const reported = await queues.get(QUEUES.completions).getJob(completionJobId(id, 'fusion'));
  assert.ok(reported, 'the fusion stage reported through the completions queue');
  assert.equal((reported.data as StageCompletion).outcome, 'done');
  const result = (await orch.getResult('owner-f', id)) as { transcript: { text: string }; timings: Record<string, unknown>; models: Record<string, unknown> };
  assert.equal(result.transcript.text, 'hello there');
  assert.ok(result.timings.fusion, 'fusion is timed from its run even before its started report lands');
  assert.ok(result.models.fusion && result.models.asr);
});

test('the timeline plan and the voice go with Fuse; a track the VAD found no voice in is not fused as audio', async () => {
  const voiced = await readyForFusion({ durationSec: 30, speech: [{ start: 0.1, end: 1.2 }] });
  const silent = await readyForFusion({ durationSec: 30, speech: [] });
  const asked: FuseRequest[] = [];
  const w = fusionWorker({ fuse: async (req) => (asked.push(req), JSON.stringify(fusionPart())) });
  await until(
    'both succeeded',
    async () => (await orch.get('owner-f', voiced)).status === 'succeeded' && (await orch.get('owner-f', silent)).status === 'succeeded',
  );
  await w.close();
  const a = asked.find((r) => r.videoId === voiced)!;
  assert.deepEqual(a.present, ['text', 'audio', 'vision']);
  assert.deepEqual(a.voice, [{ start: 0.1, end: 1.2 }]);
  // the transcript's one segment (0–1 s, its lead-out shared) and 29 s without speech, in windows of at most 10 s
  assert.equal(a.segments![0]!.start, 0);
  assert.equal(a.segments![a.segments!.length - 1]!.end, 30);
  assert.equal(a.segments![0]!.speech, true);
  assert.ok(a.segments!.slice(1).every((x) => !x.speech && x.end - x.start <= 10));
  const b = asked.find((r) => r.videoId === silent)!;
  assert.deepEqual(b.present, ['text', 'vision']);
  assert.equal(b.absent.audio, 'no voice detected in the audio track (silero-vad v4)');
});

test('fusion finding nothing to analyse fails the video at once with that problem, no retries', async () => {
  const id = await readyForFusion();
  const err = Object.assign(new Error('3 INVALID_ARGUMENT'), {
    code: 3,
    details: JSON.stringify({ slug: 'nothing-to-analyse', detail: 'nothing to analyse: text: no speech detected' }),
  });
  let calls = 0;
  const w = fusionWorker({ fuse: async () => (calls++, Promise.reject(err)) });
  const doc = await until('failed', async () => {
    const d = await orch.get('owner-f', id);
    return d.status === 'failed' && d;
  });
  await w.close();
  assert.equal(calls, 1);
  assert.equal(doc.error?.type, 'https://omniaffect.dev/problems/nothing-to-analyse');
  assert.equal(doc.error?.detail, 'nothing to analyse: text: no speech detected');
});

test("a fusion failure on the last attempt fails the video with fusion's detail, never the transport text", async () => {
  const id = await readyForFusion();
  // one attempt: this one is the last
  const job = await queues.get(QUEUES.fusion).getJob(`${id}.fusion`);
  assert.ok(job);
  await queues.get(QUEUES.fusion).remove(job.id!);
  await queues.get(QUEUES.fusion).add('fusion', job.data as StageJob, { jobId: `${id}.fusion`, attempts: 1 });
  const err = Object.assign(new Error('14 UNAVAILABLE: connect ECONNREFUSED 10.0.0.7:50052'), {
    code: 14,
    details: JSON.stringify({ slug: 'model-error', detail: 'no modality has embeddings to fuse' }),
  });
  const w = fusionWorker({ fuse: async () => Promise.reject(err) });
  const doc = await until('failed', async () => {
    const d = await orch.get('owner-f', id);
    return d.status === 'failed' && d;
  });
  await w.close();
  assert.equal(doc.stages.fusion?.state, 'failed');
  assert.equal(doc.error?.detail, 'fusion failed: no modality has embeddings to fuse');
  assert.ok(!JSON.stringify(doc).includes('10.0.0.7'));
});

test('GET /features comes from fusion (GetFeatures), not from the orchestrator reading embeddings', async () => {
  const id = randomUUID();
  await orch.submit(uploadSubmit('owner-f', id));
  const push = new FusionPushClient(fusion.address);
  try {
    await push.pushWithRetry({
      videoId: id,
      modality: 'vision',
      kind: 'frames',
      shape: [1, 2],
      data: new Float32Array([0.5, -1]),
      items: [{ time: 0 }],
      model: 'siglip',
    });
  } finally {
    push.close();
  }
  const f = (await orch.features('owner-f', id)) as {
    id: string;
    tensors: { modality: string; kind: string; shape: number[]; data: string; items: unknown[]; model: string }[];
  };
  assert.equal(f.id, id);
  assert.equal(f.tensors.length, 1);
  const t = f.tensors[0];
  assert.deepEqual([t.modality, t.kind, t.shape, t.items, t.model], ['vision', 'frames', [1, 2], [{ time: 0 }], 'siglip']);
  const back = Buffer.from(t.data, 'base64');
  assert.deepEqual(Array.from(new Float32Array(back.buffer, back.byteOffset, 2)), [0.5, -1]);
  await assert.rejects(orch.features('someone-else', id), (e: { slug?: string }) => e.slug === 'not-found');
});
