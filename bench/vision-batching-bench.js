// Vision batching across jobs, at the service level: the vision stage handler with its real inference thread
// (SigLIP under ONNX Runtime; the tiny pack unless MODEL_DIR is set), fed by C concurrent clients that each send
// short videos back to back (F frames each, from a raw frame stream as media writes it). For BATCH_MAX 1 (no
// batching) and BATCH_MAX 8 it prints images/s, the mean model-call batch size and the per-video latency
// (p50/p95), then compares the throughputs at equal p95. See bench/README.md.
//
//   node bench/vision-batching-bench.js [--videos 120] [--frames 2] [--clients 1,2,4,8] [--wait-ms 10] [--provider cpu]
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..');
const core = require(path.join(REPO, 'packages/core/dist/src'));
const { buildTinyPack } = require(path.join(REPO, 'packages/models/dist/src'));
const { visionStage } = require(path.join(REPO, 'services/vision/dist/src/vision-stage'));

function parseArgs(argv) {
  const o = { videos: 120, frames: 2, clients: [1, 2, 4, 8], waitMs: 10, provider: 'cpu' };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[++i];
    if (argv[i - 1] === '--videos') o.videos = Number(v);
    else if (argv[i - 1] === '--frames') o.frames = Number(v);
    else if (argv[i - 1] === '--clients') o.clients = v.split(',').map(Number);
    else if (argv[i - 1] === '--wait-ms') o.waitMs = Number(v);
    else if (argv[i - 1] === '--provider') o.provider = v;
    else throw new Error(`unknown argument ${argv[i - 1]}`);
  }
  return o;
}

const quantile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

(async () => {
  const o = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oa-vision-bench-'));
  const store = new core.ArtifactStore(path.join(dir, 'artifacts'));
  const modelDir = process.env.MODEL_DIR
    ? path.join(process.env.MODEL_DIR, 'vision')
    : (buildTinyPack(path.join(dir, 'models')), path.join(dir, 'models', 'vision'));
  const thread = core.ThreadClient.start(path.join(REPO, 'services/vision/dist/src/vision-thread.js'), { modelDir, provider: o.provider });
  const loaded = await thread.call('load');
  const log = core.createLogger('vision-bench', 'silent');
  console.log(
    `vision batching bench: ${o.videos} videos of ${o.frames} frames per setting, clients ${o.clients.join('/')}, BATCH_WAIT_MS ${o.waitMs}, ` +
      `model ${loaded.name} on ${o.provider}, cpus ${os.cpus().length}, load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
  );
  try {
    // One media.json + raw frame stream (224×224 RGB, what media writes) per video.
    const rnd = core.mulberry32(7);
    for (let v = 0; v < o.videos; v++) {
      const id = `bench-${v}`;
      const images = [];
      for (let i = 0; i < o.frames; i++) {
        const px = Buffer.alloc(224 * 224 * 3);
        for (let k = 0; k < px.length; k += 97) px[k] = Math.floor(rnd() * 256);
        images.push(Buffer.from('P6\n224 224\n255\n'), px);
      }
      const pixels = `${core.artifactPaths.framesDir(id)}/pixels.ppm`;
      await store.writeFile(pixels, Buffer.concat(images));
      await store.writeJson(core.artifactPaths.stageOutput(id, 'media'), {
        durationSec: 2 * o.frames,
        formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
        hasAudio: false,
        hasVideo: true,
        audio: null,
        frames: Array.from({ length: o.frames }, (_, i) => ({ path: core.artifactPaths.frame(id, i), time: 2 * i })),
        pixels,
        probe: {},
      });
    }
    const job = (videoId) => ({
      videoId,
      stage: 'vision',
      language: 'auto',
      inputs: { media: core.artifactPaths.stageOutput(videoId, 'media') },
      enqueuedAt: Date.now(),
    });
    const hctx = { log, attempt: 1, bullJob: {} };
    const fusion = { pushWithRetry: async () => undefined };

    const run = async (batchMax, clients) => {
      const batches = [];
      const recording = {
        call: (method, args) => {
          batches.push(args[0].length);
          return thread.call(method, args);
        },
      };
      const metrics = new core.ServiceMetrics('vision-bench');
      const handler = visionStage({ cfg: { BATCH_MAX: batchMax, BATCH_WAIT_MS: o.waitMs }, thread: recording, loaded, store, fusion, log, metrics });
      await handler(job('bench-0'), hctx); // warm-up
      batches.length = 0;
      const latencies = [];
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (next < o.videos) {
            const id = `bench-${next++}`;
            const s = performance.now();
            await handler(job(id), hctx);
            latencies.push(performance.now() - s);
          }
        }),
      );
      const sec = (performance.now() - t0) / 1000;
      return {
        batchMax,
        clients,
        imagesPerSec: (o.videos * o.frames) / sec,
        meanBatch: batches.reduce((a, b) => a + b, 0) / batches.length,
        maxBatch: Math.max(...batches),
        p50: quantile(latencies, 0.5),
        p95: quantile(latencies, 0.95),
      };
    };

    const rows = [];
    console.log(
      `${'clients'.padEnd(8)}${'BATCH_MAX'.padStart(10)}${'images/s'.padStart(10)}${'mean batch'.padStart(12)}${'max batch'.padStart(11)}${'p50 ms'.padStart(9)}${'p95 ms'.padStart(9)}`,
    );
    for (const clients of o.clients) {
      for (const batchMax of [1, 8]) {
        const r = await run(batchMax, clients);
        rows.push(r);
        console.log(
          `${String(clients).padEnd(8)}${String(batchMax).padStart(10)}${r.imagesPerSec.toFixed(1).padStart(10)}${r.meanBatch.toFixed(2).padStart(12)}${String(r.maxBatch).padStart(11)}${r.p50.toFixed(1).padStart(9)}${r.p95.toFixed(1).padStart(9)}`,
        );
      }
    }
    // Equal p95: for each p95 budget that batch 1 meets at some load, the best throughput each setting reaches
    // within it.
    console.log('at equal p95 (the best images/s each setting reaches with a p95 at or under the budget):');
    for (const budget of rows.filter((r) => r.batchMax === 1).map((r) => r.p95)) {
      const best = (b) => Math.max(0, ...rows.filter((r) => r.batchMax === b && r.p95 <= budget * 1.0001).map((r) => r.imagesPerSec));
      const [one, eight] = [best(1), best(8)];
      console.log(
        `  p95 ≤ ${budget.toFixed(1)} ms: BATCH_MAX 1 ${one.toFixed(1)} images/s, BATCH_MAX 8 ${eight.toFixed(1)} images/s (${one > 0 ? (eight / one).toFixed(2) : '—'}×)`,
      );
    }
  } finally {
    await thread.close();
    rmSync(dir, { recursive: true, force: true });
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
