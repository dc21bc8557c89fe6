// Long-video and short-clip bench of the whole pipeline: end-to-end time, each stage's wall and CPU time per media
// hour, each service's peak RSS per video length, model compute (the workers' own inference metrics) and the
// overhead around it, short-clip latency and throughput. It can run the same measurements against several builds of
// the project in one run (the "before" tree and this one), so before/after figures come from one machine and one
// sitting. See bench/README.md.
//
//   node bench/long-video-bench.js [--durations 600,3600] [--clips 20] [--concurrency 4] [--clip-seconds 4]
//                                  [--root label=DIR]... [--media-dir DIR] [--skip-clips] [--skip-long] [--gpu-check]
//
// MODEL_DIR and EXECUTION_PROVIDER are passed to the stack. --gpu-check (bench/gpu-check.sh) also requires every model
// worker to report the provider in /readyz and to hold GPU memory (nvidia-smi) while the long video runs, and exits
// non-zero otherwise.
//
// Each --root is a built checkout (pnpm install + tsc -b); its own test/dist/support/stack-fixture.js starts its own
// services. Without --root the bench measures this checkout alone.
const { execFileSync } = require('node:child_process');
const { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..');
const { syntheticVoiceExpr } = require(path.join(REPO, 'packages/eval/dist/src/synthetic-voice'));
const { generateSyntheticMmsa, readMmsaDataset } = require(path.join(REPO, 'packages/cli/dist/src/research-api'));

function parseArgs(argv) {
  const o = {
    durations: [600, 3600],
    clips: 20,
    concurrency: 4,
    clipSeconds: 4,
    roots: [],
    mediaDir: null,
    skipClips: false,
    skipLong: false,
    gpuCheck: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--durations') o.durations = next().split(',').filter(Boolean).map(Number);
    else if (a === '--clips') o.clips = Number(next());
    else if (a === '--concurrency') o.concurrency = Number(next());
    else if (a === '--clip-seconds') o.clipSeconds = Number(next());
    else if (a === '--media-dir') o.mediaDir = next();
    else if (a === '--skip-clips') o.skipClips = true;
    else if (a === '--skip-long') o.skipLong = true;
    else if (a === '--gpu-check') o.gpuCheck = true;
    else if (a === '--root') {
      const [label, dir] = next().split('=');
      o.roots.push({ label, dir: path.resolve(dir) });
    } else throw new Error(`unknown argument ${a}`);
  }
  if (o.roots.length === 0) o.roots.push({ label: 'current', dir: REPO });
  o.mediaDir ??= path.join(os.tmpdir(), 'oa-bench-media');
  return o;
}

// ---------------------------------------------------------------------------------------------------------------
// Media. A long video is testsrc2 320×240 at 5 fps with the synthetic voice (the Silero VAD hears it; a tone it would
// gate out as silence) speaking 7 s of every 10 s, so the VAD, Whisper, emotion2vec and prosody all have work.

function ffmpeg(args) {
  execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

function longVideo(dir, seconds) {
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `long-${seconds}s.mp4`);
  if (existsSync(out)) return out;
  const unit = path.join(dir, 'voice-unit-60s.wav');
  if (!existsSync(unit)) {
    const voice = syntheticVoiceExpr({ f0: 180, amp: 0.6 });
    ffmpeg(['-f', 'lavfi', '-i', `aevalsrc='lt(mod(t,10),7)*(${voice})':s=16000:c=mono:d=60`, '-c:a', 'pcm_s16le', unit + '.tmp.wav']);
    renameSync(unit + '.tmp.wav', unit);
  }
  const tmp = out + '.tmp.mp4';
  ffmpeg([
    ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=5'],
    ...['-stream_loop', '-1', '-i', unit],
    ...['-t', String(seconds), '-map', '0:v', '-map', '1:a'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '50'],
    ...['-c:a', 'aac', '-b:a', '48k', tmp],
  ]);
  renameSync(tmp, out);
  return out;
}

async function clipSet(dir, n, seconds) {
  const root = path.join(dir, `clips-${n}x${seconds}s`);
  if (!existsSync(path.join(root, 'label.csv'))) {
    rmSync(root, { recursive: true, force: true });
    await generateSyntheticMmsa({ root, dataset: 'sims2', clipsPerSplit: { train: 0, valid: 0, test: n }, seed: 1, durationSec: seconds });
  }
  return readMmsaDataset(root, { dataset: 'sims2' }).samples.map((s) => ({ file: path.join(root, ...s.mediaPath.split('/')), text: s.text.trim() }));
}

// ---------------------------------------------------------------------------------------------------------------
// Process measurements, read from /proc: CPU seconds (utime + stime + the reaped children's, so ffmpeg counts for
// media), peak RSS (VmHWM, reset per video through clear_refs) and the RSS of live child processes (ffmpeg).

const CLK_TCK = 100;
function cpuSec(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields 14..17 of stat(5) are 11..14 here (the first two fields are cut off)
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
}
const statusKb = (pid, key) => {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${key}:\\s+(\\d+)`));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
};
const resetPeak = (pid) => writeFileSync(`/proc/${pid}/clear_refs`, '5');
function childPids(pid) {
  const out = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const c = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (c) out.push(...c.split(/\s+/).map(Number));
    }
  } catch {
    /* exited */
  }
  return out;
}
/** Live children, their children, …: the media worker's fork servers and the ffmpeg runs they forked. */
const descendantPids = (pid) => childPids(pid).flatMap((c) => [c, ...descendantPids(c)]);
/**
 * CPU seconds of a service and every process under it. A live child's CPU is not in its parent's counters
 * until it is reaped, and the media worker's fork servers live as long as the worker (their runs are
 * reaped by them, so they count there).
 */
function treeCpuSec(pid) {
  let sec = cpuSec(pid);
  for (const c of descendantPids(pid)) {
    try {
      sec += cpuSec(c);
    } catch {
      /* reaped meanwhile: its CPU has moved to its parent's counters, read already or next time */
    }
  }
  return sec;
}

/** pid → MiB of GPU memory, from nvidia-smi (empty when it cannot run). */
function gpuProcesses() {
  try {
    const out = execFileSync('nvidia-smi', ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 10_000 });
    return new Map(
      out
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => l.split(',').map((x) => Number(x.trim())))
        .map(([pid, mib]) => [pid, mib]),
    );
  } catch {
    return new Map();
  }
}

async function readiness(port) {
  try {
    return await (await fetch(`http://127.0.0.1:${port}/readyz`)).json();
  } catch (err) {
    return { status: 'unreachable', error: err.message };
  }
}

