import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, statSync, utimesSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readdir } from 'node:fs/promises';
import { ArtifactStore, ProblemError, artifactPaths, createLogger, runTool, type StageJob, type ToolRunner } from '@omniaffect/core';
import type { Job } from 'bullmq';
import { decodeRgb, readPpmFrame, resizeBicubicPil, scanPpmStream } from '@omniaffect/features';
import { probe } from '../src/ffmpeg';
import { CLAIM_STALE_MS, mediaStage, type MediaArtifact, type MediaConfig } from '../src/media-stage';

const dir = mkdtempSync(path.join(tmpdir(), 'oa-media-'));
const store = new ArtifactStore(path.join(dir, 'artifacts'));
const log = createLogger('media-test', 'silent');
const TONE = 'sine=frequency=220:sample_rate=44100';
const ffmpeg = (args: string[]) => execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
const files: Record<string, string> = {};
/** Matroska written live to a pipe: no Duration element, so ffprobe reports no duration at all. */
const liveMkv = (file: string, args: string[]) =>
  writeFileSync(
    file,
    execFileSync('ffmpeg', ['-nostdin', '-v', 'error', ...args, '-live', '1', '-f', 'matroska', 'pipe:1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 ** 2,
    }),
  );

let server: http.Server;
let baseUrl: string;

