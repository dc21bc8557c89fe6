import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { mulberry32, type Modality, type SentimentLabel } from '@omniaffect/core';
import { toCsv } from './csv';
import {
  FfmpegMissingError,
  SENTIMENTS,
  colourFor,
  ffmpegAvailable,
  pick,
  renderArgs,
  runBounded,
  runFfmpeg,
  voiceFor,
  type MediaTracks,
} from './synthetic-media';
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
  /**
   * 'whole' (default): the planted cue fills the clip (every word, the whole voice, every frame).
   * 'localized': it sits in one known place, as evidence does in real speech: one sentiment word among
   * neutral ones, a 2 s stretch of the voice, the frames of a 2 s stretch; the rest is neutral. A policy
   * trained on these learns to find the decisive item, which is what the per-item deletion check tests.
   */
  cue?: 'whole' | 'localized';
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
  /** where the planted cue sits (seconds; for text, the word's character span in `text`) */
  cueAt?: { start: number; end: number; charStart?: number; charEnd?: number };
}

export interface SyntheticMmsaResult {
  root: string;
  labelFile: string;
  clips: SyntheticClip[];
}

export const WORDS: Record<MmsaDatasetName, Record<SentimentLabel, string[]>> = {
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

const MODALITIES_PLANTED: Modality[] = ['text', 'audio', 'vision'];
const SPLITS: SplitMode[] = ['train', 'valid', 'test'];
const YT_ALPHABET = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];

/** Labels near the dataset's strong values: SIMS v2 on its 0.2 grid, MOSEI on thirds; neutral is exactly 0. */
function plantedLabel(r: () => number, dataset: MmsaDatasetName, s: SentimentLabel): number {
  if (s === 'neutral') return 0;
  const sign = s === 'positive' ? 1 : -1;
  const magnitude = dataset === 'sims2' ? pick(r, [0.6, 0.8, 1.0]) : pick(r, [1.6667, 2, 2.3333]);
  return sign * magnitude;
}

/** Five words, all neutral but one at a random place when `s` is not neutral; with that word's character span. */
export function localizedTranscript(r: () => number, dataset: MmsaDatasetName, s: SentimentLabel): { text: string; charStart: number; charEnd: number } {
  const words = Array.from({ length: 5 }, () => pick(r, WORDS[dataset].neutral));
  const at = Math.floor(r() * words.length);
  if (s !== 'neutral') words[at] = pick(r, WORDS[dataset][s]);
  const sep = dataset === 'sims2' ? '' : ' ';
  const charStart = words.slice(0, at).join(sep).length + (at > 0 ? sep.length : 0);
  const text = words.join(sep) + (dataset === 'sims2' ? '。' : '.');
  return { text, charStart, charEnd: charStart + words[at]!.length };
}

function transcript(r: () => number, dataset: MmsaDatasetName, s: SentimentLabel): string {
  const words = WORDS[dataset][s];
  const chosen = Array.from({ length: 4 }, () => pick(r, words));
  if (dataset === 'sims2') return `${chosen.slice(0, 2).join('')}，${chosen.slice(2).join('')}。`;
  // An ASCII comma and quotes make the label file exercise RFC 4180 quoting.
  return `${chosen.slice(0, 2).join(' ')}, "${chosen.slice(2).join(' ')}"`;
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

  const localized = options.cue === 'localized';
  const clips: (SyntheticClip & { tracks: MediaTracks })[] = [];
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
      const cue = localized ? localizedCue(r, dataset, sentiment, planted, durationSec) : wholeCue(r, dataset, sentiment, planted, durationSec);
      clips.push({
        id: `${videoId}/${clipId}`,
        videoId,
        clipId,
        mode,
        sentiment,
        label,
        planted,
        text: cue.text,
        mediaPath: `Raw/${videoId}/${clipId}.mp4`,
        ...(cue.cueAt ? { cueAt: cue.cueAt } : {}),
        tracks: cue.tracks,
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
    await runFfmpeg(bin, renderArgs(out, c.tracks));
  });

  return {
    root,
    labelFile,
    clips: clips.map(({ tracks: _t, ...rest }) => rest),
  };
}

interface ClipCue {
  text: string;
  tracks: MediaTracks;
  cueAt?: SyntheticClip['cueAt'];
}

/** The cue fills the clip: every word, the whole voice, every frame carry the planted modality's sentiment. */
function wholeCue(r: () => number, dataset: MmsaDatasetName, sentiment: SentimentLabel, planted: Modality, d: number): ClipCue {
  const text = transcript(r, dataset, planted === 'text' ? sentiment : 'neutral');
  const colour = colourFor(r, planted === 'vision' ? sentiment : 'neutral');
  const voice = voiceFor(r, planted === 'audio' ? sentiment : 'neutral');
  return { text, tracks: { durationSec: d, colour: [{ start: 0, end: d, value: colour }], voice: [{ start: 0, end: d, value: voice }] } };
}

/**
 * The cue in one place (see SyntheticMmsaOptions.cue): a 2 s voice stretch on whole seconds (the audio
 * stage's 1 s segments then hold it exactly), or the frames of the 2 s around an even second (frames
 * are sampled every 2 s from 0), or one word. Needs a clip of at least 4 s.
 */
function localizedCue(r: () => number, dataset: MmsaDatasetName, sentiment: SentimentLabel, planted: Modality, d: number): ClipCue {
  if (d < 4) throw new RangeError('localized cues need clips of at least 4 s');
  const t = localizedTranscript(r, dataset, planted === 'text' ? sentiment : 'neutral');
  const neutralColour = colourFor(r, 'neutral');
  const neutralVoice = voiceFor(r, 'neutral');
  const tracks: MediaTracks = { durationSec: d, colour: [{ start: 0, end: d, value: neutralColour }], voice: [{ start: 0, end: d, value: neutralVoice }] };
  let cueAt: SyntheticClip['cueAt'];
  if (planted === 'audio') {
    const a = 1 + Math.floor(r() * Math.max(1, Math.floor(d) - 3));
    tracks.voice = [
      { start: 0, end: a, value: neutralVoice },
      { start: a, end: a + 2, value: voiceFor(r, sentiment) },
      { start: a + 2, end: d, value: neutralVoice },
    ];
    cueAt = { start: a, end: a + 2 };
  } else if (planted === 'vision') {
    const evens = Array.from({ length: Math.floor((d - 1) / 2) }, (_, i) => 2 * (i + 1)).filter((x) => x + 1 <= d);
    const at = pick(r, evens);
    tracks.colour = [
      { start: 0, end: at - 1, value: neutralColour },
      { start: at - 1, end: at + 1, value: colourFor(r, sentiment) },
      { start: at + 1, end: d, value: neutralColour },
    ].filter((x) => x.end > x.start);
    cueAt = { start: at - 1, end: at + 1 };
  } else {
    cueAt = { start: 0, end: d, charStart: t.charStart, charEnd: t.charEnd };
  }
  return { text: t.text, tracks, cueAt };
}