async function metricSums(port) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  const sums = {};
  const batches = {};
  for (const line of text.split('\n')) {
    let m = /^omniaffect_inference_seconds_sum\{([^}]*)\} ([0-9.eE+-]+)/.exec(line);
    if (m) {
      const model = /model="([^"]+)"/.exec(m[1])[1];
      sums[model] = (sums[model] ?? 0) + Number(m[2]);
    }
    m = /^omniaffect_batch_size_(sum|count)\{([^}]*)\} ([0-9.eE+-]+)/.exec(line);
    if (m) {
      const model = /model="([^"]+)"/.exec(m[2])[1];
      batches[model] ??= { sum: 0, count: 0 };
      batches[model][m[1]] += Number(m[3]);
    }
  }
  return { sums, batches };
}

const MODEL_SERVICES = ['asr', 'audio-emotion', 'vision', 'text', 'fusion'];
const WORKER_STAGES = ['media', 'asr', 'audio-emotion', 'vision', 'text', 'fusion'];

/** Everything the bench reads from a running stack, as one snapshot. */
async function snapshot(ts) {
  const services = {};
  for (const [name, h] of ts.stack.handles) services[name] = { cpu: treeCpuSec(h.pid), hwmKb: statusKb(h.pid, 'VmHWM') };
  const inference = {};
  const batches = {};
  for (const s of MODEL_SERVICES) {
    const r = await metricSums(ts.stack.opts.ports.ops[s]);
    Object.assign(inference, r.sums);
    Object.assign(batches, r.batches);
  }
  return { at: Date.now(), services, inference, batches };
}

