import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  ArtifactStore,
  MediaArtifactSchema,
  ProblemError,
  SizeLimitError,
  artifactPaths,
  parseContract,
  redactUrl,
  safeRequest,
  type MediaArtifact,
  type MediaOutput,
  type StageHandler,
  type ToolRunner,
} from '@omniaffect/core';
import { scanPpmStream, wavDurationSec } from '@omniaffect/features';
import { AUDIO_BYTES_PER_SEC, SINGLE_THREAD_MAX_BYTES, extractMedia, probe, scrubPaths, type ExtractOptions, type ProbeResult } from './ffmpeg';
import { DEFAULT_LIMITS, checkLimits, type MediaLimits } from './limits';

/**
 * Decoders may add a few tens of ms (AAC priming/padding) to a declared duration; a file whose probe
 * says it fits is only refused when its decoded audio is longer than the limit by more than this.
 */
const DECODE_SLACK_SEC = 0.5;

export interface MediaConfig {
  maxDurationSec: number;
  frameIntervalSec: number;
  frameMaxSide: number;
  downloadMaxBytes: number;
  downloadTimeoutMs: number;
  allowPrivateIngest: boolean;
  ffmpegTimeoutMs: number;
  /** ffprobe's deadline; 60 s when absent. */
  probeTimeoutMs?: number;
  /** Cost caps; DEFAULT_LIMITS for whatever is absent. */
  limits?: Partial<MediaLimits>;
  /** How ffprobe and ffmpeg are run: the worker's fork servers (MediaTools.run), else a spawn per run. */
  runner?: ToolRunner;
  /** Sources up to this many bytes are decoded on one thread (ExtractOptions.singleThreaded); SINGLE_THREAD_MAX_BYTES when absent. */
  singleThreadMaxBytes?: number;
}

/** media.json's shape is declared once, in core's stage-contracts (the other stages read it). */
export type { MediaArtifact };

/** Probe → reject bad media with a stable problem → audio.wav + frames → media.json. */
export function mediaStage(store: ArtifactStore, cfg: MediaConfig): StageHandler {
  const handle = decode(store, cfg);
  return async (job, ctx) => {
    try {
      return await handle(job, ctx);
    } catch (err) {
      throw withoutPaths(err, store.root);
    }
  };
}

/**
 * A retryable error's message ends up in the `model-error` detail the client sees once the attempts
 * run out, and Node's fs errors name the absolute path (`ENOSPC: …, open '/…/videos/<id>/audio.wav'`).
 * Problem details are built path-free; anything else is rewritten, its original kept as the cause
 * for the logs.
 */
function withoutPaths(err: unknown, root: string): unknown {
  if (err instanceof ProblemError || !(err instanceof Error)) return err;
  const message = scrubPaths(err.message, { [root]: '<artifacts>' });
  if (message === err.message) return err;
  const clean = new Error(message, { cause: err });
  clean.name = err.name;
  return clean;
}

