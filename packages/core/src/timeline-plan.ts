/**
 * Where the emotion timeline cuts a video (docs/architecture.md §13). Segments follow speech: the
 * transcript's segments (Whisper's, or a timed transcript's cues) and the voiced stretches the VAD
 * found, merged up to a minimum length and split at a maximum; where nobody speaks (silence, music,
 * video without audio) the media is cut into fixed windows. The result is ordered, non-overlapping
 * and covers [0, duration] exactly. Pure: the orchestrator computes it from asr.json and media.json
 * and hands it to fusion with the Fuse call.
 */

export interface TimelineLimits {
  /** speech segments shorter than this are merged with a neighbour (s) */
  minSeconds: number;
  /** longer segments are split into equal parts (s) */
  maxSeconds: number;
  /** stretches without speech are cut into windows of at most this (s) */
  windowSeconds: number;
  /** a pause between two utterances shorter than this is shared between them, not a segment of its own (s) */
  minPauseSeconds: number;
  /** the timeline never holds more segments than this (the shortest are merged first) */
  maxSegments: number;
}

export const DEFAULT_TIMELINE_LIMITS: TimelineLimits = { minSeconds: 2, maxSeconds: 15, windowSeconds: 10, minPauseSeconds: 2, maxSegments: 1000 };

export interface TimelinePlanInput {
  durationSec: number;
  /** transcript segments (s); may be empty */
  transcript: readonly { start: number; end: number }[];
  /** voiced stretches by the VAD (s); null when no VAD ran (no audio track, or an older artifact) */
  voice: readonly { start: number; end: number }[] | null;
}

export interface PlannedSegment {
  start: number;
  end: number;
  /** the segment holds speech (a transcript segment or a voiced stretch) */
  speech: boolean;
  /** seconds of VAD voice inside; null when no VAD ran */
  voiceSeconds: number | null;
}

type Span = { start: number; end: number; speech: boolean };

const r3 = (x: number) => Math.round(x * 1000) / 1000;

function overlap(a: { start: number; end: number }, b: { start: number; end: number }): number {
  return Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start));
}

/** The speech units: transcript segments, plus voiced stretches no transcript segment touches; overlaps joined. */
function speechUnits(input: TimelinePlanInput, duration: number): Span[] {
  const clip = (s: { start: number; end: number }) => ({ start: Math.max(0, Math.min(duration, s.start)), end: Math.max(0, Math.min(duration, s.end)) });
  const transcript = input.transcript.map(clip).filter((s) => s.end > s.start);
  const voice = (input.voice ?? []).map(clip).filter((s) => s.end > s.start);
  const units = [...transcript, ...voice.filter((v) => !transcript.some((t) => overlap(t, v) > 0))].sort((a, b) => a.start - b.start);
  const out: Span[] = [];
  for (const u of units) {
    const last = out[out.length - 1];
    if (last && u.start < last.end) last.end = Math.max(last.end, u.end);
    else out.push({ ...u, speech: true });
  }
  return out;
}

/** Equal windows of at most `max` seconds over [start, end]. */
function windows(start: number, end: number, max: number, speech: boolean): Span[] {
  const n = Math.max(1, Math.ceil((end - start) / max - 1e-9));
  return Array.from({ length: n }, (_, i) => ({
    start: start + ((end - start) * i) / n,
    end: i === n - 1 ? end : start + ((end - start) * (i + 1)) / n,
    speech,
  }));
}

export function planTimeline(input: TimelinePlanInput, limits: TimelineLimits = DEFAULT_TIMELINE_LIMITS): PlannedSegment[] {
  const duration = Number.isFinite(input.durationSec) && input.durationSec > 0 ? input.durationSec : 0;
  const units = speechUnits(input, duration);
  if (duration === 0) return [{ start: 0, end: 0, speech: units.length > 0, voiceSeconds: input.voice ? 0 : null }];

  // 1. cover [0, duration]: short pauses are shared by their neighbours, long ones become windows
  const spans: Span[] = [];
  let at = 0;
  units.forEach((u, i) => {
    const gap = u.start - at;
    if (gap >= limits.minPauseSeconds) {
      spans.push(...windows(at, u.start, limits.windowSeconds, false));
    } else if (gap > 0) {
      const prev = spans[spans.length - 1];
      // the first unit takes a short lead-in whole; otherwise the pause is cut in the middle
      if (prev && i > 0) prev.end = at + gap / 2;
      u = { ...u, start: prev && i > 0 ? at + gap / 2 : at };
    }
    spans.push({ ...u });
    at = u.end;
  });
  if (duration - at >= limits.minPauseSeconds || spans.length === 0) spans.push(...windows(at, duration, limits.windowSeconds, false));
  else if (spans.length) spans[spans.length - 1]!.end = duration;

  // 2. split what is too long
  const split = spans.flatMap((s) => (s.end - s.start > limits.maxSeconds ? windows(s.start, s.end, limits.maxSeconds, s.speech) : [s]));

  // 3. merge short speech into a neighbour, then merge the shortest until under the cap
  const merged = [...split];
  const mergeAt = (i: number) => {
    const prev = merged[i - 1];
    const next = merged[i + 1];
    // with the shorter neighbour, so no merged segment grows more than it must
    const j = !prev ? i + 1 : !next ? i - 1 : prev.end - prev.start <= next.end - next.start ? i - 1 : i + 1;
    const a = merged[Math.min(i, j)]!;
    const b = merged[Math.max(i, j)]!;
    merged.splice(Math.min(i, j), 2, { start: a.start, end: b.end, speech: a.speech || b.speech });
  };
  for (let i = 0; i < merged.length && merged.length > 1;) {
    const s = merged[i]!;
    if (s.speech && s.end - s.start < limits.minSeconds) mergeAt(i);
    else i++;
  }
  while (merged.length > Math.max(1, limits.maxSegments)) {
    let shortest = 0;
    merged.forEach((s, i) => {
      if (s.end - s.start < merged[shortest]!.end - merged[shortest]!.start) shortest = i;
    });
    mergeAt(shortest);
  }

  return merged.map((s) => ({
    start: r3(s.start),
    end: r3(s.end),
    speech: s.speech,
    voiceSeconds: input.voice ? r3(input.voice.reduce((a, v) => a + overlap(s, v), 0)) : null,
  }));
}
