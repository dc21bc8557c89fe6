import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tokenTimes } from '../src/token-times';

// "Hello there." (0..12) spoken 0–2 s, "How are you?" (13..25) spoken 3–5 s
const SEGS = [
  { start: 0, end: 2, charStart: 0, charEnd: 12 },
  { start: 3, end: 5, charStart: 13, charEnd: 25 },
];
const close = (a: { start: number; end: number }, b: { start: number; end: number }) =>
  assert.ok(Math.abs(a.start - b.start) < 1e-9 && Math.abs(a.end - b.end) < 1e-9, `${JSON.stringify(a)} != ${JSON.stringify(b)}`);

test('a token inside a segment is interpolated by character position', () => {
  close(tokenTimes(SEGS, 0, 5), { start: 0, end: 10 / 12 });
  close(tokenTimes(SEGS, 6, 12), { start: 1, end: 2 });
  close(tokenTimes(SEGS, 13, 16), { start: 3, end: 3 + 2 * (3 / 12) });
  close(tokenTimes(SEGS, 21, 25), { start: 3 + 2 * (8 / 12), end: 5 });
});

test('a token at a gap between segments belongs to the next segment', () => {
  close(tokenTimes(SEGS, 12, 13), { start: 3, end: 3 });
});

test('a token crossing a segment end is clamped to that segment', () => {
  close(tokenTimes(SEGS, 10, 15), { start: (10 / 12) * 2, end: 2 });
});

test('a token past the last segment sits at its end; no segments gives 0', () => {
  close(tokenTimes(SEGS, 30, 34), { start: 5, end: 5 });
  close(tokenTimes([], 0, 3), { start: 0, end: 0 });
});

test('a zero-length segment does not divide by zero: its tokens sit at its start', () => {
  close(tokenTimes([{ start: 1, end: 1.5, charStart: 4, charEnd: 4 }], 4, 4), { start: 1, end: 1 });
  close(tokenTimes([{ start: 1, end: 1.5, charStart: 4, charEnd: 4 }], 4, 9), { start: 1, end: 1 });
});

test('an empty or reversed character range collapses to the time of its start character', () => {
  close(tokenTimes(SEGS, 6, 6), { start: 1, end: 1 });
  // charEnd before charStart: not widened backwards to the earlier character (3 → 0.5 s).
  close(tokenTimes(SEGS, 5, 3), { start: 10 / 12, end: 10 / 12 });
});
