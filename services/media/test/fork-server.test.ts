import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProblemError, runTool, type ToolRunner } from '@omniaffect/core';
import { OutputLimitError, ToolError, extractMedia, probe } from '../src/ffmpeg';
import { FORKSERVER_LIB, ForkServer, MediaTools } from '../src/fork-server';

const dir = mkdtempSync(path.join(tmpdir(), 'oa-forkserver-'));
const av = path.join(dir, 'av.mp4');
const corrupt = path.join(dir, 'corrupt.mp4');
/** A stand-in for ffmpeg that can do what a subverted decoder could (fixtures/forkserver-guest.c). */
const guest = path.join(dir, 'guest');
const warnings: string[] = [];
const log = { info: () => undefined, warn: (...args: unknown[]) => void warnings.push(JSON.stringify(args)) } as never;
let tools: MediaTools;

/** Processes a server has forked and not yet reaped (its runs). */
const runsOf = (serverPid: number): number[] =>
  readdirSync(`/proc/${serverPid}/task`).flatMap((t) =>
    readFileSync(`/proc/${serverPid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
/** A run that never ends by itself: an endless test tone, paced to real time, written nowhere. */
const ENDLESS = ['-nostdin', '-v', 'error', '-re', '-f', 'lavfi', '-i', 'sine=frequency=440', '-f', 'null', '-'];

before(async () => {
  assert.ok(
    existsSync(FORKSERVER_LIB),
    `${FORKSERVER_LIB} is not built: pnpm install / pnpm build run services/media/native/build.sh (it needs gcc: apt-get install -y gcc libc6-dev)`,
  );
  execFileSync('ffmpeg', [
    ...['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-f', 'lavfi', '-i', 'sine=frequency=220:sample_rate=44100'],
    ...['-t', '5', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '2', '-shortest', av],
  ]);
  const bytes = readFileSync(av);
  writeFileSync(corrupt, Buffer.concat([bytes.subarray(0, 64), Buffer.alloc(4096, 0x5a)]));
  execFileSync(process.env.CC ?? 'cc', ['-O1', '-fstack-protector-all', '-o', guest, path.resolve(__dirname, '../../test/fixtures/forkserver-guest.c')]);
  tools = await MediaTools.start('on', log);
});

after(async () => {
  await tools?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function decodeWith(runner: ToolRunner, name: string, singleThreaded = false) {
  const out = path.join(dir, name);
  mkdirSync(out, { recursive: true });
  const info = await probe(av, { runner });
  await extractMedia(
    av,
    {
      audio: { dest: path.join(out, 'audio.wav') },
      frames: { pattern: path.join(out, '%06d.jpg'), pixels: path.join(out, 'pixels.ppm'), intervalSec: 2, maxSide: 160 },
    },
    { timeoutMs: 60_000, maxSec: 7201, runner, singleThreaded },
  );
  const files = Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(path.join(out, f))]));
  return { info, files };
}

test('fork server: probe and decode give byte for byte what spawned ffprobe and ffmpeg give, on one thread or several', async () => {
  const spawned = await decodeWith(runTool, 'spawned');
  const forked = await decodeWith(tools.run, 'forked');
  const oneThread = await decodeWith(tools.run, 'one-thread', true);
  assert.deepEqual(forked.info, spawned.info);
  assert.equal(forked.info.video?.width, 320);
  assert.deepEqual(Object.keys(forked.files).sort(), ['000000.jpg', '000001.jpg', '000002.jpg', 'audio.wav', 'pixels.ppm']);
  for (const [name, bytes] of Object.entries(spawned.files)) {
    assert.ok(forked.files[name]!.equals(bytes), `${name} differs`);
    assert.ok(oneThread.files[name]!.equals(bytes), `${name} differs when decoded on one thread`);
  }
  // 5 s of 16 kHz mono float32 (+ AAC priming), and three 224×224 RGB frames
  assert.ok(Math.abs(forked.files['audio.wav']!.length - 5 * 64000) < 8000, String(forked.files['audio.wav']!.length));
  assert.ok(forked.files['pixels.ppm']!.length > 3 * 224 * 224 * 3);
});

test('fork server: a file ffprobe cannot read is the same problem, with the same detail, through either runner', async () => {
  const failure = async (runner: ToolRunner) => {
    const err = await probe(corrupt, { runner }).then(
      () => assert.fail('probe accepted a corrupt file'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ProblemError, String(err));
    return { slug: err.slug, detail: err.detail };
  };
  const spawned = await failure(runTool);
  assert.equal(spawned.slug, 'unsupported-media');
  assert.deepEqual(await failure(tools.run), spawned);
});

test('fork server: the stdout cap, the deadline and an abort kill the run, never the server', async () => {
  const server = await ForkServer.start('ffmpeg');
  try {
    const noisy = ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440', '-f', 'f32le', 'pipe:1'];
    await assert.rejects(server.run(noisy, 30_000, 64 * 1024), (e: unknown) => e instanceof OutputLimitError && e.limitBytes === 64 * 1024);
    await assert.rejects(server.run(ENDLESS, 300), (e: unknown) => e instanceof ToolError && e.reason === 'timeout');
    const stop = new AbortController();
    const running = server.run(ENDLESS, 30_000, undefined, stop.signal);
    await until(() => runsOf(server.pid!).length === 1, 'the run to start');
    stop.abort();
    await assert.rejects(running, (e: unknown) => e instanceof ToolError && e.reason === 'aborted');
    await assert.rejects(server.run(['-version'], 5_000, undefined, stop.signal), (e: unknown) => e instanceof ToolError && e.reason === 'aborted');
    assert.ok(server.alive);
    assert.deepEqual(runsOf(server.pid!), [], 'every killed run has been reaped');
    const ok = await server.run(['-version'], 5_000);
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /^ffmpeg version /);
  } finally {
    await server.close();
  }
});

test('fork server: a run killed from outside (the OOM killer, say) is a retryable ToolError naming the signal; the server goes on', async () => {
  const server = await ForkServer.start('ffmpeg');
  try {
    const running = server.run(ENDLESS, 30_000);
    await until(() => runsOf(server.pid!).length === 1, 'the run to start');
    process.kill(runsOf(server.pid!)[0]!, 'SIGKILL');
    await assert.rejects(running, (e: unknown) => e instanceof ToolError && e.reason === 'signal' && /killed by SIGKILL/.test(e.message));
    const exit = await server.run(['-v', 'error', '-i', 'file:/nonexistent/input.mp4'], 5_000);
    assert.equal(exit.code, 1, 'an ordinary failure is an exit code, as from a spawn');
    assert.match(exit.stderr, /No such file or directory/);
  } finally {
    await server.close();
  }
});

test('fork server: runs in parallel each get their own output', async () => {
  const rates = Array.from({ length: 12 }, (_, i) => 8000 + 1000 * i);
  const results = await Promise.all(
    rates.map((rate) =>
      tools.run(
        'ffprobe',
        ['-v', 'error', '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${rate}`, '-show_entries', 'stream=codec_name,sample_rate', '-of', 'json'],
        10_000,
      ),
    ),
  );
  results.forEach((r, i) => {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).streams[0].sample_rate, String(rates[i]));
  });
});