before(async () => {
  files.av = path.join(dir, 'av.mp4');
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x240:rate=10',
    '-f',
    'lavfi',
    '-i',
    TONE,
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
    '-ac',
    '2',
    '-shortest',
    files.av,
  ]);
  files.videoOnly = path.join(dir, 'video-only.mp4');
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x240:rate=10',
    '-t',
    '3',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-an',
    files.videoOnly,
  ]);
  files.audioOnly = path.join(dir, 'audio-only.m4a');
  ffmpeg(['-f', 'lavfi', '-i', TONE, '-t', '3', '-c:a', 'aac', files.audioOnly]);
  // music with cover art: the picture is a "video" stream marked attached_pic
  files.coverArt = path.join(dir, 'cover-art.m4a');
  ffmpeg(
    ['-f', 'lavfi', '-i', TONE, '-f', 'lavfi', '-i', 'color=red:s=64x64:d=0.1', '-t', '3', '-map', '0:a', '-map', '1:v', '-c:a', 'aac'].concat([
      '-c:v',
      'png',
      '-disposition:v:0',
      'attached_pic',
      files.coverArt,
    ]),
  );
  files.noDurationAudio = path.join(dir, 'no-duration-audio.mkv');
  liveMkv(files.noDurationAudio, ['-f', 'lavfi', '-i', 'sine=frequency=220:sample_rate=16000', '-t', '8', '-c:a', 'flac']);
  files.noDurationAv = path.join(dir, 'no-duration-av.mkv');
  liveMkv(files.noDurationAv, [
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=160x120:rate=10',
    '-f',
    'lavfi',
    '-i',
    TONE,
    '-t',
    '3',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'flac',
    '-shortest',
  ]);
  files.noDurationVideo = path.join(dir, 'no-duration-video.mkv');
  liveMkv(files.noDurationVideo, [
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=160x120:rate=10',
    '-t',
    '8',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
  ]);
  files.corrupt = path.join(dir, 'corrupt.mp4');
  writeFileSync(files.corrupt, Buffer.concat([Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex'), randomBytes(64 * 1024)]));
  files.empty = path.join(dir, 'empty.mp4');
  writeFileSync(files.empty, Buffer.alloc(0));

  server = http.createServer((req, res) => {
    if (req.url === '/clip.mp4') {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(statSync(files.av).size) });
      createReadStream(files.av).pipe(res);
    } else if (req.url === '/moved') res.writeHead(301, { location: '/clip.mp4' }).end();
    else if (req.url === '/trickle') {
      // headers at once, then a byte every 100 ms: only a whole-download deadline stops this
      res.writeHead(200, { 'content-type': 'video/mp4' });
      const timer = setInterval(() => res.write(Buffer.alloc(1)), 100);
      res.on('close', () => clearInterval(timer));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const CFG: MediaConfig = {
  maxDurationSec: 60,
  frameIntervalSec: 2,
  frameMaxSide: 160,
  downloadMaxBytes: 50 * 1024 ** 2,
  downloadTimeoutMs: 10_000,
  allowPrivateIngest: true,
  ffmpegTimeoutMs: 60_000,
};

async function upload(file: string): Promise<string> {
  const id = randomUUID();
  await store.writeFile(artifactPaths.source(id), readFileSync(file));
  return id;
}
const job = (videoId: string, inputs: Record<string, string> = { source: artifactPaths.source(videoId) }): StageJob => ({
  videoId,
  stage: 'media',
  language: 'auto',
  inputs,
  enqueuedAt: Date.now(),
});
const ctx = { log, attempt: 1, bullJob: {} as Job<StageJob> };
const problem = (slug: string) => (err: unknown) => err instanceof ProblemError && err.slug === slug;

test('probe: video with audio', async () => {
  const p = await probe(files.av);
  assert.ok(Math.abs(p.durationSec - 5) < 0.2, String(p.durationSec));
  assert.equal(p.video?.codec, 'h264');
  assert.equal(p.video?.width, 320);
  assert.equal(p.video?.height, 240);
  assert.equal(p.video?.fps, 10);
  assert.equal(p.audio?.codec, 'aac');
  assert.equal(p.audio?.channels, 2);
  assert.equal(p.audio?.sampleRate, 44100);
  assert.match(p.formatName, /mp4/);
});

test('probe: video only and audio only', async () => {
  const v = await probe(files.videoOnly);
  assert.equal(v.audio, null);
  assert.equal(v.video?.codec, 'h264');
  const a = await probe(files.audioOnly);
  assert.equal(a.video, null);
  assert.equal(a.audio?.codec, 'aac');
  assert.ok(Math.abs(a.durationSec - 3) < 0.2);
});

test('probe: corrupt bytes and an empty file are unsupported-media', async () => {
  await assert.rejects(probe(files.corrupt), problem('unsupported-media'));
  await assert.rejects(probe(files.empty), problem('unsupported-media'));
  await assert.rejects(probe(path.join(dir, 'missing.mp4')), problem('unsupported-media'));
});

test('mediaStage: a 5 s clip gives frames at 0, 2, 4 s and a 16 kHz mono float32 audio.wav', async () => {
  const id = await upload(files.av);
  const res = await mediaStage(store, CFG)(job(id), ctx);
  assert.equal(res.outcome, 'done');
  assert.equal(res.output?.hasAudio, true);
  assert.equal(res.output?.hasVideo, true);
  assert.equal(res.output?.frameCount, 3);
  const art = await store.readJson<MediaArtifact>(artifactPaths.stageOutput(id, 'media'));
  assert.deepEqual(
    art.frames.map((f) => f.time),
    [0, 2, 4],
  );
  for (const f of art.frames) {
    const jpg = readFileSync(store.resolve(f.path));
    assert.equal(jpg.readUInt16BE(0), 0xffd8, `${f.path} is a JPEG`);
  }
  assert.equal(art.audio, artifactPaths.audio(id));
  const wav = readFileSync(store.resolve(art.audio!));
  assert.equal(wav.toString('ascii', 0, 4), 'RIFF');
  assert.equal(wav.toString('ascii', 8, 12), 'WAVE');
  const fmt = wav.indexOf('fmt ');
  let format = wav.readUInt16LE(fmt + 8);
  if (format === 0xfffe) format = wav.readUInt16LE(fmt + 8 + 24);
  assert.equal(format, 3, 'IEEE float');
  assert.equal(wav.readUInt16LE(fmt + 10), 1, 'mono');
  assert.equal(wav.readUInt32LE(fmt + 12), 16000, '16 kHz');
  assert.equal(wav.readUInt16LE(fmt + 22), 32, '32-bit');
  const data = wav.indexOf('data');
  const samples = wav.readUInt32LE(data + 4) / 4;
  assert.ok(Math.abs(samples / 16000 - 5) < 0.1, `${samples} samples`);
});

test('mediaStage: a source up to singleThreadMaxBytes is decoded on one thread, a larger one with the threads ffmpeg picks', async () => {
  const calls: { cmd: string; args: string[] }[] = [];
  const recording: ToolRunner = (cmd, args, ...rest) => {
    calls.push({ cmd, args });
    return runTool(cmd, args, ...rest);
  };
  const size = statSync(files.av).size;
  for (const [limit, single] of [
    [size, true],
    [size - 1, false],
  ] as const) {
    calls.length = 0;
    const res = await mediaStage(store, { ...CFG, runner: recording, singleThreadMaxBytes: limit })(job(await upload(files.av)), ctx);
    assert.equal(res.output?.frameCount, 3);
    const decode = calls.find((c) => c.cmd === 'ffmpeg');
    assert.ok(decode && calls.some((c) => c.cmd === 'ffprobe'), 'both tools ran through the given runner');
    const at = decode.args.indexOf('-threads');
    assert.equal(at >= 0 && decode.args[at + 1] === '1' && at < decode.args.indexOf('-i'), single, decode.args.join(' '));
    assert.equal(decode.args.includes('-filter_complex_threads'), single);
  }
});

test('mediaStage: the frames also come as one raw RGB stream at the vision input size, image for image the JPEGs; JPEGs are shrunk to fit, never enlarged', async () => {
  for (const [maxSide, w, h] of [
    [160, 160, 120],
    [448, 320, 240],
  ] as const) {
    const id = await upload(files.av);
    await mediaStage(store, { ...CFG, frameMaxSide: maxSide })(job(id), ctx);
    const art = await store.readJson<MediaArtifact>(artifactPaths.stageOutput(id, 'media'));
    assert.equal(art.pixels, `${artifactPaths.framesDir(id)}/pixels.ppm`);
    const raw = scanPpmStream(store.resolve(art.pixels!));
    assert.equal(raw.length, art.frames.length);
    for (let i = 0; i < raw.length; i++) {
      assert.deepEqual([raw[i]!.width, raw[i]!.height], [224, 224], `raw frame ${i}`);
      const jpeg = await decodeRgb(store.resolve(art.frames[i]!.path));
      assert.deepEqual([jpeg.width, jpeg.height], [w, h], `JPEG ${i} at FRAME_MAX_SIDE ${maxSide}`);
      // the same picture as the JPEG of that index (brought to 224×224; JPEG at -q:v 2 and, at 160, the
      // shrink and re-enlarge cost a few levels) and not its neighbour's (testsrc2 moves between frames 2 s apart)
      const rgb = readPpmFrame(store.resolve(art.pixels!), raw[i]!);
      const as224 = async (k: number) => {
        const j = await decodeRgb(store.resolve(art.frames[k]!.path));
        return resizeBicubicPil(j.data, j.width, j.height, 224, 224);
      };
      const diff = (a: Uint8Array, b: Uint8Array) => a.reduce((acc, v, k) => acc + Math.abs(v - b[k]!), 0) / a.length;
      const same = diff(rgb, await as224(i));
      assert.ok(same < 8, `frame ${i}: mean |raw − jpeg| ${same.toFixed(2)} levels`);
      if (i > 0) {
        const other = diff(rgb, await as224(i - 1));
        assert.ok(other > 2.5 * same, `frame ${i} is as close to frame ${i - 1}'s JPEG (${other.toFixed(2)}) as to its own (${same.toFixed(2)})`);
      }
    }
  }
});

test('mediaStage: re-running returns the stored artifact without touching the source', async () => {
  const id = await upload(files.av);
  const first = await mediaStage(store, CFG)(job(id), ctx);
  rmSync(store.resolve(artifactPaths.source(id)));
  const again = await mediaStage(store, CFG)(job(id), ctx);
  assert.deepEqual(again, first);
});

/** Files under the video's directory with their inode and mtime, so a rewrite is visible. */
function snapshotFiles(id: string): Record<string, string> {
  const root = store.resolve(`videos/${id}`);
  const out: Record<string, string> = {};
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const abs = path.join(e.parentPath ?? e.path, e.name);
    const st = statSync(abs);
    out[path.relative(root, abs)] = `${st.ino}:${st.mtimeMs}:${st.size}`;
  }
  return out;
}

test("mediaStage: a duplicate run that finds the output claimed leaves the first run's files alone", async () => {
  const id = await upload(files.av);
  await mediaStage(store, CFG)(job(id), ctx);
  const before = snapshotFiles(id);
  // A run whose first look at media.json came before the other run had written it (a job whose
  // lock lapsed and was handed to a second worker): it decodes everything, then must stand down.
  let looks = 0;
  const late = Object.create(store) as ArtifactStore;
  late.exists = async (rel: string) => (rel === artifactPaths.stageOutput(id, 'media') && looks++ === 0 ? false : store.exists(rel));
  const res = await mediaStage(late, CFG)(job(id), ctx);
  assert.equal(res.outcome, 'done');
  assert.equal(res.output?.frameCount, 3);
  assert.deepEqual(snapshotFiles(id), before, 'audio.wav, frames and media.json untouched; no temporary files left');
});

test('mediaStage: two runs at once leave one consistent set of files and no temporary ones', async () => {
  const id = await upload(files.av);
  const runs = await Promise.allSettled([mediaStage(store, CFG)(job(id), ctx), mediaStage(store, CFG)(job(id), ctx)]);
  // The loser either finds the winner's files in place (done) or catches it mid-move and asks to be
  // retried; its retry then sees the finished output.
  const done = runs.filter((r) => r.status === 'fulfilled');
  assert.ok(done.length >= 1);
  for (const r of runs) if (r.status === 'rejected') assert.match((r.reason as Error).message, /still moving its files in/);
  const again = await mediaStage(store, CFG)(job(id), ctx);
  for (const r of done) assert.deepEqual((r as PromiseFulfilledResult<typeof again>).value, again);
  const art = await store.readJson<MediaArtifact>(artifactPaths.stageOutput(id, 'media'));
  const names = Object.keys(snapshotFiles(id)).sort();
  assert.deepEqual(names, ['audio.wav', 'frames/000000.jpg', 'frames/000001.jpg', 'frames/000002.jpg', 'frames/pixels.ppm', 'media.json', 'source']);
  for (const f of art.frames) assert.ok(statSync(store.resolve(f.path)).size > 0);
});

test('mediaStage: a fresh claim whose files are not in place yet is waited for (retryable error), not reported done', async () => {
  const id = await upload(files.av);
  await mediaStage(store, CFG)(job(id), ctx);
  const claim = store.resolve(artifactPaths.stageOutput(id, 'media'));
  const before = readFileSync(claim, 'utf8');
  rmSync(store.resolve(artifactPaths.audio(id)));
  await assert.rejects(
    mediaStage(store, CFG)(job(id), ctx),
    (err: unknown) => !(err instanceof ProblemError) && /still moving its files in/.test((err as Error).message),
  );
  assert.equal(readFileSync(claim, 'utf8'), before, "the other run's claim is left alone");
});

test('mediaStage: a stale claim whose files never arrived (its run died mid-move) is decoded again', async () => {
  const id = await upload(files.av);
  await mediaStage(store, CFG)(job(id), ctx);
  rmSync(store.resolve(artifactPaths.audio(id)));
  const old = new Date(Date.now() - CLAIM_STALE_MS - 5_000);
  utimesSync(store.resolve(artifactPaths.stageOutput(id, 'media')), old, old);
  const res = await mediaStage(store, CFG)(job(id), ctx);
  assert.equal(res.outcome, 'done');
  assert.ok(statSync(store.resolve(artifactPaths.audio(id))).size > 100_000, 'audio.wav is back');
});

test('mediaStage: video only has no audio, audio only has no frames', async () => {
  const v = await upload(files.videoOnly);
  const rv = await mediaStage(store, CFG)(job(v), ctx);
  assert.equal(rv.output?.hasAudio, false);
  assert.equal(rv.output?.frameCount, 2);
  assert.equal(await store.exists(artifactPaths.audio(v)), false);
  const a = await upload(files.audioOnly);
  const ra = await mediaStage(store, CFG)(job(a), ctx);
  assert.equal(ra.output?.hasAudio, true);
  assert.equal(ra.output?.hasVideo, false);
  assert.equal(ra.output?.frameCount, 0);
  // The decode that starts beside the probe assumes an audio and a video stream; here it is stopped and the
  // file decoded again with what it has, leaving nothing of the first run behind.
  const c = await upload(files.coverArt);
  const rc = await mediaStage(store, CFG)(job(c), ctx);
  assert.equal(rc.output?.hasAudio, true);
  assert.equal(rc.output?.hasVideo, false, 'cover art is not video');
  assert.ok(Math.abs(Number(rc.output?.durationSec) - 3) < 0.1);
  assert.deepEqual((await readdir(path.dirname(store.resolve(artifactPaths.audio(c))))).sort(), ['audio.wav', 'media.json', 'source'].sort());
});

test('mediaStage: too long, corrupt, empty and missing sources fail with stable problems', async () => {
  await assert.rejects(
    mediaStage(store, { ...CFG, maxDurationSec: 4 })(job(await upload(files.av)), ctx),
    (e: unknown) => problem('too-long')(e) && /lasts 5 s; the limit is 4 s/.test((e as ProblemError).detail),
  );
  await assert.rejects(mediaStage(store, CFG)(job(await upload(files.corrupt)), ctx), problem('unsupported-media'));
  await assert.rejects(mediaStage(store, CFG)(job(await upload(files.empty)), ctx), problem('unsupported-media'));
  await assert.rejects(mediaStage(store, CFG)(job(randomUUID()), ctx), problem('unsupported-media'));
});

test('mediaStage: a URL source is downloaded from a local server when private ingest is allowed (redirect followed)', async () => {
  for (const url of [`${baseUrl}/clip.mp4`, `${baseUrl}/moved`]) {
    const id = randomUUID();
    const res = await mediaStage(store, CFG)(job(id, { url }), ctx);
    assert.equal(res.output?.frameCount, 3);
    assert.deepEqual(readFileSync(store.resolve(artifactPaths.source(id))), readFileSync(files.av));
  }
});

test('mediaStage: a URL source is refused without private ingest, and errors are problems', async () => {
  await assert.rejects(
    mediaStage(store, { ...CFG, allowPrivateIngest: false })(job(randomUUID(), { url: `${baseUrl}/clip.mp4` }), ctx),
    problem('url-not-allowed'),
  );
  await assert.rejects(mediaStage(store, CFG)(job(randomUUID(), { url: `${baseUrl}/nope` }), ctx), problem('url-fetch-failed'));
  const id = randomUUID();
  await assert.rejects(mediaStage(store, { ...CFG, downloadMaxBytes: 1000 })(job(id, { url: `${baseUrl}/clip.mp4` }), ctx), problem('payload-too-large'));
  assert.equal(await store.exists(artifactPaths.source(id)), false);
});

test('mediaStage: a URL that keeps trickling bytes is cut off at DOWNLOAD_TIMEOUT_MS, leaving nothing behind', async () => {
  const id = randomUUID();
  const started = Date.now();
  await assert.rejects(
    mediaStage(store, { ...CFG, downloadTimeoutMs: 800 })(job(id, { url: `${baseUrl}/trickle` }), ctx),
    (err: unknown) => problem('url-fetch-failed')(err) && /800 ms/.test((err as ProblemError).detail),
  );
  assert.ok(Date.now() - started < 10_000, 'the download was not cut off');
  assert.equal(await store.exists(artifactPaths.source(id)), false);
  assert.deepEqual(
    (await readdir(store.resolve(`videos/${id}`)).catch(() => [])).filter((f) => f.startsWith('source')),
    [],
  );
});

test('probe: live-muxed Matroska has no duration', async () => {
  for (const f of [files.noDurationAudio, files.noDurationAv, files.noDurationVideo]) assert.ok(Number.isNaN((await probe(f)).durationSec), f);
});

test('mediaStage: a file without a duration is decoded only up to the limit + 1 s and refused as too-long, leaving no audio.wav', async () => {
  const id = await upload(files.noDurationAudio);
  await assert.rejects(
    mediaStage(store, { ...CFG, maxDurationSec: 2 })(job(id), ctx),
    (e: unknown) => problem('too-long')(e) && /declares no duration and its audio lasts at least 3 s; the limit is 2 s/.test((e as ProblemError).detail),
  );
  assert.equal(await store.exists(artifactPaths.audio(id)), false, 'the partial audio.wav is removed');
  assert.equal(await store.exists(artifactPaths.framesDir(id)), false);
  assert.equal(await store.exists(artifactPaths.stageOutput(id, 'media')), false);
});

test('mediaStage: a file without a duration within the limit succeeds; its duration is measured from the audio', async () => {
  const id = await upload(files.noDurationAv);
  const res = await mediaStage(store, { ...CFG, maxDurationSec: 4 })(job(id), ctx);
  assert.equal(res.outcome, 'done');
  assert.ok(Math.abs((res.output?.durationSec as number) - 3) < 0.1, String(res.output?.durationSec));
  assert.equal(res.output?.frameCount, 2);
});

test('mediaStage: frame extraction of a file without a duration stops at the limit + 1 s', async () => {
  const id = await upload(files.noDurationVideo);
  const res = await mediaStage(store, { ...CFG, maxDurationSec: 2, frameIntervalSec: 0.5 })(job(id), ctx);
  // 8 s at one frame per 0.5 s would be 16 frames; the cap at 3 s leaves at most 0, 0.5, ..., 3
  assert.ok((res.output?.frameCount as number) <= 7, `${res.output?.frameCount} frames`);
});
