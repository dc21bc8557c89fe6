import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, ConfigError, ProblemError, artifactPaths, runTool, type Logger, type StageJob } from '@omniaffect/core';
import type { Job } from 'bullmq';
import { FORMAT_WHITELIST, OutputLimitError, ToolError, extractMedia, probe, scrubPaths, toolFailure } from '../src/ffmpeg';
import { DEFAULT_LIMITS } from '../src/limits';
import { limitsFromEnv, loadMediaEnv, mediaConfigFromEnv } from '../src/config';
import { mediaStage, type MediaConfig } from '../src/media-stage';

const dir = mkdtempSync(path.join(tmpdir(), 'oa-hostile-'));
const store = new ArtifactStore(path.join(dir, 'artifacts'));
/** Every call on every level, so a test can assert what would have reached the logs. */
const logLines: string[] = [];
const log: Logger = new Proxy({} as Logger, {
  get: (_t, key) =>
    key === 'child'
      ? () => log
      : (...args: unknown[]) =>
          void logLines.push(`${String(key)} ${JSON.stringify(args, (_k, v) => (v instanceof Error ? { message: v.message, cause: String(v.cause) } : v))}`),
});
const ffmpeg = (args: string[]) => execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
const f: Record<string, string> = {};
const CFG: MediaConfig = {
  maxDurationSec: 2 * 3600,
  frameIntervalSec: 2,
  frameMaxSide: 160,
  downloadMaxBytes: 50 * 1024 ** 2,
  downloadTimeoutMs: 10_000,
  allowPrivateIngest: true,
  ffmpegTimeoutMs: 60_000,
};
const job = (videoId: string, inputs: Record<string, string> = { source: artifactPaths.source(videoId) }): StageJob => ({
  videoId,
  stage: 'media',
  language: 'auto',
  inputs,
  enqueuedAt: Date.now(),
});
const ctx = { log, attempt: 1, bullJob: {} as Job<StageJob> };
const problem = (slug: string, detail?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ProblemError, `expected a ProblemError, got ${String(err)}`);
  assert.equal(err.slug, slug, err.detail);
  if (detail) assert.match(err.detail, detail);
  return true;
};
/** Retryable: a plain error (BullMQ retries it), never a ProblemError (permanent, blamed on the file). */
const retryable = (message: RegExp) => (err: unknown) => {
  assert.ok(!(err instanceof ProblemError), `expected a retryable error, got ${String(err)}`);
  assert.ok(err instanceof Error);
  assert.match(err.message, message);
  return true;
};

async function upload(content: Buffer | string, extra: Record<string, string> = {}): Promise<string> {
  const id = randomUUID();
  await store.writeFile(artifactPaths.source(id), typeof content === 'string' ? Buffer.from(content) : content);
  for (const [name, from] of Object.entries(extra)) copyFileSync(from, path.join(store.resolve(`videos/${id}`), name));
  return id;
}

/** What the stage left in the video's directory; a refused file must leave exactly what was uploaded. */
const leftovers = (id: string) => readdirSync(store.resolve(`videos/${id}`)).sort();

/** ffprobe as the worker ran it before the fix: no whitelist. Used to prove a fixture is a real attack. */
function unpinnedProbe(file: string): { code: number | null; out: string; err: string } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=format_name:stream=codec_type', '-of', 'compact', file], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let server: http.Server;
let baseUrl: string;

