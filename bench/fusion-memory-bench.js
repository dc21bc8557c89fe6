// Fusion's own peak memory at the encoders' real widths, per video length (bench/README.md). The
// long-video bench runs the tiny pack, whose 32-float embeddings hide what a real pack pushes: a 2-hour
// video's word pieces at BERT's 768 floats are 66 MB. Here the fusion service runs alone in a child
// process (its package.json's Node flags, real PostgreSQL, real gRPC, a 768-wide fusion policy exported
// to ONNX and run by onnxruntime-node on the CPU); this process pushes seeded embeddings through
// PushEmbeddings as a worker would (3.4 word pieces per spoken second, 1 s audio segments, a frame every
// 2 s) and asks for the timeline through Fuse with the orchestrator's plan. For each video it prints the
// child's RSS before, its peak (VmHWM, reset through clear_refs) while the pushes land and while Fuse
// runs, and Fuse's wall time; each video gets a fresh fusion process. With --root before=<dir>, an older build is measured the same way.
//   node bench/fusion-memory-bench.js [--durations 600,3600,7200] [--dim 768] [--root after=.] [--root before=/tmp/oa-before-<sha>]
//   BEFORE=<git ref> bash bench/fusion-memory-bench.sh ...   (builds the older commit, like long-video-bench.sh)
'use strict';
const path = require('node:path');
const { spawn } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const { randomBytes, randomUUID } = require('node:crypto');

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// the child serves and this process calls with one token, as the stack's services do
process.env.OMNIAFFECT_SERVICE_TOKEN ||= randomBytes(32).toString('base64url');

