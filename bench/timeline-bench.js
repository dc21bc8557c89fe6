// The emotion timeline's cost (docs/architecture.md §13): fusion time per segment with and without
// the deletion checks that verify the evidence, model runs and rows, and the size of the explanation,
// for videos of 10 min, 1 h and 2 h. The fusion model is a policy with the real encoders' widths
// (768/768/768, hidden 64, exported to ONNX and run by onnxruntime-node on the CPU, one thread per core)
// fed seeded embeddings: Whisper-like utterances of 3–6 s, 1 s audio segments, a frame every 2 s,
// three word pieces a second.
//   node bench/timeline-bench.js [minutes=10,60,120]          (TIMELINE_BENCH_REPORTS=dir keeps the rendered reports)
'use strict';
const os = require('node:os');
const path = require('node:path');
const { mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const ort = require('../packages/models/node_modules/onnxruntime-node');
const { planTimeline, validateResult } = require('../packages/core');
const { runFloatTensors } = require('../packages/models');
const { fuseTimeline, explain } = require('../packages/explain');
const { exportPolicyOnnx, initPolicy } = require('../packages/policy');
const { renderReport } = require('../services/gateway');

const DIMS = { text: 768, audio: 768, vision: 768 };
const PROSODY = { f0MeanHz: 180, f0StdHz: 12, f0MinHz: 150, f0MaxHz: 220, energyDb: -18, voicedRatio: 0.7, rateProxy: 4 };

function seeded(n, seed) {
  let s = seed;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return out;
}

function video(seconds) {
  const tokens = [];
  for (let t = 0; t + 1 / 3 <= seconds; t += 1 / 3)
    tokens.push({ text: `w${tokens.length}`, charStart: tokens.length * 4, charEnd: tokens.length * 4 + 3, start: t, end: t + 1 / 3 });
  const audio = Array.from({ length: Math.ceil(seconds) }, (_, i) => ({ start: i, end: Math.min(seconds, i + 1), prosody: PROSODY }));
  const frames = Array.from({ length: Math.ceil(seconds / 2) }, (_, i) => ({ time: 2 * i }));
  const seq = (items, dim, seed) => ({ present: true, length: items.length, dim, data: seeded(items.length * dim, seed), items, model: null });
  const transcript = [];
  for (let t = 0.5; t < seconds - 6;) {
    const len = 3 + ((t * 7) % 3);
    transcript.push({ start: t, end: t + len });
    t += len + 0.4;
  }
  return { seqs: { text: seq(tokens, DIMS.text, 1), audio: seq(audio, DIMS.audio, 2), vision: seq(frames, DIMS.vision, 3) }, transcript };
}

async function main() {
  const minutes = (process.argv[2] ?? '10,60,120').split(',').map(Number);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oa-timeline-bench-'));
  try {
    const params = initPolicy({ dims: DIMS, hidden: 64, seed: 7 });
    exportPolicyOnnx(params, { provenance: { source: 'timeline bench' } }, dir);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'fusion.json'), 'utf8'));
    const session = await ort.InferenceSession.create(path.join(dir, 'fusion.onnx'), { graphOptimizationLevel: 'all', intraOpNumThreads: os.cpus().length });
    const run = (feeds) => runFloatTensors(session, feeds);
    console.log(`fusion policy 768/768/768 hidden 64 on onnxruntime-node CPU (${os.cpus().length} threads); ${new Date().toISOString()}`);
    console.log('| media | segments | verify | rows | runs | fusion s | ms/segment | result part | report (exported) |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const m of minutes) {
      const { seqs, transcript } = video(m * 60);
      const plan = planTimeline({ durationSec: m * 60, transcript, voice: transcript });
      for (const verify of [false, true]) {
        const t0 = performance.now();
        const fused = await fuseTimeline({ seqs, plan, absent: {}, unweighed: {}, run, verify });
        const ms = performance.now() - t0;
        const part = explain({ fused, seqs, manifest, unweighed: {} }, {});
        const bytes = Buffer.byteLength(JSON.stringify(part));
        let report = '';
        if (verify) {
          const doc = {
            id: '00000000-0000-4000-8000-000000000000',
            status: 'succeeded',
            language: 'en',
            ...part,
            transcript: { language: 'en', text: seqs.text.items.map((t) => t.text).join(' '), segments: transcript.map((t) => ({ ...t, text: '' })) },
            timings: {},
            disclaimer: 'OmniAffect reports how emotion is expressed and would likely be perceived by an observer; it does not measure what a person feels.',
          };
          const v = validateResult(doc);
          if (!v.ok) throw new Error(v.errors.slice(0, 3).join('; '));
          const t1 = performance.now();
          const html = renderReport(doc, {
            lang: 'en',
            nonce: 'bench',
            exported: true,
            media: { none: 'report.video.exported' },
            frames: { none: 'report.frames.erased' },
          });
          report = `${(Buffer.byteLength(html) / 1e6).toFixed(2)} MB, rendered in ${((performance.now() - t1) / 1000).toFixed(2)} s`;
          // TIMELINE_BENCH_REPORTS=dir keeps each report, to look at
          if (process.env.TIMELINE_BENCH_REPORTS) writeFileSync(path.join(process.env.TIMELINE_BENCH_REPORTS, `report-${m}min.html`), html);
        }
        const rows = fused.rows.pass1 + fused.rows.pass2 + fused.rows.pass3;
        console.log(
          `| ${m} min | ${plan.length} | ${verify ? 'yes' : 'no'} | ${rows} | ${fused.rows.runs} | ${(ms / 1000).toFixed(2)} | ${(ms / plan.length).toFixed(1)} | ${(bytes / 1e6).toFixed(2)} MB | ${report} |`,
        );
      }
    }
    await session.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
