import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { mulberry32, type AnalysisResult, type Language, type Modality, type SentimentLabel } from '@omniaffect/core';
import type { MmsaDatasetName } from './sentiment-labels';
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
import { localizedTranscript } from './synthetic-mmsa';

/**
 * Long videos with a known answer for the emotion timeline (docs/architecture.md §13): a sequence of
 * utterances separated by 1 s pauses, the sentiment changing at every pause, and in each utterance the
 * decisive evidence planted in one known place (one word, a 2 s stretch of the voice, or the frames of
 * 2 s), exactly as the localized MMSA clips plant it (synthetic-mmsa.ts `cue: 'localized'`), so a
 * policy trained on those clips can read these videos. Each video comes with a timed transcript
 * (WebVTT) of its utterances and a manifest of what was planted where.
 */

export interface PlantedUtterance {
  start: number;
  end: number;
  sentiment: SentimentLabel;
  planted: Modality;
  text: string;
  /** the decisive item: seconds, and for text the word and its character span in `text`; absent for neutral utterances */
  cue?: { start: number; end: number; word?: string; charStart?: number; charEnd?: number };
}

export interface SyntheticTimelineVideo {
  id: string;
  language: Language;
  mediaPath: string;
  transcriptPath: string;
  durationSec: number;
  utterances: PlantedUtterance[];
  /** where the sentiment changes: the middle of each pause between two utterances */
  changes: number[];
}

export interface SyntheticTimelineOptions {
  root: string;
  videos: number;
  seed: number;
  /** utterances per video (default 6) */
  utterances?: number;
  concurrency?: number;
  ffmpegPath?: string;
}

const LEAD_IN = 1;
const PAUSE = 1;
const TAIL = 1;

/** The planted videos (alternately zh and en), written under `root` with `timeline.json`. */
export async function generateSyntheticTimeline(o: SyntheticTimelineOptions): Promise<{ root: string; manifest: string; videos: SyntheticTimelineVideo[] }> {
  const bin = o.ffmpegPath ?? 'ffmpeg';
  const ok = ffmpegAvailable(bin);
  if (ok !== true) throw new FfmpegMissingError(ok);
  const r = mulberry32(o.seed);
  const n = o.utterances ?? 6;
  const videos: (SyntheticTimelineVideo & { tracks: MediaTracks })[] = [];
  for (let v = 0; v < o.videos; v++) {
    const language: Language = v % 2 === 0 ? 'zh' : 'en';
    const dataset: MmsaDatasetName = language === 'zh' ? 'sims2' : 'mosei';
    const id = `timeline_${String(v + 1).padStart(3, '0')}_${language}`;
    const utterances: PlantedUtterance[] = [];
    const tracks: MediaTracks = { durationSec: 0, colour: [], voice: [] };
    const neutralColour = colourFor(r, 'neutral');
    let at = LEAD_IN;
    tracks.voice.push({ start: 0, end: at, value: null });
    tracks.colour.push({ start: 0, end: at, value: neutralColour });
    let previous: SentimentLabel | null = null;
    for (let u = 0; u < n; u++) {
      const length = pick(r, [6, 7, 8]);
      const start = at;
      const end = start + length;
      // every utterance reads differently from the one before: each pause is a change
      const sentiment = pick(
        r,
        SENTIMENTS.filter((s) => s !== previous),
      );
      previous = sentiment;
      const planted: Modality = (['text', 'audio', 'vision'] as const)[(u + v) % 3]!;
      const t = localizedTranscript(r, dataset, planted === 'text' ? sentiment : 'neutral');
      const neutralVoice = voiceFor(r, 'neutral');
      const utterance: PlantedUtterance = { start, end, sentiment, planted, text: t.text };
      if (planted === 'audio' && sentiment !== 'neutral') {
        // 2 s on whole seconds, away from the edges: the audio stage's 1 s segments hold it exactly
        const a = start + 1 + Math.floor(r() * (length - 3));
        tracks.voice.push(
          { start, end: a, value: neutralVoice },
          { start: a, end: a + 2, value: voiceFor(r, sentiment) },
          { start: a + 2, end, value: neutralVoice },
        );
        utterance.cue = { start: a, end: a + 2 };
      } else {
        tracks.voice.push({ start, end, value: neutralVoice });
      }
      if (planted === 'vision' && sentiment !== 'neutral') {
        // the 2 s around an even second (frames are sampled every 2 s from 0), inside the utterance
        const evens = [];
        for (let e = Math.ceil((start + 1) / 2) * 2; e + 1 <= end - 0.5; e += 2) evens.push(e);
        const e = pick(r, evens);
        tracks.colour.push(
          { start, end: e - 1, value: neutralColour },
          { start: e - 1, end: e + 1, value: colourFor(r, sentiment) },
          { start: e + 1, end, value: neutralColour },
        );
        utterance.cue = { start: e - 1, end: e + 1 };
      } else {
        tracks.colour.push({ start, end, value: neutralColour });
      }
      if (planted === 'text' && sentiment !== 'neutral') {
        utterance.cue = { start, end, word: t.text.slice(t.charStart, t.charEnd), charStart: t.charStart, charEnd: t.charEnd };
      }
      utterances.push(utterance);
      at = end;
      const gap = u === n - 1 ? TAIL : PAUSE;
      tracks.voice.push({ start: at, end: at + gap, value: null });
      tracks.colour.push({ start: at, end: at + gap, value: neutralColour });
      at += gap;
    }
    tracks.durationSec = at;
    tracks.colour = tracks.colour.filter((c) => c.end > c.start);
    tracks.voice = tracks.voice.filter((c) => c.end > c.start);
    videos.push({
      id,
      language,
      mediaPath: `${id}.mp4`,
      transcriptPath: `${id}.vtt`,
      durationSec: at,
      utterances,
      changes: utterances.slice(1).map((u) => u.start - PAUSE / 2),
      tracks,
    });
  }
  mkdirSync(o.root, { recursive: true });
  for (const v of videos) writeFileSync(path.join(o.root, v.transcriptPath), toWebVtt(v.utterances));
  await runBounded(videos, o.concurrency ?? 2, (v) => runFfmpeg(bin, renderArgs(path.join(o.root, v.mediaPath), v.tracks)));
  const out = videos.map(({ tracks: _t, ...rest }) => rest);
  const manifest = path.join(o.root, 'timeline.json');
  writeFileSync(manifest, JSON.stringify({ kind: 'omniaffect-synthetic-timeline', seed: o.seed, videos: out }, null, 2));
  return { root: o.root, manifest, videos: out };
}