/** Inference seconds of the models on the critical path: media → {asr → text, audio-emotion, vision} → fusion. */
function criticalModelSec(inf) {
  const g = (k) => inf[k] ?? 0;
  const text = Object.keys(inf)
    .filter((k) => k.startsWith('text-'))
    .reduce((a, k) => a + inf[k], 0);
  const branches = { 'asr→text': g('silero-vad') + g('whisper') + text, 'audio-emotion': g('emotion2vec'), vision: g('siglip') };
  const [path_, sec] = Object.entries(branches).sort((a, b) => b[1] - a[1])[0];
  return { sec: sec + g('fusion'), path: `${path_} → fusion`, branches };
}

const diff = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)]));
const fmt = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

async function waitDone(ts, id, timeoutMs, intervalMs, onPoll) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const doc = await ts.client.status(id);
    onPoll?.();
    if (['succeeded', 'failed', 'canceled'].includes(doc.status)) return { doc, seenAt: Date.now() };
    if (Date.now() > deadline) throw new Error(`video ${id} still ${doc.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function longRun(ts, file, seconds) {
  const pids = Object.fromEntries([...ts.stack.handles].map(([n, h]) => [n, h.pid]));
  for (const pid of Object.values(pids)) resetPeak(pid);
  const before = await snapshot(ts);
  let ffmpegPeakKb = 0;
  const gpuMib = {};
  let lastGpuSample = 0;
  const sampleChildren = () => {
    for (const c of descendantPids(pids.media)) ffmpegPeakKb = Math.max(ffmpegPeakKb, statusKb(c, 'VmHWM'));
    if (ts.gpuCheck && Date.now() - lastGpuSample > 2000) {
      lastGpuSample = Date.now();
      const gpu = gpuProcesses();
      for (const [name, pid] of Object.entries(pids)) gpuMib[name] = Math.max(gpuMib[name] ?? 0, gpu.get(pid) ?? 0);
    }
  };
  const sampler = setInterval(sampleChildren, 100);
  const t0 = Date.now();
  let doc;
  let seenAt;
  try {
    const sub = await ts.client.submitFile(file, { language: 'auto' });
    ({ doc, seenAt } = await waitDone(ts, sub.id, 4 * 3600_000, 250, sampleChildren));
  } finally {
    clearInterval(sampler);
  }
  const after = await snapshot(ts);
  const e2e = (Date.parse(doc.finishedAt) - t0) / 1000;
  const inference = diff(before.inference, after.inference);
  const batchDiff = {};
  for (const k of Object.keys(after.batches)) {
    const b = before.batches[k] ?? { sum: 0, count: 0 };
    batchDiff[k] = { sum: after.batches[k].sum - b.sum, count: after.batches[k].count - b.count };
  }
  const crit = criticalModelSec(inference);
  const hours = seconds / 3600;
  const stages = {};
  for (const s of WORKER_STAGES) {
    const st = doc.stages[s];
    stages[s] = {
      state: st?.state ?? '—',
      wall: st?.startedAt && st?.finishedAt ? (Date.parse(st.finishedAt) - Date.parse(st.startedAt)) / 1000 : null,
      reason: st?.reason ?? null,
    };
  }
  const services = {};
  for (const name of Object.keys(after.services)) {
    services[name] = { cpu: after.services[name].cpu - before.services[name].cpu, peakMb: after.services[name].hwmKb / 1024 };
  }
  return {
    seconds,
    status: doc.status,
    error: doc.error,
    e2e,
    seenE2e: (seenAt - t0) / 1000,
    stages,
    services,
    ffmpegPeakMb: ffmpegPeakKb / 1024,
    inference,
    batches: batchDiff,
    critical: crit,
    overhead: e2e - crit.sec,
    hours,
    gpuMib,
  };
}

function printLong(label, r) {
  const h = r.hours;
  console.log(`\n[${label}] ${r.seconds} s video (${fmt(r.seconds / 60, 0)} min): ${r.status}${r.error ? ` (${r.error.type}: ${r.error.detail})` : ''}`);
  console.log(`  end to end ${fmt(r.e2e)} s (submit → finishedAt; seen by polling after ${fmt(r.seenE2e)} s)`);
  // RTF: stage wall time per second of media (lower is faster; 0.01 = 100× real time)
  const gpu = Object.keys(r.gpuMib).length ? lpad('GPU MiB', 9) : '';
  console.log(
    `  ${pad('stage', 14)}${lpad('state', 8)}${lpad('wall s', 9)}${lpad('RTF', 8)}${lpad('cpu s', 9)}${lpad('cpu s/media-h', 15)}${lpad('peak RSS MiB', 14)}${gpu}`,
  );
  for (const s of ['gateway', 'orchestrator', ...WORKER_STAGES]) {
    const st = r.stages[s];
    const svc = r.services[s === 'fusion' ? 'fusion' : s];
    const rtf = st?.wall !== null && st?.wall !== undefined ? fmt(st.wall / r.seconds, 4) : '';
    const g = Object.keys(r.gpuMib).length ? lpad(fmt(r.gpuMib[s] ?? 0, 0), 9) : '';
    console.log(
      `  ${pad(s, 14)}${lpad(st?.state ?? '', 8)}${lpad(fmt(st?.wall), 9)}${lpad(rtf, 8)}${lpad(fmt(svc?.cpu), 9)}${lpad(fmt(svc ? svc.cpu / h : null), 15)}${lpad(fmt(svc?.peakMb, 0), 14)}${g}`,
    );
  }
  console.log(
    `  model RTF (inference s per media s): ${Object.entries(r.inference)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${fmt(v / r.seconds, 5)}`)
      .join('; ')}; end to end RTF ${fmt(r.e2e / r.seconds, 4)}`,
  );
  console.log(`  ffmpeg (media's children) peak RSS ${fmt(r.ffmpegPeakMb, 0)} MiB`);
  const inf = Object.entries(r.inference)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => {
      const b = r.batches[k];
      return `${k} ${fmt(v, 2)} s${b && b.count ? ` (${b.count} calls, mean batch ${fmt(b.sum / b.count, 1)})` : ''}`;
    });
  console.log(`  inference (workers' metrics): ${inf.join('; ')}`);
  console.log(
    `  critical-path model compute ${fmt(r.critical.sec, 2)} s (${r.critical.path}); overhead ${fmt(r.overhead)} s = ${fmt((100 * r.overhead) / r.e2e, 1)} % of end to end, ` +
      `e2e / model = ${fmt(r.e2e / Math.max(1e-9, r.critical.sec), 1)}×; overhead per media hour ${fmt(r.overhead / h)} s`,
  );
}