test('fork server: a run finds nothing of earlier runs in its memory, holds only stdin, stdout and stderr, and has its own stack canary', async () => {
  const server = await ForkServer.start(guest);
  try {
    const secret = `TENANT-A-${randomUUID()}`;
    assert.equal((await server.run(['print', secret], 5_000)).stdout, secret);
    const scan = await server.run(['scan', [...secret].reverse().join('')], 10_000);
    assert.equal(scan.code, 0, scan.stderr);
    assert.equal(scan.stdout.trim(), '0', "the next run's copy of the server holds the earlier run's output nowhere");
    assert.equal((await server.run(['fds'], 5_000)).stdout.trim(), '0 1 2');
    if (process.arch === 'x64') {
      const canaries = await Promise.all([1, 2, 3].map(() => server.run(['canary'], 5_000)));
      assert.equal(new Set(canaries.map((c) => c.stdout.trim())).size, 3, canaries.map((c) => c.stdout).join(''));
    }
  } finally {
    await server.close();
  }
});

test('fork server: a run settles when its own process exits, and what it started (holding its pipes) is killed', async () => {
  const server = await ForkServer.start(guest);
  try {
    const t0 = Date.now();
    const r = await server.run(['grandchild'], 30_000);
    assert.equal(r.code, 0);
    assert.ok(Date.now() - t0 < 10_000, `settled after ${Date.now() - t0} ms`);
    const started = Number(r.stdout.trim());
    assert.ok(started > 0);
    await until(() => !alive(started), 'the process the run started to be killed with its process group');
  } finally {
    await server.close();
  }
});

