// Per-video end-to-end wall time of the pipeline on synthetic clips; see bench/README.md.
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { collectFeatures, FeatureCache, generateSyntheticMmsa, readMmsaDataset } = require('../packages/cli/dist/src/research-api');
const { startTestStack } = require('../test/dist/support/stack-fixture');

const n = Number(process.argv[2] ?? 20);
const concurrency = Number(process.argv[3] ?? 4);
const durationSec = Number(process.argv[4] ?? 4);

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `mean ${(s.reduce((a, b) => a + b, 0) / s.length).toFixed(0)} ms, p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${s[s.length - 1]} ms`;
}

async function pass(stack, dataset, work, name, c) {
  const cache = FeatureCache.open(path.join(work, name), 'sims2', 'dataset');
  const r = await collectFeatures({ client: stack.client, dataset, cache, transcripts: 'dataset', concurrency: c });
  if (r.failed.length) console.log(`  ${r.failed.length} failed: ${r.failed.map((f) => `${f.id}: ${f.reason}`).join('; ')}`);
  return r;
}

(async () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'oa-pipeline-bench-'));
  const root = path.join(work, 'data');
  console.log(`pipeline bench: ${n} synthetic sims2 clips of ${durationSec} s, cpus ${os.cpus().length}, models ${process.env.MODEL_DIR ?? 'tiny pack'}`);
  let t = Date.now();
  await generateSyntheticMmsa({ root, dataset: 'sims2', clipsPerSplit: { train: 0, valid: 0, test: n }, seed: 1, durationSec });
  console.log(`generated in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  t = Date.now();
  const stack = await startTestStack(process.env.MODEL_DIR ? { MODEL_DIR: process.env.MODEL_DIR } : {});
  console.log(`stack ready in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  try {
    const dataset = readMmsaDataset(root, { dataset: 'sims2' });
    // Warm-up: the first video pays for session creation in every worker.
    await pass(stack, { ...dataset, samples: dataset.samples.slice(0, 1) }, work, 'warmup', 1);
    const serial = await pass(stack, dataset, work, 'serial', 1);
    console.log(`one video at a time: ${serial.processed} videos, per-video e2e ${stats(serial.clipWallMs)}`);
    const par = await pass(stack, dataset, work, 'parallel', concurrency);
    console.log(
      `${concurrency} in flight: ${par.processed} videos in ${(par.wallMs / 1000).toFixed(1)} s = ${(par.processed / (par.wallMs / 1000)).toFixed(2)} videos/s; per-video e2e ${stats(par.clipWallMs)}`,
    );
  } finally {
    await stack.teardown();
    rmSync(work, { recursive: true, force: true });
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