async function clipRuns(ts, clips, concurrency) {
  // e2e is read from the server's finishedAt, so polling only decides when the client notices; it is kept
  // sparse because every poll is a gateway → orchestrator → PostgreSQL round trip on the same 2 cores.
  const one = async (c, pollMs) => {
    const t0 = Date.now();
    const sub = await ts.client.submitFile(c.file, { language: 'zh', transcript: c.text });
    const { doc, seenAt } = await waitDone(ts, sub.id, 600_000, pollMs);
    if (doc.status !== 'succeeded') throw new Error(`clip ${sub.id} ${doc.status}: ${JSON.stringify(doc.error)}`);
    return { e2e: Date.parse(doc.finishedAt) - t0, seen: seenAt - t0, end: Date.parse(doc.finishedAt) };
  };
  await one(clips[0], 100); // warm-up: session creation and first-call costs in every worker
  const serial = [];
  for (const c of clips) serial.push(await one(c, 100));
  const cpu0 = serviceCpu(ts);
  const busy0 = machineBusySec();
  const t0 = Date.now();
  const par = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < clips.length) par.push(await one(clips[next++], 300));
    }),
  );
  const wall = (Math.max(...par.map((p) => p.end)) - t0) / 1000;
  const cpu1 = serviceCpu(ts);
  // CPU ms per clip while `concurrency` were in flight: each service (with its ffmpeg runs), and the rest of
  // the machine (PostgreSQL, Redis, this bench's client), which is what caps throughput on 2 cores.
  const perClip = Object.fromEntries(Object.keys(cpu1).map((k) => [k, ((cpu1[k] - cpu0[k]) * 1000) / clips.length]));
  const machine = ((machineBusySec() - busy0) * 1000) / clips.length;
  perClip.other = machine - Object.values(perClip).reduce((a, b) => a + b, 0);
  return { serial, par, wall, throughput: clips.length / wall, cpuPerClipMs: perClip, machineCpuPerClipMs: machine };
}

