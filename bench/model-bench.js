// Times each model worker's runner on one execution provider, in-process, on the tiny pack or on a
// real MODEL_DIR. Also the CUDA check: `node bench/model-bench.js cuda:0` either prints timings from
// the CUDA execution provider or the loader's message (no silent CPU fallback).
//   node bench/model-bench.js [cpu|cuda:<id>] [iterations=5]      (MODEL_DIR=... to use real exports)
'use strict';
const os = require('node:os');
const path = require('node:path');
const { mkdtempSync } = require('node:fs');
const { buildTinyPack, WhisperRunner, Emotion2vecRunner, SiglipRunner, BertRunner } = require('../packages/models');

async function main() {
  const provider = process.argv[2] ?? 'cpu';
  const iterations = Number(process.argv[3] ?? 5);
  const modelDir =
    process.env.MODEL_DIR ??
    (() => {
      const d = mkdtempSync(path.join(os.tmpdir(), 'oa-model-bench-'));
      buildTinyPack(d);
      return d;
    })();
  console.log(`provider ${provider}, models ${modelDir}, ${iterations} iterations, ${os.cpus().length} CPUs`);
  const seconds = 10;
  const audio = new Float32Array(16000 * seconds);
  for (let i = 0; i < audio.length; i++) audio[i] = 0.4 * Math.sin((2 * Math.PI * 180 * i) / 16000) * (0.6 + 0.4 * Math.sin((2 * Math.PI * 4 * i) / 16000));
  const pixels = Array.from({ length: 8 }, (_, k) => new Float32Array(3 * 224 * 224).fill((k / 8) * 2 - 1));
  const text = 'I am so happy today. This is wonderful news, and the meeting went great.';
  const jobs = [
    ['asr (whisper, 10 s)', () => WhisperRunner.load(path.join(modelDir, 'asr'), { provider }), (r) => r.transcribe(audio, { language: 'auto' })],
    ['audio-emotion (10 s)', () => Emotion2vecRunner.load(path.join(modelDir, 'audio-emotion'), { provider }), (r) => r.analyze(audio)],
    ['vision (batch of 8 frames)', () => SiglipRunner.load(path.join(modelDir, 'vision'), { provider }), (r) => r.embed(pixels)],
    ['text (en)', () => BertRunner.load(path.join(modelDir, 'text-en'), { provider }), (r) => r.embed(text)],
  ];
  let failed = 0;
  for (const [name, load, run] of jobs) {
    let runner;
    const t0 = performance.now();
    try {
      runner = await load();
    } catch (err) {
      failed++;
      console.log(`${name.padEnd(28)} LOAD FAILED: ${err.message}`);
      continue;
    }
    const loadMs = performance.now() - t0;
    await run(runner); // warm-up (CUDA kernels, arena)
    const times = [];
    for (let i = 0; i < iterations; i++) {
      const s = performance.now();
      await run(runner);
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    console.log(
      `${name.padEnd(28)} load ${loadMs.toFixed(0).padStart(6)} ms   median ${times[Math.floor(times.length / 2)].toFixed(1).padStart(8)} ms   min ${times[0].toFixed(1).padStart(8)} ms`,
    );
  }
  process.exitCode = failed ? 1 : 0;
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