function decode(store: ArtifactStore, cfg: MediaConfig): StageHandler {
  const lim: MediaLimits = { ...DEFAULT_LIMITS, ...cfg.limits };
  return async (job, { log }) => {
    const id = job.videoId;
    const outRel = artifactPaths.stageOutput(id, 'media');
    if (await store.exists(outRel)) {
      const prev = await claimedOutput(store, outRel, log);
      if (prev) return { outcome: 'done', output: summary(prev) };
    }
    const srcRel = job.inputs.source ?? artifactPaths.source(id);
    if (!(await store.exists(srcRel))) {
      if (!job.inputs.url) throw new ProblemError('unsupported-media', 'the uploaded file is missing from the artifact store');
      await download(job.inputs.url, store, srcRel, cfg);
      log.info('source downloaded');
    }
    const src = store.resolve(srcRel);
    const srcBytes = (await fs.stat(src)).size;
    // Never decode more than the limit (+1 s, to tell "too long" from "exactly at the limit"): the
    // probe's duration can be missing (live-muxed Matroska, raw streams) or wrong.
    const capSec = cfg.maxDurationSec + 1;
    const decodeOpts: ExtractOptions = {
      timeoutMs: cfg.ffmpegTimeoutMs,
      maxSec: capSec,
      maxPixels: lim.maxPixels,
      maxAllocBytes: lim.maxAllocBytes,
      runner: cfg.runner,
      singleThreaded: srcBytes <= (cfg.singleThreadMaxBytes ?? SINGLE_THREAD_MAX_BYTES),
    };
    // ffmpeg writes beside the final paths and the results are renamed into place only if no other
    // run finished first: a duplicate run (a job whose lock lapsed under load) must never rewrite
    // audio.wav or frames/ while the stages that the first run unblocked are reading them.
    const tmp = `.tmp-${randomUUID()}`;
    const audioPath = store.resolve(artifactPaths.audio(id));
    const framesDir = store.resolve(artifactPaths.framesDir(id));
    const audioTmp = audioPath + tmp;
    const framesTmp = framesDir + tmp;
    // One decode for both: audio.wav, the JPEG frames and the same frames as raw RGB (PPM) for vision.
    const outputs = (audio: boolean, video: boolean, info?: ProbeResult) => ({
      audio: audio ? { dest: audioTmp, stream: info?.audio?.index } : undefined,
      frames: video
        ? {
            pattern: path.join(framesTmp, '%06d.jpg'),
            pixels: path.join(framesTmp, PIXELS_FILE),
            intervalSec: cfg.frameIntervalSec,
            maxSide: cfg.frameMaxSide,
            stream: info?.video?.index,
          }
        : undefined,
    });
    const stop = new AbortController();
    let decoding: Promise<void> | null = null;
    // No ffmpeg is left writing into what is removed after it.
    const stopDecoding = async () => {
      if (!decoding) return;
      stop.abort();
      await decoding.catch(() => undefined);
      decoding = null;
    };
    const removeTemps = async () => {
      await fs.rm(audioTmp, { force: true });
      await fs.rm(framesTmp, { recursive: true, force: true });
    };
    try {
      await fs.mkdir(framesTmp, { recursive: true });
      // The decode starts beside the probe instead of after it: each is a process whose start-up alone
      // (~100 ms when spawned: ffmpeg links ~215 shared libraries; ~5 ms from the fork server) was most
      // of a short clip's media stage. It assumes
      // what nearly every upload has, one audio and one video stream, and takes the streams probe() picks
      // (the first audio, the first video that is not cover art). It runs under every input guard the
      // decode always has (protocol and demuxer whitelists, -max_pixels, -max_alloc, the duration cap, the
      // timeout) and is killed the moment the probe refuses the file, so a refused file costs at most
      // the probe's time of decoding, where it used to cost none. A file with only one kind of stream is
      // decoded again with the outputs it has.
      decoding = extractMedia(src, outputs(true, true), { ...decodeOpts, signal: stop.signal });
      decoding.catch(() => undefined); // awaited below; a refusal by the probe stops it first
      const info = await probe(src, {
        timeoutMs: cfg.probeTimeoutMs,
        maxOutputBytes: lim.maxProbeBytes,
        maxPixels: lim.maxPixels,
        maxAllocBytes: lim.maxAllocBytes,
        runner: cfg.runner,
      });
      if (!info.audio && !info.video) throw new ProblemError('no-media-streams', `the file (${info.formatName}) has neither an audio nor a video stream`);
      if (Number.isFinite(info.durationSec) && info.durationSec > cfg.maxDurationSec) {
        throw new ProblemError('too-long', `the media lasts ${Math.round(info.durationSec)} s; the limit is ${cfg.maxDurationSec} s (MEDIA_MAX_DURATION_SEC)`);
      }
      // What the probe cannot see (a stream that changes size or rate mid-file) is still bounded:
      // -max_pixels in every decoder, decoding cut at the duration limit, and FFMPEG_TIMEOUT_MS.
      checkLimits(info, srcBytes, lim);
      const durationKnown = Number.isFinite(info.durationSec);
      if (info.audio && info.video) await decoding;
      else {
        await stopDecoding();
        await removeTemps();
        if (info.video) await fs.mkdir(framesTmp, { recursive: true });
        await extractMedia(src, outputs(!!info.audio, !!info.video, info), decodeOpts);
      }
      let audioSec: number | null = null;
      if (info.audio) {
        audioSec = await wavDurationSec(audioTmp, AUDIO_BYTES_PER_SEC);
        const limit = cfg.maxDurationSec + (durationKnown ? DECODE_SLACK_SEC : 0);
        if (audioSec > limit) {
          const what = durationKnown ? `declares ${Math.round(info.durationSec)} s but its audio lasts` : 'declares no duration and its audio lasts';
          const amount = audioSec >= capSec - 0.01 ? `at least ${Math.round(audioSec)} s` : `${Math.round(audioSec)} s`;
          throw new ProblemError('too-long', `the media ${what} ${amount}; the limit is ${cfg.maxDurationSec} s (MEDIA_MAX_DURATION_SEC)`);
        }
      }
      let frameFiles: string[] = [];
      let pixels: string | null = null;
      if (info.video) {
        frameFiles = (await fs.readdir(framesTmp)).filter((f) => f.endsWith('.jpg')).sort();
        // Both outputs come from one split of one filter chain, so they hold the same frames; a stream
        // that does not (it cannot, short of a bug) is dropped and vision decodes the JPEGs instead.
        const raw = scanPpmStream(path.join(framesTmp, PIXELS_FILE));
        if (raw.length === frameFiles.length) pixels = store.relative(path.join(framesDir, PIXELS_FILE));
        else {
          log.warn({ jpeg: frameFiles.length, raw: raw.length }, 'raw frame stream does not match the JPEG frames; vision will decode the JPEGs');
          await fs.rm(path.join(framesTmp, PIXELS_FILE), { force: true });
        }
      }
      const audio = info.audio ? artifactPaths.audio(id) : null;
      const frames = frameFiles.map((f, i) => ({ path: store.relative(path.join(framesDir, f)), time: i * cfg.frameIntervalSec }));
      const artifact: MediaArtifact = {
        // no duration in the container: the decoded audio's length is the best measure there is; null
        // when there is neither (what JSON made of the NaN this used to be)
        durationSec: durationKnown ? info.durationSec : audioSec !== null && Number.isFinite(audioSec) ? audioSec : null,
        formatName: info.formatName,
        hasAudio: audio !== null,
        hasVideo: frames.length > 0,
        audio,
        frames,
        pixels,
        probe: info,
      };
      // media.json is the claim: exactly one run creates it, and only that run moves its files in.
      // (A stage unblocked by the claim may look for audio.wav a moment before the rename; it fails
      // that attempt and its retry finds the file.)
      while (!(await store.createJsonExclusive(outRel, artifact))) {
        const prev = await claimedOutput(store, outRel, log);
        if (prev) {
          log.info('another run of this stage finished first; its output stands');
          return { outcome: 'done', output: summary(prev) };
        }
      }
      if (info.audio) await fs.rename(audioTmp, audioPath);
      if (info.video) {
        await fs.rm(framesDir, { recursive: true, force: true });
        await fs.rename(framesTmp, framesDir);
      }
      return { outcome: 'done', output: summary(artifact) };
    } finally {
      // nothing partial stays behind for a later stage (or a re-run) to pick up
      await stopDecoding();
      await removeTemps();
    }
  };
}

