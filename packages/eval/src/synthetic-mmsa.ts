import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { mulberry32, runTool, type Modality, type SentimentLabel } from '@omniaffect/core';
import { toCsv } from './csv';
import type { SplitMode } from './mmsa-dataset';
import type { MmsaDatasetName } from './sentiment-labels';

export interface SyntheticMmsaOptions {
  root: string;
  dataset: MmsaDatasetName;
  clipsPerSplit: Record<SplitMode, number>;
  seed: number;
  durationSec?: number;
  /** ffmpeg processes at once (default 2: the generator is meant to run on small CI boxes). */
  concurrency?: number;
  ffmpegPath?: string;
}

export interface SyntheticClip {
  id: string;
  videoId: string;
  clipId: string;
  mode: SplitMode;
  sentiment: SentimentLabel;
  label: number;
  planted: Modality;
  text: string;
  mediaPath: string;
}

export interface SyntheticMmsaResult {
  root: string;
  labelFile: string;
  clips: SyntheticClip[];
}

export class FfmpegMissingError extends Error {}

/** Whether ffmpeg can be started; a reason string when it cannot. */
export function ffmpegAvailable(ffmpegPath = 'ffmpeg'): true | string {
  const r = spawnSync(ffmpegPath, ['-hide_banner', '-version'], { encoding: 'utf8' });
  if (r.error) return `ffmpeg not runnable (${r.error.message}); install it, e.g. apt-get install -y ffmpeg`;
  if (r.status !== 0) return `ffmpeg -version exited ${r.status}`;
  return true;
}

const WORDS: Record<MmsaDatasetName, Record<SentimentLabel, string[]>> = {
  sims2: {
    positive: ['开心', '好', '棒', '喜欢'],
    negative: ['难过', '讨厌', '糟糕', '生气'],
    neutral: ['今天', '天气', '会议', '报告'],
  },
  mosei: {
    positive: ['great', 'happy', 'love', 'wonderful'],
    negative: ['terrible', 'sad', 'hate', 'awful'],
    neutral: ['the', 'weather', 'report', 'meeting', 'today'],
  },
};

/** Frame colours (RGB) per planted vision sentiment; clips planted elsewhere use the neutral grey. */
const COLOURS: Record<SentimentLabel, [number, number, number]> = {
  positive: [190, 230, 40],
  negative: [40, 25, 95],
  neutral: [128, 128, 128],
};

/** Voiced tone: fundamental Hz, amplitude, 2nd/3rd harmonic gains. */
const TONES: Record<SentimentLabel, { f0: [number, number]; amp: number; h2: number; h3: number }> = {
  positive: { f0: [300, 400], amp: 0.45, h2: 0.6, h3: 0.4 },
  negative: { f0: [90, 120], amp: 0.08, h2: 0.15, h3: 0.05 },
  neutral: { f0: [175, 185], amp: 0.2, h2: 0.3, h3: 0.15 },
};

const SENTIMENTS: SentimentLabel[] = ['negative', 'neutral', 'positive'];
const MODALITIES_PLANTED: Modality[] = ['text', 'audio', 'vision'];
const SPLITS: SplitMode[] = ['train', 'valid', 'test'];
const YT_ALPHABET = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** Labels near the dataset's strong values: SIMS v2 on its 0.2 grid, MOSEI on thirds; neutral is exactly 0. */
function plantedLabel(r: () => number, dataset: MmsaDatasetName, s: SentimentLabel): number {
  if (s === 'neutral') return 0;
  const sign = s === 'positive' ? 1 : -1;
  const magnitude = dataset === 'sims2' ? pick(r, [0.6, 0.8, 1.0]) : pick(r, [1.6667, 2, 2.3333]);
  return sign * magnitude;
}

function transcript(r: () => number, dataset: MmsaDatasetName, s: SentimentLabel): string {
  const words = WORDS[dataset][s];
  const chosen = Array.from({ length: 4 }, () => pick(r, words));
  if (dataset === 'sims2') return `${chosen.slice(0, 2).join('')}，${chosen.slice(2).join('')}。`;
  // An ASCII comma and quotes make the label file exercise RFC 4180 quoting.
  return `${chosen.slice(0, 2).join(' ')}, "${chosen.slice(2).join(' ')}"`;
}

function hex(rgb: [number, number, number]): string {
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

function ffmpegArgs(out: string, colour: [number, number, number], tone: { f0: number; amp: number; h2: number; h3: number }, durationSec: number): string[] {
  // A slow 5 Hz vibrato keeps the tone voice-like rather than a pure beep, without changing its mean pitch.
  const w = `2*PI*${tone.f0.toFixed(2)}*(t+0.002*sin(2*PI*5*t))`;
  const expr = `${tone.amp}*(sin(${w})+${tone.h2}*sin(2*${w})+${tone.h3}*sin(3*${w}))/${(1 + tone.h2 + tone.h3).toFixed(3)}`;
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `color=c=${hex(colour)}:s=320x240:r=15:d=${durationSec}`,
    '-f',
    'lavfi',
    '-i',
    `aevalsrc='${expr}':s=16000:c=mono:d=${durationSec}`,
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
    '-shortest',
    '-movflags',
    '+faststart',
    out,
  ];
}

/** Generating one short clip takes a second or two; ten minutes means ffmpeg hung. */
const CLIP_TIMEOUT_MS = 600_000;