test('fork server: a server is retired after a run that crashed and after its run limit; it ends once idle, and MediaTools moves to a new one', async () => {
  const crashed = await ForkServer.start(guest);
  await assert.rejects(crashed.run(['segv'], 5_000), (e: unknown) => e instanceof ToolError && /SIGSEGV/.test(e.message));
  assert.equal(crashed.usable, false, 'no new runs on a server whose address layout a crash may have probed');
  await until(() => !crashed.alive, 'the retired server to end');
  const limited = await ForkServer.start(guest, FORKSERVER_LIB, { maxRuns: 3 });
  for (let i = 0; i < 3; i++) assert.equal((await limited.run(['print', 'x'], 5_000)).stdout, 'x');
  assert.equal(limited.usable, false);
  await until(() => !limited.alive, 'the server to end after its last run');
  // through MediaTools: the next run goes to a new server
  const own = await MediaTools.start('on', log);
  try {
    const [first] = own.serverPids.filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('ffmpeg'));
    const running = own.run('ffmpeg', ENDLESS, 30_000);
    await until(() => runsOf(first!).length === 1, 'the run to start');
    process.kill(runsOf(first!)[0]!, 'SIGSEGV');
    await assert.rejects(running, (e: unknown) => e instanceof ToolError && /SIGSEGV/.test(e.message));
    assert.equal((await own.run('ffmpeg', ['-version'], 5_000)).code, 0);
    assert.ok(!own.serverPids.includes(first!), 'a new ffmpeg server took the next run');
    await until(() => !alive(first!), 'the retired server to end');
  } finally {
    await own.close();
  }
});

test('fork server: a server that leaves a kill unanswered is killed itself; its run fails as retryable and dies with it', async () => {
  const server = await ForkServer.start(guest, FORKSERVER_LIB, { killAnswerMs: 300 });
  const running = server.run(['sleep'], 500);
  await until(() => runsOf(server.pid!).length === 1, 'the run to start');
  const [runPid] = runsOf(server.pid!);
  process.kill(server.pid!, 'SIGSTOP'); // what a run with the server's uid could do to it
  await assert.rejects(running, (e: unknown) => e instanceof ToolError && /fork server exited \(killed by SIGKILL\)/.test(e.message));
  assert.equal(server.alive, false);
  await until(() => !alive(runPid!), 'the run to die with its server');
});

test('fork server: when the server dies mid-run the run fails as retryable, its process goes too, and the next run gets a new server', async () => {
  const own = await MediaTools.start('on', log);
  try {
    const running = own.run('ffmpeg', ENDLESS, 30_000);
    const [serverPid] = own.serverPids.filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('ffmpeg'));
    assert.ok(serverPid);
    await until(() => runsOf(serverPid).length === 1, 'the run to start');
    const [runPid] = runsOf(serverPid);
    process.kill(serverPid, 'SIGKILL');
    await assert.rejects(running, (e: unknown) => e instanceof ToolError && /fork server exited \(killed by SIGKILL\)/.test(e.message));
    await until(() => !alive(runPid!), 'the run to die with its server (PR_SET_PDEATHSIG)');
    const again = await own.run('ffmpeg', ['-version'], 5_000);
    assert.equal(again.code, 0);
    assert.ok(!own.serverPids.includes(serverPid), 'a new server');
    assert.match(warnings.join('\n'), /fork server exited; starting a new one/);
  } finally {
    await own.close();
  }
});

