import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ArtifactStore,
  ContractError,
  DEFAULT_PORTS,
  ProblemError,
  ServiceMetrics,
  artifactPaths,
  createLogger,
  parseStageOutput,
  type ModelWorkerContext,
  type StageJob,
} from '@omniaffect/core';
import type { Job } from 'bullmq';
import { loadVisionConfig } from '../src/config';
import { visionStage } from '../src/vision-stage';

const dir = mkdtempSync(path.join(tmpdir(), 'oa-vision-'));
const store = new ArtifactStore(path.join(dir, 'artifacts'));
const log = createLogger('vision-test', 'silent');
const metrics = new ServiceMetrics('vision-test');
const DIM = 4;

after(() => rmSync(dir, { recursive: true, force: true }));

interface Pushed {
  kind: string;
  modality: string;
  shape: number[];
  items: unknown[];
}

/**
 * The stage with a stand-in inference thread (one embedding per path, recording batch sizes) and a
 * fusion client that records pushes: what is under test is the stage's contract handling, not SigLIP.
 */
function stage(pushes: Pushed[], batches: number[] = []) {
  const thread = {
    async call(method: string, args: unknown[]) {
      assert.equal(method, 'embed');
      const paths = args[0] as string[];
      batches.push(paths.length);
      return { embeddings: paths.map((_, i) => Float32Array.from({ length: DIM }, () => i)), ms: 1 };
    },
  };
  const fusion = {
    async pushWithRetry(p: Pushed) {
      pushes.push({ kind: p.kind, modality: p.modality, shape: p.shape, items: p.items });
    },
  };
  const ctx = {
    cfg: { BATCH_MAX: 8, BATCH_WAIT_MS: 5 },
    thread,
    loaded: { name: 'test/siglip', provider: 'cpu', standIn: 'tiny' },
    store,
    fusion,
    log,
    metrics,
  };
  return visionStage(ctx as unknown as ModelWorkerContext<{ BATCH_MAX: number; BATCH_WAIT_MS: number }>);
}

const run = (handler: ReturnType<typeof stage>, id: string) => {
  const job: StageJob = { videoId: id, stage: 'vision', language: 'auto', inputs: { media: artifactPaths.stageOutput(id, 'media') }, enqueuedAt: Date.now() };
  return handler(job, { log, attempt: 1, bullJob: {} as Job<StageJob> });
};

async function media(id: string, frames: { path: string; time: number }[], extra: Record<string, unknown> = {}): Promise<void> {
  await store.writeJson(artifactPaths.stageOutput(id, 'media'), {
    durationSec: 4,
    formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
    hasAudio: false,
    hasVideo: frames.length > 0,
    audio: null,
    frames,
    probe: {},
    ...extra,
  });
}

test('frames become one fusion chunk, and the reported output meets the vision contract', async () => {
  const id = 'vframes';
  const frames = [0, 2, 4].map((t, i) => ({ path: artifactPaths.frame(id, i + 1), time: t }));
  await media(id, frames);
  const pushes: Pushed[] = [];
  const res = await run(stage(pushes), id);
  assert.equal(res.outcome, 'done');
  assert.deepEqual(
    pushes.map((p) => [p.modality, p.kind, p.shape]),
    [['vision', 'frames', [3, DIM]]],
  );
  assert.deepEqual(pushes[0].items, frames);
  const out = parseStageOutput('vision', res.output);
  assert.deepEqual(out, { frames: 3, dim: DIM, model: { name: 'test/siglip', provider: 'cpu', standIn: 'tiny' } });
});

test('a video without frames is skipped, with nothing pushed', async () => {
  const id = 'vnone';
  await media(id, []);
  const pushes: Pushed[] = [];
  const res = await run(stage(pushes), id);
  assert.equal(res.outcome, 'skipped');
  assert.equal(res.problem?.type, 'unsupported-media');
  assert.equal(pushes.length, 0);
});

test("a media.json that breaks its contract is our bug (retryable), never the file's fault", async () => {
  const id = 'vbroken';
  await media(id, [{ path: artifactPaths.frame(id, 1), time: 0 }], { frames: [{ path: 42 }] });
  const err = await run(stage([]), id).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ContractError, String(err));
  assert.ok(!(err instanceof ProblemError));
  assert.match(err.message, /media\.json does not match its contract: frames\.0\.path/);
});

test('config: defaults come from the shared vocabulary, VISION_MODEL_DIR is optional', () => {
  const cfg = loadVisionConfig({ OMNIAFFECT_INSECURE_GRPC: 'true' });
  assert.equal(cfg.OPS_PORT, DEFAULT_PORTS.ops.vision);
  assert.equal(cfg.VISION_MODEL_DIR, undefined);
  assert.equal(cfg.SHUTDOWN_TIMEOUT_MS, 25_000);
});