function parseArgs(argv) {
  const opts = { durations: [600, 3600, 7200], dim: 768, roots: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--durations') opts.durations = argv[++i].split(',').map(Number);
    else if (a === '--dim') opts.dim = Number(argv[++i]);
    else if (a === '--root') {
      const [label, dir] = argv[++i].split('=');
      opts.roots.push({ label, dir: path.resolve(dir) });
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!opts.roots.length) opts.roots.push({ label: 'after', dir: path.resolve(__dirname, '..') });
  return opts;
}

// ---------------------------------------------------------------- child: the fusion service alone
async function child() {
  const root = process.env.FMB_ROOT;
  const core = require(path.join(root, 'packages/core'));
  const policy = require(path.join(root, 'packages/policy'));
  const { EmbeddingStore } = require(path.join(root, 'services/fusion/dist/src/embedding-store'));
  const { FusionService } = require(path.join(root, 'services/fusion/dist/src/fusion-service'));
  const dim = Number(process.env.FMB_DIM);
  const modelDir = mkdtempSync(path.join(os.tmpdir(), 'oa-fmb-model-'));
  policy.exportPolicyOnnx(
    policy.initPolicy({ dims: { text: dim, audio: dim, vision: dim }, hidden: 64, seed: 7 }),
    { provenance: { source: 'fusion memory bench' } },
    modelDir,
  );
  const url = process.env.FMB_DB;
  await core.ensureDatabase(url);
  const db = core.createDb(url, 10);
  await core.migrate(db, core.FUSION_MIGRATIONS);
  const service = new FusionService(new EmbeddingStore(db), core.createLogger('fusion', 'warn'), new core.ServiceMetrics('fusion'), {
    modelDir,
    provider: 'cpu',
    intraOpThreads: 0,
  });
  await service.load();
  const server = await core.startGrpcServer('127.0.0.1:0', [{ name: core.FUSION_SERVICE, impl: service.grpcImpl() }]);
  server.setServing(true);
  process.send({ port: server.port });
  if (process.env.FMB_TRACE)
    setInterval(() => {
      const m = process.memoryUsage();
      console.error(
        `rss ${(m.rss / 2 ** 20).toFixed(0)} heap ${(m.heapUsed / 2 ** 20).toFixed(0)}/${(m.heapTotal / 2 ** 20).toFixed(0)} ab ${(m.arrayBuffers / 2 ** 20).toFixed(0)} ext ${(m.external / 2 ** 20).toFixed(0)}`,
      );
    }, 250).unref();
  process.on('message', async (m) => {
    if (m !== 'stop') return;
    await server.close();
    await service.close();
    await db.end();
    rmSync(modelDir, { recursive: true, force: true });
    process.exit(0);
  });
}

// ---------------------------------------------------------------- parent
const statusKb = (pid, key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const mib = (kb) => kb / 1024;
const resetPeak = (pid) => writeFileSync(`/proc/${pid}/clear_refs`, '5');
const cpuSec = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

function seeded(n, seed) {
  let s = seed;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return out;
}

/** A worker's pushes for a video of `seconds`: speech 7 s of every 10 s, as the long-video bench's audio. */
function video(seconds, dim) {
  const utterances = [];
  for (let t = 0; t + 7 <= seconds; t += 10) utterances.push({ start: t + 0.5, end: t + 7 });
  const tokens = utterances.flatMap((u, k) =>
    Array.from({ length: 22 }, (_, j) => ({
      text: `w${k}_${j}`,
      charStart: j * 6,
      charEnd: j * 6 + 5,
      start: u.start + (j * 6.5) / 22,
      end: u.start + ((j + 1) * 6.5) / 22,
    })),
  );
  const prosody = { f0MeanHz: 180, f0StdHz: 12, f0MinHz: 150, f0MaxHz: 220, energyDb: -18, voicedRatio: 0.7, rateProxy: 4 };
  const audio = Array.from({ length: seconds }, (_, i) => ({ start: i, end: i + 1, prosody }));
  const frames = Array.from({ length: seconds / 2 }, (_, i) => ({ time: 2 * i, file: `frames/${String(i).padStart(6, '0')}.jpg` }));
  const tensor = (modality, kind, items, seed) => ({
    modality,
    kind,
    shape: [items.length, dim],
    data: seeded(items.length * dim, seed),
    items,
    model: `${modality}-bench`,
  });
  return {
    utterances,
    pushes: [tensor('text', 'tokens', tokens, 1), tensor('audio', 'segments', audio, 2), tensor('vision', 'frames', frames, 3)],
  };
}

/** One video on a fresh fusion process of `root`: its RSS idle, peak while pushed to, peak while fusing. */
async function measure(root, seconds, opts, core) {
  const flags = JSON.parse(readFileSync(path.join(root.dir, 'services/fusion/package.json'), 'utf8')).omniaffect?.nodeFlags ?? [];
  const dbName = `oa_fmb_${randomBytes(4).toString('hex')}`;
  const proc = spawn(process.execPath, [...flags, __filename, '--child'], {
    env: { ...process.env, FMB_ROOT: root.dir, FMB_DIM: String(opts.dim), FMB_DB: ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const { port } = await new Promise((resolve, reject) => {
      proc.once('message', resolve);
      proc.once('exit', (code) => reject(new Error(`fusion child exited with ${code}`)));
    });
    const address = `127.0.0.1:${port}`;
    const { utterances, pushes } = video(seconds, opts.dim);
    const plan = core.planTimeline({ durationSec: seconds, transcript: utterances, voice: utterances });
    const videoId = randomUUID();
    await new Promise((r) => setTimeout(r, 1000));
    const idle = mib(statusKb(proc.pid, 'VmRSS'));
    resetPeak(proc.pid);
    const push = new core.FusionPushClient(address, 300_000);
    const t0 = performance.now();
    try {
      // the three workers push side by side, as in the pipeline
      await Promise.all(pushes.map((p) => push.push({ videoId, ...p })));
    } finally {
      push.close();
    }
    const pushS = (performance.now() - t0) / 1000;
    const pushPeak = mib(statusKb(proc.pid, 'VmHWM'));
    resetPeak(proc.pid);
    const cpu0 = cpuSec(proc.pid);
    const fusion = new core.FusionClient(address);
    const t1 = performance.now();
    let json;
    try {
      json = await fusion.fuse({ videoId, present: ['text', 'audio', 'vision'], absent: {}, language: 'en', segments: plan, voice: utterances }, 600_000);
    } finally {
      fusion.close();
    }
    const fuseS = (performance.now() - t1) / 1000;
    const fusePeak = mib(statusKb(proc.pid, 'VmHWM'));
    const mb = pushes.reduce((a, p) => a + p.data.byteLength, 0) / 2 ** 20;
    const row = {
      root: root.label,
      seconds,
      segments: plan.length,
      pushedMb: mb,
      idle,
      pushPeak,
      pushS,
      fusePeak,
      fuseS,
      fuseCpu: cpuSec(proc.pid) - cpu0,
      resultMb: json.length / 1e6,
    };
    console.log(
      `[${root.label}] ${seconds} s: ${plan.length} segments, pushed ${mb.toFixed(1)} MiB in ${pushS.toFixed(1)} s; fusion RSS ${idle.toFixed(0)} MiB idle, ` +
        `peak ${pushPeak.toFixed(0)} while pushed to, ${fusePeak.toFixed(0)} while fusing (${fuseS.toFixed(1)} s, ${row.fuseCpu.toFixed(1)} s CPU); result ${row.resultMb.toFixed(2)} MB`,
    );
    return row;
  } finally {
    if (proc.exitCode === null) {
      proc.send('stop');
      await new Promise((r) => proc.once('exit', r));
    }
    const { Pool } = require(path.join(__dirname, '../services/fusion/node_modules/pg'));
    const admin = new Pool({ connectionString: ADMIN_URL, max: 1 });
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const core = require(path.join(__dirname, '../packages/core'));
  console.log(
    `fusion memory bench: ${os.cpus().length} cpus, node ${process.version}, embeddings ${opts.dim} wide, durations ${opts.durations.join(', ')} s; ${new Date().toISOString()}`,
  );
  const all = [];
  for (const root of opts.roots) for (const seconds of opts.durations) all.push(await measure(root, seconds, opts, core));
  console.log('\n=== summary: fusion peak RSS, MiB (growth over the shortest video) ===');
  for (const root of opts.roots) {
    const rows = all.filter((r) => r.root === root.label);
    const first = rows[0];
    for (const r of rows) {
      const peak = Math.max(r.pushPeak, r.fusePeak);
      const firstPeak = Math.max(first.pushPeak, first.fusePeak);
      console.log(
        `${root.label.padEnd(8)} ${String(r.seconds).padStart(5)} s: pushes ${r.pushPeak.toFixed(0)}, Fuse ${r.fusePeak.toFixed(0)}, peak ${peak.toFixed(0)} (${r === first ? 'base' : `${peak - firstPeak >= 0 ? '+' : ''}${(peak - firstPeak).toFixed(0)}`}); Fuse ${r.fuseS.toFixed(1)} s`,
      );
    }
  }
}

if (process.argv.includes('--child')) {
  child().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