const serviceCpu = (ts) => Object.fromEntries([...ts.stack.handles].map(([name, h]) => [name, treeCpuSec(h.pid)]));

/** CPU seconds the whole machine has been busy (every core), from /proc/stat. */
function machineBusySec() {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  return (user + nice + system + irq + softirq + steal) / CLK_TCK;
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { mean: s.reduce((a, b) => a + b, 0) / s.length, p50: q(0.5), p90: q(0.9), p95: q(0.95), max: s[s.length - 1] };
}
const statLine = (xs) => {
  const s = stats(xs);
  return `mean ${fmt(s.mean, 0)} ms, p50 ${s.p50} ms, p90 ${s.p90} ms, max ${s.max} ms`;
};

(async () => {
  const o = parseArgs(process.argv.slice(2));
  console.log(
    `long-video bench: cpus ${os.cpus().length} (${os.cpus()[0]?.model ?? '?'}), load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}, node ${process.version}, roots ${o.roots.map((r) => `${r.label}=${r.dir}`).join(', ')}`,
  );
  let t = Date.now();
  const videos = o.skipLong ? [] : o.durations.map((d) => ({ seconds: d, file: longVideo(o.mediaDir, d) }));
  const clips = o.skipClips ? [] : await clipSet(o.mediaDir, o.clips, o.clipSeconds);
  console.log(`media ready in ${((Date.now() - t) / 1000).toFixed(1)} s (${o.mediaDir})`);

  const summary = [];
  const gpuFailures = [];
  for (const root of o.roots) {
    const { startTestStack } = require(path.join(root.dir, 'test/dist/support/stack-fixture'));
    t = Date.now();
    const env = {};
    for (const k of ['MODEL_DIR', 'EXECUTION_PROVIDER', 'INTRA_OP_THREADS', 'NODE_OPTIONS']) if (process.env[k]) env[k] = process.env[k];
    const ts = await startTestStack(env);
    ts.gpuCheck = o.gpuCheck;
    console.log(`\n[${root.label}] stack ready in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const row = { label: root.label, long: [], clips: null };
    if (o.gpuCheck) {
      const want = process.env.EXECUTION_PROVIDER ?? 'cpu';
      for (const name of MODEL_SERVICES) {
        const r = await readiness(ts.stack.opts.ports.ops[name]);
        const ok = r.status === 'ready' && String(r.provider ?? '') === want;
        if (!ok) gpuFailures.push(`${name}: /readyz ${JSON.stringify(r).slice(0, 300)}`);
        console.log(`[${root.label}] ${name}: /readyz ${r.status}, provider ${r.provider ?? '?'}${ok ? '' : '  ← FAIL'}`);
      }
    }
    try {
      if (clips.length) {
        const c = await clipRuns(ts, clips, o.concurrency);
        row.clips = c;
        console.log(
          `[${root.label}] ${o.clipSeconds} s clips one at a time: ${c.serial.length} videos, e2e (submit → finishedAt) ${statLine(c.serial.map((x) => x.e2e))}`,
        );
        console.log(`[${root.label}]   seen by 100 ms polling: ${statLine(c.serial.map((x) => x.seen))}`);
        console.log(
          `[${root.label}] ${o.concurrency} in flight: ${c.par.length} videos in ${fmt(c.wall, 2)} s = ${fmt(c.throughput, 2)} videos/s; e2e ${statLine(c.par.map((x) => x.e2e))}`,
        );
        const parts = Object.entries(c.cpuPerClipMs).map(([k, ms]) => `${k} ${fmt(ms, 0)}`);
        console.log(`[${root.label}]   CPU ms per clip, ${o.concurrency} in flight: ${parts.join(', ')}; machine ${fmt(c.machineCpuPerClipMs, 0)}`);
      }
      if (videos.length) {
        // A short video first, so the long ones do not pay for first-call costs.
        if (!clips.length) await waitDone(ts, (await ts.client.submitFile(longVideo(o.mediaDir, 10), { language: 'auto' })).id, 600_000, 100);
        for (const v of videos) {
          const r = await longRun(ts, v.file, v.seconds);
          row.long.push(r);
          printLong(root.label, r);
          if (o.gpuCheck) {
            for (const name of MODEL_SERVICES) {
              const mib = r.gpuMib[name] ?? 0;
              if (!(mib > 0)) gpuFailures.push(`${name}: no GPU memory held while the ${v.seconds} s video ran`);
              console.log(`[${root.label}] ${name}: ${mib > 0 ? `holds ${mib} MiB of GPU memory` : 'holds NO GPU memory  ← FAIL'}`);
            }
            if (r.status !== 'succeeded') gpuFailures.push(`the ${v.seconds} s video ${r.status}`);
          }
        }
      }
    } catch (err) {
      console.log(`[${root.label}] failed: ${err.stack ?? err}`);
      console.log(ts.logs());
      gpuFailures.push(`${root.label}: ${err.message}`);
    } finally {
      await ts.teardown();
    }
    summary.push(row);
  }

  console.log('\n=== summary ===');
  for (const row of summary) {
    if (row.clips) {
      const s = stats(row.clips.serial.map((x) => x.e2e));
      console.log(
        `${pad(row.label, 10)} clip ${o.clipSeconds} s one at a time mean ${fmt(s.mean, 0)} ms (p50 ${s.p50}); ${o.concurrency} in flight ${fmt(row.clips.throughput, 2)} videos/s`,
      );
    }
    for (const r of row.long) {
      const peaks = ['media', 'asr', 'audio-emotion', 'vision', 'text', 'fusion'].map((s) => `${s} ${fmt(r.services[s]?.peakMb, 0)}`).join(', ');
      console.log(
        `${pad(row.label, 10)} ${lpad(r.seconds, 5)} s: ${r.status}, e2e ${fmt(r.e2e)} s, model ${fmt(r.critical.sec, 1)} s, overhead ${fmt(r.overhead)} s (${fmt((100 * r.overhead) / r.e2e, 0)} %, ${fmt(r.overhead / r.hours)} s per media h); peak RSS MiB: ${peaks}`,
      );
    }
  }
  if (summary.length > 1 && summary.every((r) => r.clips)) {
    const [a, b] = [summary[0], summary[summary.length - 1]];
    console.log(`throughput ${b.label} / ${a.label}: ${fmt(b.clips.throughput / a.clips.throughput, 2)}×`);
  }
  if (o.gpuCheck) {
    if (gpuFailures.length) {
      console.log(`GPU CHECK FAILED:\n  ${gpuFailures.join('\n  ')}`);
      process.exitCode = 1;
    } else console.log(`GPU CHECK PASSED: every model worker ready on ${process.env.EXECUTION_PROVIDER} and holding GPU memory`);
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
