import { ProblemError } from '@omniaffect/core';
import { DEFAULT_MAX_ALLOC_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_MAX_PROBE_BYTES, type ProbeResult } from './ffmpeg';

/**
 * Caps on what one upload may cost, checked on the probe (a broken one stops the decode started beside
 * it). Duration alone is not enough: a few-KB file can declare 2 h of 1000 fps video or of silence, and
 * decoding it ties up a worker for an hour and writes hundreds of MB. Each limit's env variable is in config.ts.
 */
export interface MediaLimits {
  maxWidth: number;
  maxHeight: number;
  /** width × height of one picture; also passed to every decoder as -max_pixels. */
  maxPixels: number;
  maxFps: number;
  /** Frames the decoder would go through: frame rate × duration (or the declared count, if larger). */
  maxVideoFrames: number;
  maxSampleRate: number;
  maxChannels: number;
  /** Bytes of ffprobe output read before ffprobe is killed. */
  maxProbeBytes: number;
  /** -max_alloc: the largest single block ffmpeg/ffprobe may allocate. */
  maxAllocBytes: number;
  /** Decode-bomb guard: media longer than BOMB_GUARD_MIN_SEC must carry at least this many bytes per second (0 = off). */
  minBytesPerSec: number;
}

export const DEFAULT_LIMITS: MediaLimits = {
  // portrait or landscape 8K (7680×4320) is the largest camera output in use
  maxWidth: 7680,
  maxHeight: 7680,
  maxPixels: DEFAULT_MAX_PIXELS,
  // phones record slow motion at 240 fps; the headroom absorbs a measured rate a little above it
  maxFps: 300,
  // 2 h (the default duration limit) at 60 fps
  maxVideoFrames: 2 * 3600 * 60,
  maxSampleRate: 192_000,
  // 7.1 is 8; 16 leaves room for ambisonics and multitrack field recorders
  maxChannels: 16,
  maxProbeBytes: DEFAULT_MAX_PROBE_BYTES,
  maxAllocBytes: DEFAULT_MAX_ALLOC_BYTES,
  // The thinnest real media is speech codecs at ~600 B/s (AMR, 6 kbps Opus); a 2 h silent FLAC with
  // 64 Ki-sample blocks is ~3 B/s. 32 B/s sits far below anything real.
  minBytesPerSec: 32,
};

/**
 * The bytes-per-second guard only applies above this duration: a short file cannot amplify much
 * (the duration limit bounds its decode anyway), and tiny test clips stay accepted.
 */
export const BOMB_GUARD_MIN_SEC = 300;

const refuse = (detail: string) => new ProblemError('exceeds-limits', detail);

/**
 * Throws `exceeds-limits` for the first limit the probed file breaks. Picture and audio limits apply to
 * every stream (ffprobe and ffmpeg open and decode a little of each while probing); frame rate and
 * frame count to the video stream that is decoded in full. A file without a duration gets no frame-count
 * check: its decode is cut at the duration limit, so it costs at most maxFps × that limit.
 */
export function checkLimits(info: ProbeResult, sizeBytes: number, lim: MediaLimits): void {
  for (const s of info.streams) {
    if (s.type === 'video') {
      if (s.width > lim.maxWidth || s.height > lim.maxHeight || s.width * s.height > lim.maxPixels) {
        throw refuse(
          `a ${s.width}×${s.height} picture exceeds the limit of ${lim.maxWidth}×${lim.maxHeight}, ${lim.maxPixels} pixels (MEDIA_MAX_WIDTH, MEDIA_MAX_HEIGHT, MEDIA_MAX_PIXELS)`,
        );
      }
    }
    if (s.type === 'audio') {
      if (s.sampleRate > lim.maxSampleRate)
        throw refuse(`audio sampled at ${s.sampleRate} Hz exceeds the limit of ${lim.maxSampleRate} Hz (MEDIA_MAX_SAMPLE_RATE)`);
      if (s.channels > lim.maxChannels) throw refuse(`audio with ${s.channels} channels exceeds the limit of ${lim.maxChannels} (MEDIA_MAX_AUDIO_CHANNELS)`);
    }
  }
  const v = info.video ? info.streams.find((s) => s.index === info.video?.index) : undefined;
  if (v) {
    const rate = Math.max(v.fps || 0, v.measuredFps || 0);
    if (rate > lim.maxFps) throw refuse(`video at ${Math.round(rate)} frames per second exceeds the limit of ${lim.maxFps} (MEDIA_MAX_FPS)`);
    if (Number.isFinite(info.durationSec)) {
      const frames = Math.max(v.frames || 0, rate * info.durationSec);
      if (frames > lim.maxVideoFrames) {
        throw refuse(
          `the video has about ${Math.round(frames)} frames (${Math.round(rate)} fps × ${Math.round(info.durationSec)} s); the limit is ${lim.maxVideoFrames} (MEDIA_MAX_VIDEO_FRAMES)`,
        );
      }
    }
  }
  if (lim.minBytesPerSec > 0 && Number.isFinite(info.durationSec) && info.durationSec > BOMB_GUARD_MIN_SEC) {
    const rate = sizeBytes / info.durationSec;
    if (rate < lim.minBytesPerSec) {
      throw refuse(
        `the file is ${sizeBytes} bytes but declares ${Math.round(info.durationSec)} s (${rate.toFixed(1)} bytes/s); media thinner than ${lim.minBytesPerSec} bytes/s is refused as a decode bomb (MEDIA_MIN_BYTES_PER_SEC)`,
      );
    }
  }
}
