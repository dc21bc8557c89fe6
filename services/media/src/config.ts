import { z } from 'zod';
import { DEFAULT_PORTS, baseEnv, bool, loadConfig, port } from '@omniaffect/core';
import { SINGLE_THREAD_MAX_BYTES } from './ffmpeg';
import { DEFAULT_LIMITS, type MediaLimits } from './limits';
import type { MediaConfig } from './media-stage';

const int = (min: number, max: number, dflt: number) => z.coerce.number().int().min(min).max(max).default(dflt);
/** ffmpeg reads these as C ints (max_pixels is an int64 clamped to INT_MAX). */
const INT_MAX = 2 ** 31 - 1;

/**
 * The media service's environment, validated once at start: a bad value stops the service with one
 * message naming every offending variable. The cost caps refuse a file with `exceeds-limits` on its
 * probe, which stops the decode started beside it; see limits.ts for why each default is what it is.
 */
export const mediaEnv = {
  ...baseEnv,
  OPS_PORT: port(DEFAULT_PORTS.ops.media),
  MEDIA_CONCURRENCY: z.coerce.number().int().min(1).default(2),
  /** 3-hour uploads are refused with `too-long` rather than tying up every worker. */
  MEDIA_MAX_DURATION_SEC: z.coerce
    .number()
    .positive()
    .default(2 * 3600),
  FRAME_INTERVAL_SEC: z.coerce.number().positive().default(2),
  FRAME_MAX_SIDE: z.coerce.number().int().min(64).default(448),
  DOWNLOAD_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(2 * 1024 ** 3),
  DOWNLOAD_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(10 * 60_000),
  /** A decode killed at this deadline is retried (the machine may have been overloaded), not blamed on the file. */
  FFMPEG_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(30 * 60_000),
  FFPROBE_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  OMNIAFFECT_INGEST_ALLOW_PRIVATE: bool(false),
  /** Largest picture width / height accepted (any video stream, cover art included). */
  MEDIA_MAX_WIDTH: int(16, 65_535, DEFAULT_LIMITS.maxWidth),
  MEDIA_MAX_HEIGHT: int(16, 65_535, DEFAULT_LIMITS.maxHeight),
  /** Largest width × height; also every decoder's -max_pixels, so a stream that grows mid-file is cut too. */
  MEDIA_MAX_PIXELS: int(256, INT_MAX, DEFAULT_LIMITS.maxPixels),
  /** Highest frame rate, declared or measured over the first 10 s. */
  MEDIA_MAX_FPS: z.coerce.number().positive().default(DEFAULT_LIMITS.maxFps),
  /** Most frames one video may make the decoder go through: frame rate × duration. */
  MEDIA_MAX_VIDEO_FRAMES: int(1, Number.MAX_SAFE_INTEGER, DEFAULT_LIMITS.maxVideoFrames),
  /** Highest audio sample rate in Hz (any audio stream). */
  MEDIA_MAX_SAMPLE_RATE: int(8000, 1_536_000, DEFAULT_LIMITS.maxSampleRate),
  /** Most channels in one audio stream. */
  MEDIA_MAX_AUDIO_CHANNELS: int(1, 1024, DEFAULT_LIMITS.maxChannels),
  /** ffprobe output read before ffprobe is killed and the file refused (tags are never printed, so real files need a few KB). */
  MEDIA_MAX_PROBE_BYTES: int(4096, 256 * 1024 ** 2, DEFAULT_LIMITS.maxProbeBytes),
  /** ffmpeg/ffprobe -max_alloc: the largest single memory block a file may make them allocate. */
  MEDIA_MAX_ALLOC_BYTES: int(64 * 1024 ** 2, INT_MAX, DEFAULT_LIMITS.maxAllocBytes),
  /**
   * How ffmpeg and ffprobe run: `auto` forks each run from a server process that loaded the binary once
   * (fork-server.ts; ~100 ms less CPU per run) and spawns instead, with a warning, where the server is not
   * built or cannot start; `on` refuses to start without it; `off` spawns every run.
   */
  MEDIA_FORKSERVER: z.enum(['auto', 'on', 'off']).default('auto'),
  /**
   * Sources up to this size are decoded on one thread: ffmpeg's thread start-up (~30 ms of CPU) is a third
   * of a short clip's decode. 0 lets ffmpeg pick its threads for every file.
   */
  MEDIA_SINGLE_THREAD_MAX_BYTES: int(0, Number.MAX_SAFE_INTEGER, SINGLE_THREAD_MAX_BYTES),
  /** Decode-bomb guard: media longer than 5 min with fewer bytes per declared second is refused (0 = off). */
  MEDIA_MIN_BYTES_PER_SEC: z.coerce.number().min(0).default(DEFAULT_LIMITS.minBytesPerSec),
};

export type MediaEnv = z.infer<z.ZodObject<typeof mediaEnv>>;

export const loadMediaEnv = (env: NodeJS.ProcessEnv = process.env): MediaEnv => loadConfig('media', mediaEnv, env);

export function limitsFromEnv(cfg: MediaEnv): MediaLimits {
  return {
    maxWidth: cfg.MEDIA_MAX_WIDTH,
    maxHeight: cfg.MEDIA_MAX_HEIGHT,
    maxPixels: cfg.MEDIA_MAX_PIXELS,
    maxFps: cfg.MEDIA_MAX_FPS,
    maxVideoFrames: cfg.MEDIA_MAX_VIDEO_FRAMES,
    maxSampleRate: cfg.MEDIA_MAX_SAMPLE_RATE,
    maxChannels: cfg.MEDIA_MAX_AUDIO_CHANNELS,
    maxProbeBytes: cfg.MEDIA_MAX_PROBE_BYTES,
    maxAllocBytes: cfg.MEDIA_MAX_ALLOC_BYTES,
    minBytesPerSec: cfg.MEDIA_MIN_BYTES_PER_SEC,
  };
}

export function mediaConfigFromEnv(cfg: MediaEnv): MediaConfig {
  return {
    maxDurationSec: cfg.MEDIA_MAX_DURATION_SEC,
    frameIntervalSec: cfg.FRAME_INTERVAL_SEC,
    frameMaxSide: cfg.FRAME_MAX_SIDE,
    downloadMaxBytes: cfg.DOWNLOAD_MAX_BYTES,
    downloadTimeoutMs: cfg.DOWNLOAD_TIMEOUT_MS,
    allowPrivateIngest: cfg.OMNIAFFECT_INGEST_ALLOW_PRIVATE,
    ffmpegTimeoutMs: cfg.FFMPEG_TIMEOUT_MS,
    probeTimeoutMs: cfg.FFPROBE_TIMEOUT_MS,
    limits: limitsFromEnv(cfg),
    singleThreadMaxBytes: cfg.MEDIA_SINGLE_THREAD_MAX_BYTES,
  };
}