before(async () => {
  // "Local files" an attacker wants read: media on the worker's own disk.
  f.local = path.join(dir, 'local.mp4');
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x240:rate=10',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=220:sample_rate=44100',
    '-t',
    '5',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    f.local,
  ]);
  f.localVideo = path.join(dir, 'local-video.mp4');
  ffmpeg(['-i', f.local, '-an', '-c', 'copy', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', f.localVideo]);
  f.localAudio = path.join(dir, 'local-audio.mp4');
  ffmpeg(['-i', f.local, '-vn', '-c', 'copy', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', f.localAudio]);
  f.localTs = path.join(dir, 'local.ts');
  ffmpeg(['-i', f.local, '-c', 'copy', f.localTs]);

  f.mpd = path.join(dir, 'clip-mpd.mp4');
  writeFileSync(
    f.mpd,
    `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT5S" minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
  <Period>
    <AdaptationSet mimeType="video/mp4"><Representation id="v" bandwidth="100000"><BaseURL>file://${f.localVideo}</BaseURL></Representation></AdaptationSet>
    <AdaptationSet mimeType="audio/mp4"><Representation id="a" bandwidth="64000"><BaseURL>file://${f.localAudio}</BaseURL></Representation></AdaptationSet>
  </Period>
</MPD>
`,
  );
  f.hls = path.join(dir, 'clip-hls.mp4');
  writeFileSync(f.hls, `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:5\n#EXTINF:5.0,\nfile://${f.localTs}\n#EXT-X-ENDLIST\n`);

  // 10 s of 16×16 at 1000 fps whose Matroska Duration is rewritten to 2 h: what a real 2 h file of
  // this kind declares (its first 10 s are real), for a few KB instead of ~100 MB to generate.
  f.fps1000 = path.join(dir, 'fps1000.mkv');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=16x16:rate=1000', '-t', '10', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', f.fps1000]);
  const mkv = readFileSync(f.fps1000);
  const at = mkv.indexOf(Buffer.from([0x44, 0x89, 0x88])); // Duration element, 8-byte float, in ms
  assert.ok(at > 0, 'Matroska Duration element found');
  mkv.writeDoubleBE(7200_000, at + 3);
  writeFileSync(f.fps1000, mkv);

  f.av = path.join(dir, 'av.mp4');
  copyFileSync(f.local, f.av);
  f.wide = path.join(dir, 'wide.mp4');
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=7712x16:rate=1', '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', f.wide]);
  f.hiRate = path.join(dir, 'hi-rate.wav');
  ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=384000:cl=mono', '-t', '0.2', f.hiRate]);
  f.surround = path.join(dir, 'surround.wav');
  ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=16000:cl=7.1', '-t', '0.2', f.surround]);
  // 2 h of silence at 8 kHz in 64 Ki-sample FLAC blocks: ~20 KB that would decode to a 460 MB WAV.
  f.bomb = path.join(dir, 'bomb.flac');
  ffmpeg(['-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '7200', '-c:a', 'flac', '-frame_size', '65535', f.bomb]);
  // a 16 MB metadata tag, through an ffmetadata file (a command-line argument cannot be that long)
  const meta = path.join(dir, 'meta.txt');
  writeFileSync(meta, `;FFMETADATA1\ncomment=${'A'.repeat(16 * 1024 ** 2)}\n`);
  f.bigTag = path.join(dir, 'big-tag.mp4');
  ffmpeg(['-i', f.local, '-i', meta, '-map', '0', '-map_metadata', '1', '-c', 'copy', f.bigTag]);

  server = http.createServer((req, res) => {
    if (req.url?.startsWith('/signed')) res.writeHead(403).end('denied');
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** The stage refuses the upload as unsupported-media and leaves nothing derived from it behind. */
async function assertRefused(id: string, uploaded: string[]) {
  await assert.rejects(mediaStage(store, CFG)(job(id), ctx), (err: unknown) => {
    problem('unsupported-media')(err);
    const detail = (err as ProblemError).detail;
    assert.ok(!detail.includes(dir), `no path in the detail: ${detail}`);
    return true;
  });
  assert.deepEqual(leftovers(id), uploaded.sort(), 'no audio.wav, frames, media.json or temporary file');
  assert.equal(await store.exists(artifactPaths.stageOutput(id, 'media')), false);
  assert.equal(await store.exists(artifactPaths.audio(id)), false);
  assert.equal(await store.exists(artifactPaths.framesDir(id)), false);
}

test('hostile: a DASH manifest uploaded as clip.mp4 whose BaseURLs name local media is refused, nothing of it decoded', async () => {
  // without the whitelist ffprobe follows the BaseURLs and finds the local file's streams
  const bare = unpinnedProbe(f.mpd);
  assert.equal(bare.code, 0, bare.err);
  assert.match(bare.out, /format_name=dash/);
  assert.match(bare.out, /codec_type=video/);
  const id = await upload(readFileSync(f.mpd));
  await assertRefused(id, ['source']);
  await assert.rejects(probe(f.mpd), problem('unsupported-media', /DASH manifest/));
});

test('hostile: an HLS playlist naming a local file is refused', async () => {
  const bare = unpinnedProbe(f.hls);
  assert.equal(bare.code, 0, bare.err);
  assert.match(bare.out, /format_name=hls/);
  const id = await upload(readFileSync(f.hls));
  await assertRefused(id, ['source']);
  await assert.rejects(probe(f.hls), problem('unsupported-media', /HLS playlist/));
});

test('hostile: an ffconcat list naming a file next to the upload is refused', async () => {
  // The concat demuxer's safe mode refuses absolute paths but allows a plain name in the same
  // directory: exactly where another artifact of this video (or a planted file) lives.
  const id = await upload('ffconcat version 1.0\nfile local.mp4\n', { 'local.mp4': f.local });
  const bare = unpinnedProbe(store.resolve(artifactPaths.source(id)));
  assert.equal(bare.code, 0, bare.err);
  assert.match(bare.out, /format_name=concat/);
  assert.match(bare.out, /codec_type=audio/);
  await assertRefused(id, ['local.mp4', 'source']);
});

test('hostile: a concat list that names itself is refused at once instead of nesting until the fd limit', async () => {
  const id = await upload('ffconcat version 1.0\nfile source\n');
  // unpinned, ffprobe opens itself over and over until EMFILE: which would now read as a retryable
  // machine failure, retried on every worker, unless the demuxer is refused before it opens anything
  assert.match(unpinnedProbe(store.resolve(artifactPaths.source(id))).err, /Too many open files|Impossible to open/);
  const started = Date.now();
  await assertRefused(id, ['source']);
  assert.ok(Date.now() - started < 5_000);
});

test('whitelist: the formats people upload still open (mp4, mov, mkv, webm, avi, ts, flv, wmv, ogg, mp3, flac, wav, m4a)', async () => {
  const v = ['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=5', '-f', 'lavfi', '-i', 'sine=frequency=220:sample_rate=16000', '-t', '1', '-shortest'];
  const a = ['-f', 'lavfi', '-i', 'sine=frequency=220:sample_rate=16000', '-t', '1'];
  const cases: [string, string[]][] = [
    ['x.mov', [...v, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac']],
    ['x.mkv', [...v, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'flac']],
    ['x.webm', [...v, '-c:v', 'libvpx', '-c:a', 'libopus']],
    ['x.avi', [...v, '-c:v', 'mpeg4', '-c:a', 'libmp3lame']],
    ['x.ts', [...v, '-c:v', 'mpeg2video', '-c:a', 'mp2']],
    ['x.flv', [...v, '-c:v', 'flv', '-c:a', 'aac']],
    ['x.wmv', [...v, '-c:v', 'wmv2', '-c:a', 'wmav2']],
    ['x.ogg', [...a, '-c:a', 'libopus']],
    ['x.mp3', [...a, '-c:a', 'libmp3lame']],
    ['x.flac', [...a, '-c:a', 'flac']],
    ['x.wav', a],
    ['x.m4a', [...a, '-c:a', 'aac']],
  ];
  for (const [name, args] of cases) {
    const file = path.join(dir, name);
    ffmpeg([...args, file]);
    const p = await probe(file);
    assert.ok(p.audio ?? p.video, name);
    assert.ok(
      FORMAT_WHITELIST.split(',').some((w) => p.formatName.split(',').includes(w)),
      `${name}: ${p.formatName}`,
    );
  }
});

test('limits: 16×16 at 1000 fps declaring 2 h is refused on the probe, quickly, nothing decoded', async () => {
  const p = await probe(f.fps1000);
  assert.equal(p.durationSec, 7200, 'the fixture declares 2 h');
  const id = await upload(readFileSync(f.fps1000));
  const started = Date.now();
  await assert.rejects(mediaStage(store, CFG)(job(id), ctx), problem('exceeds-limits', /1000 frames per second exceeds the limit of 300 \(MEDIA_MAX_FPS\)/));
  assert.ok(Date.now() - started < 5_000, `${Date.now() - started} ms`);
  assert.deepEqual(leftovers(id), ['source']);
  assert.deepEqual(childTools(), [], 'the decode that started beside the probe was stopped, not left running');
});

test('limits: frame rate × duration over MEDIA_MAX_VIDEO_FRAMES is refused', async () => {
  const id = await upload(readFileSync(f.av));
  await assert.rejects(
    mediaStage(store, { ...CFG, limits: { maxVideoFrames: 40 } })(job(id), ctx),
    problem('exceeds-limits', /about 50 frames \(10 fps × 5 s\); the limit is 40/),
  );
  assert.deepEqual(leftovers(id), ['source']);
  // the same file within the limit is decoded: the cap is what refused it
  assert.equal((await mediaStage(store, { ...CFG, limits: { maxVideoFrames: 50 } })(job(id), ctx)).outcome, 'done');
});

test('limits: pictures wider than MEDIA_MAX_WIDTH (default 7680) or over MEDIA_MAX_PIXELS are refused', async () => {
  await assert.rejects(
    mediaStage(store, CFG)(job(await upload(readFileSync(f.wide))), ctx),
    problem('exceeds-limits', /7712×16 picture exceeds the limit of 7680×7680/),
  );
  await assert.rejects(
    mediaStage(store, { ...CFG, limits: { maxPixels: 320 * 239 } })(job(await upload(readFileSync(f.av))), ctx),
    problem('exceeds-limits', /320×240 picture|pixel limit/),
  );
});

test('limits: -max_pixels makes the decoder itself refuse a picture the probe did not stop', async () => {
  const out = path.join(dir, 'maxpix');
  mkdirSync(out);
  await assert.rejects(
    extractMedia(
      f.av,
      { frames: { pattern: path.join(out, '%06d.jpg'), pixels: path.join(dir, 'maxpix.ppm'), intervalSec: 2, maxSide: 160 } },
      { timeoutMs: 30_000, maxPixels: 1000 },
    ),
    problem('exceeds-limits', /pixel limit/),
  );
  assert.deepEqual(readdirSync(out), []);
});

test('limits: audio above MEDIA_MAX_SAMPLE_RATE (default 192 kHz) or MEDIA_MAX_AUDIO_CHANNELS is refused', async () => {
  await assert.rejects(
    mediaStage(store, CFG)(job(await upload(readFileSync(f.hiRate))), ctx),
    problem('exceeds-limits', /384000 Hz exceeds the limit of 192000 Hz/),
  );
  const id = await upload(readFileSync(f.surround));
  await assert.rejects(mediaStage(store, { ...CFG, limits: { maxChannels: 2 } })(job(id), ctx), problem('exceeds-limits', /8 channels exceeds the limit of 2/));
  assert.equal((await mediaStage(store, CFG)(job(id), ctx)).outcome, 'done', '8 channels are within the default of 16');
});

test('limits: a few-KB FLAC declaring 2 h of silence is refused as a decode bomb before decoding', async () => {
  assert.ok(statSync(f.bomb).size < 64 * 1024, `${statSync(f.bomb).size} bytes`);
  assert.equal((await probe(f.bomb)).durationSec, 7200);
  const id = await upload(readFileSync(f.bomb));
  const started = Date.now();
  await assert.rejects(mediaStage(store, CFG)(job(id), ctx), problem('exceeds-limits', /declares 7200 s .* decode bomb \(MEDIA_MIN_BYTES_PER_SEC\)/));
  assert.ok(Date.now() - started < 5_000, `${Date.now() - started} ms`);
  assert.deepEqual(leftovers(id), ['source']);
});

test('limits: a 16 MB metadata tag is never printed by ffprobe, and -max_alloc refuses it when set below its size', async () => {
  // Printing everything (what -show_format did) blows through a 1 MiB output cap...
  await assert.rejects(runTool('ffprobe', ['-v', 'error', '-of', 'json', '-show_format', f.bigTag], 30_000, 1024 ** 2), OutputLimitError);
  // ...the probe's -show_entries leaves the tag out.
  const p = await probe(f.bigTag, { maxOutputBytes: 16 * 1024 });
  assert.equal(p.video?.codec, 'h264');
  await assert.rejects(probe(f.bigTag, { maxAllocBytes: 4 * 1024 ** 2 }), problem('exceeds-limits', /single memory block/));
  assert.equal((await probe(f.av, { maxAllocBytes: 4 * 1024 ** 2 })).video?.codec, 'h264', 'the same cap does not stop a file without the tag');
});

test('limits: ffprobe output over MEDIA_MAX_PROBE_BYTES kills ffprobe and refuses the file', async () => {
  await assert.rejects(probe(f.av, { maxOutputBytes: 200 }), problem('exceeds-limits', /larger than 200 bytes \(MEDIA_MAX_PROBE_BYTES\)/));
  const id = await upload(readFileSync(f.av));
  await assert.rejects(mediaStage(store, { ...CFG, limits: { maxProbeBytes: 200 } })(job(id), ctx), problem('exceeds-limits'));
  assert.deepEqual(leftovers(id), ['source']);
});

test('config: the caps come from the environment, are validated at start, and default to DEFAULT_LIMITS', () => {
  assert.deepEqual(limitsFromEnv(loadMediaEnv({})), DEFAULT_LIMITS);
  const cfg = mediaConfigFromEnv(loadMediaEnv({ MEDIA_MAX_FPS: '120', MEDIA_MAX_PIXELS: '2073600', MEDIA_MIN_BYTES_PER_SEC: '0' }));
  assert.equal(cfg.limits?.maxFps, 120);
  assert.equal(cfg.limits?.maxPixels, 1920 * 1080);
  assert.equal(cfg.limits?.minBytesPerSec, 0);
  assert.throws(
    () => loadMediaEnv({ MEDIA_MAX_PIXELS: 'lots', MEDIA_MAX_SAMPLE_RATE: '0', MEDIA_MAX_ALLOC_BYTES: String(2 ** 32) }),
    (err: unknown) =>
      err instanceof ConfigError && ['MEDIA_MAX_PIXELS', 'MEDIA_MAX_SAMPLE_RATE', 'MEDIA_MAX_ALLOC_BYTES'].every((k) => err.message.includes(k)),
  );
});

/** The ffmpeg/ffprobe children of this test process (a test file runs in its own process). */
function childTools(): number[] {
  const r = spawnSync('pgrep', ['-P', String(process.pid), '-x', 'ffmpeg|ffprobe'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

async function killChildWhenItStarts(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const pids = childTools();
    if (pids.length) {
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no ffmpeg child appeared');
}

test('infrastructure: ffmpeg killed by our timeout is retryable, and nothing partial stays', async () => {
  const id = await upload(readFileSync(f.av));
  await assert.rejects(mediaStage(store, { ...CFG, ffmpegTimeoutMs: 1 })(job(id), ctx), retryable(/ffmpeg did not finish within 1 ms and was killed/));
  assert.deepEqual(leftovers(id), ['source']);
});

test('infrastructure: ffmpeg or ffprobe killed by a signal (the OOM killer) is retryable', async () => {
  // A FIFO nobody writes to: the tool blocks on open, so the kill lands while it is surely running.
  const fifo = path.join(dir, 'stuck.fifo');
  execFileSync('mkfifo', [fifo]);
  try {
    const extraction = extractMedia(fifo, { audio: { dest: path.join(dir, 'stuck.wav') } }, { timeoutMs: 30_000 });
    await killChildWhenItStarts();
    await assert.rejects(extraction, retryable(/ffmpeg was killed by SIGKILL/));
    const id = randomUUID();
    mkdirSync(store.resolve(`videos/${id}`), { recursive: true });
    execFileSync('mkfifo', [store.resolve(artifactPaths.source(id))]);
    const stage = mediaStage(store, CFG)(job(id), ctx);
    await killChildWhenItStarts();
    await assert.rejects(stage, retryable(/ffprobe was killed by SIGKILL/));
    assert.deepEqual(leftovers(id), ['source']);
  } finally {
    rmSync(fifo, { force: true });
  }
});

test('infrastructure: a run the caller stops is killed and closed before the promise settles (reason aborted)', async () => {
  const stop = new AbortController();
  // ten minutes of silence to nowhere: it runs until stopped
  const running = runTool(
    'ffmpeg',
    ['-nostdin', '-v', 'error', '-re', '-f', 'lavfi', '-i', 'anullsrc=r=16000', '-t', '600', '-f', 'null', '-'],
    60_000,
    undefined,
    stop.signal,
  );
  for (let i = 0; i < 200 && childTools().length === 0; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(childTools().length, 1);
  stop.abort();
  await assert.rejects(running, (err: unknown) => err instanceof ToolError && err.reason === 'aborted' && /stopped by the caller/.test(err.message));
  assert.deepEqual(childTools(), []);
  await assert.rejects(runTool('ffmpeg', ['-version'], 5_000, undefined, stop.signal), (err: unknown) => err instanceof ToolError && err.reason === 'aborted');
});

test('infrastructure: a full disk while writing is retryable (real ENOSPC from /dev/full)', async () => {
  await assert.rejects(extractMedia(f.av, { audio: { dest: '/dev/full' } }, { timeoutMs: 30_000 }), (err: unknown) => {
    retryable(/No space left on device on this worker/)(err);
    assert.ok(err instanceof ToolError && err.reason === 'system');
    return true;
  });
});

test("infrastructure: quota and descriptor exhaustion are retryable; a decoding error is the file's", () => {
  for (const stderr of [
    '[image2 @ 0x1] Could not open file : /a/b/000001.jpg\nav_interleaved_write_frame(): Disk quota exceeded\n',
    '/a/source: Too many open files\n',
  ]) {
    assert.ok(toolFailure('x', stderr, 1, {}) instanceof ToolError, stderr);
  }
  const bad = toolFailure('audio could not be decoded', '/x/videos/1/source: Invalid data found when processing input\n', 1, {
    '/x/videos/1/source': 'the file',
  });
  assert.ok(bad instanceof ProblemError && bad.slug === 'unsupported-media');
  assert.equal(bad.detail, 'audio could not be decoded: Invalid data found when processing input');
});

test('infrastructure: ffmpeg missing from PATH is retryable with a clear message', async () => {
  await assert.rejects(runTool('omniaffect-no-such-ffmpeg', ['-version'], 5_000), (err: unknown) => {
    retryable(/omniaffect-no-such-ffmpeg not found on PATH: install ffmpeg/)(err);
    return err instanceof ToolError && err.reason === 'not-found';
  });
});

test('paths: problem details carry no absolute path (the artifact directory least of all)', async () => {
  const corrupt = await upload(Buffer.concat([Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex'), Buffer.alloc(64 * 1024, 7)]));
  await assert.rejects(mediaStage(store, CFG)(job(corrupt), ctx), (err: unknown) => {
    problem('unsupported-media', /^ffprobe could not read the file: /)(err);
    const detail = (err as ProblemError).detail;
    assert.ok(!detail.includes(store.root) && !/(^|\s)\//.test(detail), detail);
    return true;
  });
  // A retryable failure's message becomes the model-error detail once attempts run out: Node's fs
  // errors name absolute paths. Here the final rename hits a directory planted at audio.wav.
  const id = await upload(readFileSync(f.av));
  mkdirSync(path.join(store.resolve(artifactPaths.audio(id)), 'x'), { recursive: true });
  await assert.rejects(mediaStage(store, CFG)(job(id), ctx), (err: unknown) => {
    retryable(/<artifacts>\/videos\//)(err);
    assert.ok(!(err as Error).message.includes(store.root), (err as Error).message);
    return true;
  });
});

test('paths: scrubPaths removes absolute paths and keeps ratios, units and relative names', () => {
  assert.equal(
    scrubPaths('/srv/a/source: Invalid data\nCould not open file : file:/srv/a/frames/1.jpg (rate 1/2, 128 kb/s, N/A) /etc/passwd', {
      '/srv/a/source': 'the file',
    }),
    'Invalid data\nCould not open file : <path> (rate 1/2, 128 kb/s, N/A) <path>',
  );
  assert.equal(
    scrubPaths('rename /srv/art/videos/1/a -> /srv/art/videos/1/b', { '/srv/art': '<artifacts>' }),
    'rename <artifacts>/videos/1/a -> <artifacts>/videos/1/b',
  );
});

test('URLs: a pre-signed URL never reaches a problem detail, an error message or a log line', async () => {
  const secret = 'X-Amz-Signature=5ec7e7deadbeef&X-Amz-Credential=AKIAEXAMPLE';
  logLines.length = 0;
  await assert.rejects(mediaStage(store, CFG)(job(randomUUID(), { url: `${baseUrl}/signed/clip.mp4?${secret}` }), ctx), (err: unknown) => {
    problem('url-fetch-failed')(err);
    assert.equal((err as ProblemError).detail, `GET ${baseUrl}/signed/clip.mp4?… answered 403`);
    return true;
  });
  // a connection failure is retryable; its message must not carry the query either
  await assert.rejects(
    mediaStage(store, CFG)(job(randomUUID(), { url: `http://127.0.0.1:1/clip.mp4?${secret}` }), ctx),
    (err: unknown) => !(err instanceof ProblemError) && !String((err as Error).message).includes('5ec7e7'),
  );
  assert.ok(!logLines.some((l) => l.includes('5ec7e7') || l.includes('AKIAEXAMPLE')), logLines.join('\n'));
});