test('fork server: the server refuses a malformed or oversized request and stays up; closing its input ends it and its runs', async () => {
  const child = spawn('ffmpeg', [], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, LD_PRELOAD: FORKSERVER_LIB, OMNIAFFECT_FORKSERVER: '1' } });
  const events: { type: string; id: number; payload: Buffer }[] = [];
  let buf = Buffer.alloc(0);
  child.stdout.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 9 && buf.length >= 9 + buf.readUInt32LE(5)) {
      const len = buf.readUInt32LE(5);
      events.push({ type: String.fromCharCode(buf[0]!), id: buf.readUInt32LE(1), payload: buf.subarray(9, 9 + len) });
      buf = buf.subarray(9 + len);
    }
  });
  const send = (type: string, id: number, payload: Buffer) => {
    const head = Buffer.alloc(9);
    head.write(type, 0, 'latin1');
    head.writeUInt32LE(id, 1);
    head.writeUInt32LE(payload.length, 5);
    child.stdin.write(Buffer.concat([head, payload]));
  };
  await until(() => events.some((e) => e.type === 'H'), 'the server to be ready');
  send('R', 7, Buffer.from('ffmpeg\0-version')); // argv not NUL-terminated
  await until(() => events.some((e) => e.id === 7), 'an answer to the malformed request');
  const refused = events.find((e) => e.id === 7)!;
  assert.equal(refused.type, 'F');
  assert.equal(refused.payload.readInt32LE(0), 22); // EINVAL
  send('R', 6, Buffer.alloc(1024 * 1024 + 10, 0x41)); // over the 1 MiB a request may hold
  await until(() => events.some((e) => e.id === 6), 'an answer to the oversized request');
  assert.equal(events.find((e) => e.id === 6)!.type, 'F');
  assert.equal(events.find((e) => e.id === 6)!.payload.readInt32LE(0), 7); // E2BIG
  send('R', 8, Buffer.from('ffmpeg\0-version\0'));
  await until(() => events.some((e) => e.id === 8 && e.type === 'X'), 'the well-formed run to finish');
  assert.equal(events.find((e) => e.id === 8 && e.type === 'X')!.payload.readInt32LE(0), 0);
  send('R', 9, Buffer.from(['ffmpeg', ...ENDLESS].map((a) => `${a}\0`).join('')));
  await until(() => runsOf(child.pid!).length === 1, 'the endless run to start');
  const [runPid] = runsOf(child.pid!);
  const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  child.stdin.end();
  assert.equal(await closed, 0);
  await until(() => !alive(runPid!), 'the run to end with the server');
});

test('fork server: a library that is missing or cannot be preloaded is a clear start failure; auto then spawns, and says so', async () => {
  await assert.rejects(MediaTools.start('on', log, path.join(dir, 'missing.so')), /MEDIA_FORKSERVER=on but .*missing\.so is not built/);
  const notElf = path.join(dir, 'not-a-library.so');
  writeFileSync(notElf, 'not an ELF file\n');
  await assert.rejects(ForkServer.start('ffmpeg', notElf), /stopped before it was ready \(exit 1\)/);
  warnings.length = 0;
  const auto = await MediaTools.start('auto', log, notElf);
  try {
    assert.deepEqual(auto.serverPids, []);
    const r = await auto.run('ffprobe', ['-version'], 5_000);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ffprobe version /);
    assert.match(warnings.join('\n'), /spawned one process each/);
  } finally {
    await auto.close();
  }
});