async function runFfmpeg(bin: string, args: string[]): Promise<void> {
  const r = await runTool(bin, args, CLIP_TIMEOUT_MS);
  if (r.code !== 0) throw new Error(`ffmpeg exited ${r.code}: ${r.stderr.trim().slice(-500)}`);
}

async function runBounded<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

/**
 * Writes a small dataset in the MMSA raw layout (label.csv + Raw/<video_id>/<clip_id>.mp4) in which each clip's
 * sentiment is carried by exactly one modality, named in the extra `planted_modality` column; the other two
 * modalities carry the neutral cue. label_T/A/V hold the planted label on the planted modality and 0 elsewhere.
 * Column order follows the real files: SIMS order for sims2, MOSEI order (annotation, mode before label_T/A/V)
 * for mosei. Deterministic for a given seed.
 */
export async function generateSyntheticMmsa(options: SyntheticMmsaOptions): Promise<SyntheticMmsaResult> {
  const { root, dataset, clipsPerSplit, seed } = options;
  const durationSec = options.durationSec ?? 4;
  const bin = options.ffmpegPath ?? 'ffmpeg';
  const ok = ffmpegAvailable(bin);
  if (ok !== true) throw new FfmpegMissingError(ok);
  const r = mulberry32(seed);

  const clips: (SyntheticClip & { colour: [number, number, number]; tone: { f0: number; amp: number; h2: number; h3: number } })[] = [];
  let videoNo = 0;
  let clipInVideo = 0;
  let videoId = '';
  const newVideoId = () => {
    videoNo++;
    if (dataset === 'sims2') return `synth_${String(videoNo).padStart(4, '0')}`;
    // YouTube-like 11-character ids; the first MOSEI video starts with '-' like real ones (e.g. "-3g5yACwYnA").
    let id = videoNo === 1 ? '-' : pick(r, YT_ALPHABET.slice(0, 62));
    while (id.length < 11) id += pick(r, YT_ALPHABET);
    return id;
  };
  let k = 0;
  for (const mode of SPLITS) {
    for (let i = 0; i < clipsPerSplit[mode]; i++, k++) {
      // Three clips per video, so clip ids repeat across videos as in the real data.
      if (clipInVideo % 3 === 0) {
        videoId = newVideoId();
        clipInVideo = 0;
      }
      const clipId = dataset === 'sims2' ? String(clipInVideo).padStart(5, '0') : String(clipInVideo + 1);
      clipInVideo++;
      // A Latin square over (sentiment, planted modality): any 3 consecutive clips cover every sentiment and
      // every modality, and 9 consecutive clips cover all 9 pairs, so even tiny splits are balanced.
      const sentiment = SENTIMENTS[k % 3]!;
      const planted = MODALITIES_PLANTED[(k + Math.floor(k / 3)) % 3]!;
      const label = plantedLabel(r, dataset, sentiment);
      const text = transcript(r, dataset, planted === 'text' ? sentiment : 'neutral');
      const base = COLOURS[planted === 'vision' ? sentiment : 'neutral'];
      const colour = base.map((v) => v + (r() - 0.5) * 16) as [number, number, number];
      const t = TONES[planted === 'audio' ? sentiment : 'neutral'];
      const tone = { f0: t.f0[0] + r() * (t.f0[1] - t.f0[0]), amp: t.amp, h2: t.h2, h3: t.h3 };
      clips.push({
        id: `${videoId}/${clipId}`,
        videoId,
        clipId,
        mode,
        sentiment,
        label,
        planted,
        text,
        mediaPath: `Raw/${videoId}/${clipId}.mp4`,
        colour,
        tone,
      });
    }
  }

  mkdirSync(root, { recursive: true });
  const annotation = (s: SentimentLabel) => s[0]!.toUpperCase() + s.slice(1);
  const uni = (c: SyntheticClip, m: Modality) => (c.planted === m ? c.label : 0);
  const sims = dataset === 'sims2';
  const header = sims
    ? ['video_id', 'clip_id', 'text', 'label', 'label_T', 'label_A', 'label_V', 'annotation', 'mode', 'planted_modality']
    : ['video_id', 'clip_id', 'text', 'label', 'annotation', 'mode', 'label_T', 'label_A', 'label_V', 'planted_modality'];
  const rows = clips.map((c) =>
    sims
      ? [c.videoId, c.clipId, c.text, c.label, uni(c, 'text'), uni(c, 'audio'), uni(c, 'vision'), annotation(c.sentiment), c.mode, c.planted]
      : [c.videoId, c.clipId, c.text, c.label, annotation(c.sentiment), c.mode, uni(c, 'text'), uni(c, 'audio'), uni(c, 'vision'), c.planted],
  );
  const labelFile = path.join(root, 'label.csv');
  writeFileSync(labelFile, toCsv(header, rows));

  await runBounded(clips, options.concurrency ?? 2, async (c) => {
    const out = path.join(root, 'Raw', c.videoId, `${c.clipId}.mp4`);
    mkdirSync(path.dirname(out), { recursive: true });
    await runFfmpeg(bin, ffmpegArgs(out, c.colour, c.tone, durationSec));
  });

  return {
    root,
    labelFile,
    clips: clips.map(({ colour: _c, tone: _t, ...rest }) => rest),
  };
}
