import { spawnSync } from 'node:child_process';
import { runTool, type SentimentLabel } from '@omniaffect/core';
import { syntheticVoiceSource, type SyntheticVoice } from './synthetic-voice';

/**
 * The cues synthetic media plants, and the ffmpeg renderer that lays them out on a timeline. Shared by
 * the MMSA-layout clips (synthetic-mmsa.ts) and the long planted-timeline videos (synthetic-timeline.ts),
 * so a policy trained on the one reads the other.
 */

export type Rgb = [number, number, number];

/** Frame colours (RGB) per planted vision sentiment; everything else is the neutral grey. */
export const COLOURS: Record<SentimentLabel, Rgb> = {
  positive: [190, 230, 40],
  negative: [40, 25, 95],
  neutral: [128, 128, 128],
};

/**
 * Voice per planted audio sentiment: fundamental range (Hz) and peak amplitude; everything else speaks
 * neutrally. The amplitudes put the neutral voice's mean power at -1.3 log10 (the tiny emotion2vec's
 * loudness neutral point), the negative one near -2.1 and the positive one near -0.9, so loudness
 * separates them as much as pitch does instead of saturating.
 */
export const VOICES: Record<SentimentLabel, { f0: [number, number]; amp: number }> = {
  positive: { f0: [300, 400], amp: 0.85 },
  negative: { f0: [90, 120], amp: 0.25 },
  neutral: { f0: [175, 185], amp: 0.6 },
};

export const SENTIMENTS: SentimentLabel[] = ['negative', 'neutral', 'positive'];

export class FfmpegMissingError extends Error {}

/** Whether ffmpeg can be started; a reason string when it cannot. */
export function ffmpegAvailable(ffmpegPath = 'ffmpeg'): true | string {
  const r = spawnSync(ffmpegPath, ['-hide_banner', '-version'], { encoding: 'utf8' });
  if (r.error) return `ffmpeg not runnable (${r.error.message}); install it, e.g. apt-get install -y ffmpeg`;
  if (r.status !== 0) return `ffmpeg -version exited ${r.status}`;
  return true;
}

export function hex(rgb: Rgb): string {
  return (
    '0x' +
    rgb
      .map((v) =>
        Math.max(0, Math.min(255, Math.round(v)))
          .toString(16)
          .padStart(2, '0'),
      )
      .join('')
  );
}

/** A stretch of one track: [start, end) seconds. */
export interface Stretch<T> {
  start: number;
  end: number;
  value: T;
}

/** A clip's tracks, each covering [0, duration] in order: frame colour, and voice (null = silence). */
export interface MediaTracks {
  durationSec: number;
  colour: Stretch<Rgb>[];
  voice: Stretch<SyntheticVoice | null>[];
}

/** Same-valued neighbours joined, so the voice's syllables and phase run on across a stretch. */
function joined<T>(track: Stretch<T>[], same: (a: T, b: T) => boolean): Stretch<T>[] {
  const out: Stretch<T>[] = [];
  for (const s of track) {
    const last = out[out.length - 1];
    if (last && same(last.value, s.value) && Math.abs(last.end - s.start) < 1e-9) last.end = s.end;
    else out.push({ ...s });
  }
  return out;
}

const sec = (x: number) => x.toFixed(3);

/**
 * ffmpeg arguments that render the tracks to an mp4 (H.264 320×240 at 15 fps, AAC 16 kHz mono): each
 * track is a chain of lavfi sources concatenated in one filter graph.
 */
export function renderArgs(out: string, tracks: MediaTracks): string[] {
  const colour = joined(tracks.colour, (a, b) => hex(a) === hex(b));
  const voice = joined(
    tracks.voice,
    (a, b) => (a === null && b === null) || (a !== null && b !== null && a.f0 === b.f0 && a.amp === b.amp && a.band === b.band),
  );
  const graph: string[] = [];
  colour.forEach((c, i) => graph.push(`color=c=${hex(c.value)}:s=320x240:r=15:d=${sec(c.end - c.start)}[v${i}]`));
  graph.push(`${colour.map((_, i) => `[v${i}]`).join('')}concat=n=${colour.length}:v=1:a=0[vout]`);
  voice.forEach((v, i) =>
    graph.push(
      v.value
        ? `${syntheticVoiceSource(v.value, { durationSec: Number(sec(v.end - v.start)) })}[a${i}]`
        : `anullsrc=r=16000:cl=mono,atrim=duration=${sec(v.end - v.start)}[a${i}]`,
    ),
  );
  graph.push(`${voice.map((_, i) => `[a${i}]`).join('')}concat=n=${voice.length}:v=0:a=1[aout]`);
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-filter_complex',
    graph.join(';'),
    '-map',
    '[vout]',
    '-map',
    '[aout]',
    '-t',
    sec(tracks.durationSec),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    '-ar',
    '16000',
    '-movflags',
    '+faststart',
    out,
  ];
}

/** Generating one clip takes a second or two; ten minutes means ffmpeg hung. */
const CLIP_TIMEOUT_MS = 600_000;

export async function runFfmpeg(bin: string, args: string[]): Promise<void> {
  const r = await runTool(bin, args, CLIP_TIMEOUT_MS);
  if (r.code !== 0) throw new Error(`ffmpeg exited ${r.code}: ${r.stderr.trim().slice(-500)}`);
}

export async function runBounded<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

export function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** The voice a sentiment speaks with (f0 drawn from its range). */
export function voiceFor(r: () => number, s: SentimentLabel): SyntheticVoice {
  const v = VOICES[s];
  return { f0: Math.round((v.f0[0] + r() * (v.f0[1] - v.f0[0])) * 100) / 100, amp: v.amp, band: 'low' };
}

/** A colour near a sentiment's (±8 per channel, so frames are not all identical). */
export function colourFor(r: () => number, s: SentimentLabel): Rgb {
  return COLOURS[s].map((v) => v + (r() - 0.5) * 16) as Rgb;
}