/** The sampled frames as one stream of binary PPM images, beside their JPEGs in frames/. */
export const PIXELS_FILE = 'pixels.ppm';

/**
 * A claim (media.json) whose files are still missing this long after it was written belongs to a run
 * that died between claiming and moving its files in; renames take microseconds.
 */
export const CLAIM_STALE_MS = 60_000;

/**
 * The output another run claimed, once its files are in place. A fresh claim whose files are not
 * there yet is being completed: throw a retryable error rather than report `done` for files that may
 * never arrive. A stale one is removed (null: decode again).
 */
async function claimedOutput(store: ArtifactStore, outRel: string, log: { warn: (msg: string) => void }): Promise<MediaArtifact | null> {
  const prev = parseContract(MediaArtifactSchema, await store.readJson<unknown>(outRel), 'media.json');
  if (await filesInPlace(store, prev)) return prev;
  const age = Date.now() - (await fs.stat(store.resolve(outRel))).mtimeMs;
  if (age < CLAIM_STALE_MS) throw new Error(`another run claimed the media output ${Math.round(age)} ms ago and is still moving its files in`);
  log.warn('media.json names files that are missing (its run died while moving them in); decoding again');
  await fs.rm(store.resolve(outRel), { force: true });
  return null;
}

async function filesInPlace(store: ArtifactStore, a: MediaArtifact): Promise<boolean> {
  const last = a.frames[a.frames.length - 1];
  return (!a.audio || (await store.exists(a.audio))) && (!last || (await store.exists(last.path)));
}

function summary(a: MediaArtifact): MediaOutput {
  return { durationSec: a.durationSec, hasAudio: a.hasAudio, hasVideo: a.hasVideo, frameCount: a.frames.length, formatName: a.formatName };
}

/**
 * Source URLs are often pre-signed: the query string is a credential. Nothing that leaves this
 * function (problem detail, error message, hence log line) carries more than redactUrl() keeps.
 */
async function download(url: string, store: ArtifactStore, rel: string, cfg: MediaConfig): Promise<void> {
  const shown = redactUrl(url);
  try {
    await fetchTo(url, shown, store, rel, cfg);
  } catch (err) {
    if (err instanceof ProblemError || !(err instanceof Error) || !err.message.includes(url)) throw err;
    throw new Error(err.message.split(url).join(shown), { cause: err });
  }
}

async function fetchTo(url: string, shown: string, store: ArtifactStore, rel: string, cfg: MediaConfig): Promise<void> {
  const res = await safeRequest(url, { method: 'GET', allowPrivate: cfg.allowPrivateIngest, timeoutMs: cfg.downloadTimeoutMs, maxRedirects: 3 });
  if (!res.statusCode || res.statusCode >= 400) {
    res.resume();
    throw new ProblemError('url-fetch-failed', `GET ${shown} answered ${res.statusCode}`);
  }
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > cfg.downloadMaxBytes) {
    res.destroy();
    throw new ProblemError('payload-too-large', `the URL serves ${declared} bytes; the limit is ${cfg.downloadMaxBytes}`);
  }
  const timer = setTimeout(
    () => res.destroy(new ProblemError('url-fetch-failed', `download took longer than ${cfg.downloadTimeoutMs} ms`)),
    cfg.downloadTimeoutMs,
  );
  try {
    await store.writeStream(rel, res, cfg.downloadMaxBytes);
  } catch (err) {
    if (err instanceof SizeLimitError) throw new ProblemError('payload-too-large', `the URL serves more than ${cfg.downloadMaxBytes} bytes`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