const vttTime = (t: number) => {
  const ms = Math.round(t * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${s.toFixed(3).padStart(6, '0')}`;
};

export function toWebVtt(cues: readonly { start: number; end: number; text: string }[]): string {
  return ['WEBVTT', '', ...cues.flatMap((c) => [`${vttTime(c.start)} --> ${vttTime(c.end)}`, c.text, ''])].join('\n');
}

// ------------------------------------------------------------------------------------------ scoring

export interface TimelineScore {
  videos: number;
  /** planted changes with a timeline boundary within the tolerance */
  boundaries: { planted: number; recovered: number; rate: number; toleranceSec: number; meanErrorSec: number };
  /** timeline segments whose label is the sentiment of the utterance they overlap most */
  labels: { segments: number; correct: number; accuracy: number };
  /** non-neutral utterances whose segment's top verified evidence item is the planted one */
  evidence: { segments: number; plantedTop: number; rate: number; byModality: Record<Modality, { n: number; top: number }> };
  /** mean ERASER figures over the non-neutral utterances' segments that have them */
  faithfulness: { segments: number; comprehensiveness: number | null; sufficiency: number | null };
  /** one row per planted (non-neutral) utterance: what its segment's top verified item was */
  details: {
    video: string;
    utterance: number;
    planted: Modality;
    sentiment: SentimentLabel;
    read: SentimentLabel;
    top: { modality: Modality; deletionDrop: number; at: number } | null;
    hit: boolean;
    comprehensiveness: number | null;
    sufficiency: number | null;
  }[];
}

const overlap = (a: { start: number; end: number }, b: { start: number; end: number }) => Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start));

/** The top verified item of a segment, across modalities, by deletion drop. */
function topVerified(seg: AnalysisResult['timeline'][number]) {
  const items = [
    ...seg.evidence.words.map((e) => ({ modality: 'text' as const, e, span: { start: e.start, end: e.end }, chars: { start: e.charStart, end: e.charEnd } })),
    ...seg.evidence.audioSegments.map((e) => ({ modality: 'audio' as const, e, span: { start: e.start, end: e.end }, chars: null })),
    ...seg.evidence.frames.map((e) => ({ modality: 'vision' as const, e, span: { start: e.time, end: e.time }, chars: null })),
  ].filter((x) => x.e.verified);
  return items.sort((a, b) => b.e.deletionDrop - a.e.deletionDrop)[0] ?? null;
}

/** How a served result reads a planted video: boundaries, labels, evidence and faithfulness. */
export function scoreTimeline(pairs: readonly { video: SyntheticTimelineVideo; result: AnalysisResult }[], toleranceSec = 1): TimelineScore {
  let planted = 0;
  let recovered = 0;
  let errSum = 0;
  let segments = 0;
  let correct = 0;
  let evN = 0;
  let evTop = 0;
  const byModality: Record<Modality, { n: number; top: number }> = { text: { n: 0, top: 0 }, audio: { n: 0, top: 0 }, vision: { n: 0, top: 0 } };
  const comp: number[] = [];
  const suff: number[] = [];
  const details: TimelineScore['details'] = [];
  for (const { video, result } of pairs) {
    // where each utterance's text sits in the served transcript (cues joined in order)
    const offsets: number[] = [];
    let from = 0;
    for (const u of video.utterances) {
      const at = result.transcript.text.indexOf(u.text, from);
      offsets.push(at);
      if (at >= 0) from = at + u.text.length;
    }
    const cuts = result.timeline.slice(1).map((s) => s.start);
    for (const c of video.changes) {
      planted++;
      const nearest = Math.min(...cuts.map((x) => Math.abs(x - c)));
      if (nearest <= toleranceSec) {
        recovered++;
        errSum += nearest;
      }
    }
    for (const seg of result.timeline) {
      const u = [...video.utterances].sort((a, b) => overlap(b, seg) - overlap(a, seg))[0]!;
      if (overlap(u, seg) === 0) continue; // a stretch with no utterance in it has no gold label
      segments++;
      if (seg.sentiment.label === u.sentiment) correct++;
    }
    for (const [i, u] of video.utterances.entries()) {
      if (!u.cue) continue;
      const seg = [...result.timeline].sort((a, b) => overlap(u, b) - overlap(u, a))[0]!;
      evN++;
      byModality[u.planted].n++;
      const top = topVerified(seg);
      const hit =
        top !== null &&
        top.modality === u.planted &&
        (u.planted === 'text'
          ? // the word itself, a character of it (zh), or a two-word span holding it
            offsets[i]! >= 0 && overlap(top.chars!, { start: offsets[i]! + u.cue.charStart!, end: offsets[i]! + u.cue.charEnd! }) > 0
          : u.planted === 'audio'
            ? overlap(top.span, u.cue) >= 0.5
            : top.span.start >= u.cue.start - 1e-6 && top.span.start <= u.cue.end + 1e-6);
      if (hit) {
        evTop++;
        byModality[u.planted].top++;
      }
      details.push({
        video: video.id,
        utterance: i,
        planted: u.planted,
        sentiment: u.sentiment,
        read: seg.sentiment.label,
        top: top && { modality: top.modality, deletionDrop: top.e.deletionDrop, at: top.span.start },
        hit,
        comprehensiveness: seg.faithfulness.comprehensiveness,
        sufficiency: seg.faithfulness.sufficiency,
      });
      if (seg.faithfulness.comprehensiveness !== null && seg.faithfulness.sufficiency !== null) {
        comp.push(seg.faithfulness.comprehensiveness);
        suff.push(seg.faithfulness.sufficiency);
      }
    }
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  return {
    videos: pairs.length,
    boundaries: { planted, recovered, rate: planted ? recovered / planted : 0, toleranceSec, meanErrorSec: recovered ? errSum / recovered : 0 },
    labels: { segments, correct, accuracy: segments ? correct / segments : 0 },
    evidence: { segments: evN, plantedTop: evTop, rate: evN ? evTop / evN : 0, byModality },
    faithfulness: { segments: comp.length, comprehensiveness: mean(comp), sufficiency: mean(suff) },
    details,
  };
}
