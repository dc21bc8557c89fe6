import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DEFAULT_TIMELINE_LIMITS, planTimeline, type PlannedSegment } from '../src/timeline-plan';

const spans = (p: PlannedSegment[]) => p.map((s) => [s.start, s.end, s.speech]);

function assertCovers(p: PlannedSegment[], duration: number): void {
  assert.equal(p[0]!.start, 0);
  assert.equal(p[p.length - 1]!.end, duration);
  for (let i = 1; i < p.length; i++) assert.equal(p[i]!.start, p[i - 1]!.end, `gap or overlap at ${i}`);
  for (const s of p) assert.ok(s.end > s.start, JSON.stringify(s));
}

test('segments follow the transcript: short pauses are shared, long ones become windows', () => {
  const p = planTimeline({
    durationSec: 40,
    transcript: [
      { start: 0.5, end: 5 },
      { start: 6, end: 11 }, // 1 s pause: cut in its middle
      { start: 20, end: 25 }, // 9 s of silence before: a window of its own
    ],
    voice: null,
  });
  assertCovers(p, 40);
  assert.deepEqual(spans(p), [
    [0, 5.5, true],
    [5.5, 11, true],
    [11, 20, false],
    [20, 25, true],
    [25, 32.5, false],
    [32.5, 40, false],
  ]);
  assert.ok(p.every((s) => s.voiceSeconds === null));
});

test('long utterances are split at the maximum, short ones merged into the shorter neighbour', () => {
  const p = planTimeline({
    durationSec: 60,
    transcript: [
      { start: 0, end: 31 }, // split into 3 of 10.33 s
      { start: 31.2, end: 32 }, // 0.8 s: merged into the shorter neighbour (the 4 s one after it)
      { start: 32.5, end: 36.5 },
      { start: 36.8, end: 60 },
    ],
    voice: null,
  });
  assertCovers(p, 60);
  assert.ok(p.every((s) => s.end - s.start <= DEFAULT_TIMELINE_LIMITS.maxSeconds + 1e-9));
  assert.ok(
    p.every((s) => !s.speech || s.end - s.start >= DEFAULT_TIMELINE_LIMITS.minSeconds),
    JSON.stringify(spans(p)),
  );
  assert.deepEqual(spans(p).slice(0, 4), [
    [0, 10.367, true],
    [10.367, 20.733, true],
    [20.733, 31.1, true],
    [31.1, 36.65, true],
  ]);
});

test('voice that the transcript missed is speech too; the voiced seconds of each segment are counted', () => {
  const p = planTimeline({
    durationSec: 20,
    transcript: [{ start: 1, end: 5 }],
    voice: [
      { start: 1.1, end: 4.8 },
      { start: 12, end: 16 },
    ],
  });
  assertCovers(p, 20);
  assert.deepEqual(spans(p), [
    [0, 5, true],
    [5, 12, false],
    [12, 16, true],
    [16, 20, false],
  ]);
  assert.deepEqual(
    p.map((s) => s.voiceSeconds),
    [3.7, 0, 4, 0],
  );
});

test('no speech at all: fixed windows over the whole media; a zero-length media is one empty segment', () => {
  const p = planTimeline({ durationSec: 35, transcript: [], voice: [] });
  assert.deepEqual(spans(p), [
    [0, 8.75, false],
    [8.75, 17.5, false],
    [17.5, 26.25, false],
    [26.25, 35, false],
  ]);
  assert.deepEqual(spans(planTimeline({ durationSec: 4, transcript: [], voice: null })), [[0, 4, false]]);
  assert.deepEqual(spans(planTimeline({ durationSec: 0, transcript: [], voice: null })), [[0, 0, false]]);
});

test('a short clip with one utterance is one segment (today’s behaviour)', () => {
  const p = planTimeline({ durationSec: 4.2, transcript: [{ start: 0.3, end: 3.9 }], voice: [{ start: 0.25, end: 4 }] });
  assert.deepEqual(spans(p), [[0, 4.2, true]]);
});

test('never more than maxSegments: the shortest are merged first, still covering the media', () => {
  const transcript = Array.from({ length: 600 }, (_, i) => ({ start: i * 3, end: i * 3 + 2.5 }));
  const p = planTimeline({ durationSec: 1800, transcript, voice: null }, { ...DEFAULT_TIMELINE_LIMITS, maxSegments: 200 });
  assert.equal(p.length, 200);
  assertCovers(p, 1800);
});

test('times outside the media are clipped; overlapping transcript segments are joined', () => {
  const p = planTimeline({
    durationSec: 10,
    transcript: [
      { start: -1, end: 4 },
      { start: 3, end: 7 },
      { start: 9, end: 14 },
    ],
    voice: null,
  });
  assertCovers(p, 10);
  // [0, 7] joined; the 2 s pause is a window; the 1 s clipped tail is merged into it
  assert.deepEqual(spans(p), [
    [0, 7, true],
    [7, 10, true],
  ]);
});
