import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { assembleTranscript } from '../src/asr-stage';

function assertOffsetsMapBack(r: ReturnType<typeof assembleTranscript>): void {
  for (const s of r.segments) assert.equal(r.text.slice(s.charStart, s.charEnd), s.text, JSON.stringify(s));
}

test('en: Whisper segments with leading spaces join into one spaced transcript', () => {
  const r = assembleTranscript(
    [
      { start: 0, end: 2, text: ' Hello there.' },
      { start: 2, end: 4.5, text: ' How are you?' },
    ],
    'en',
  );
  assert.equal(r.text, 'Hello there. How are you?');
  assert.deepEqual(r.segments, [
    { start: 0, end: 2, text: 'Hello there.', charStart: 0, charEnd: 12 },
    { start: 2, end: 4.5, text: 'How are you?', charStart: 13, charEnd: 25 },
  ]);
  assertOffsetsMapBack(r);
});

test('en: a segment without a leading space still gets one', () => {
  const r = assembleTranscript(
    [
      { start: 0, end: 1, text: 'good' },
      { start: 1, end: 2, text: 'morning' },
    ],
    'en',
  );
  assert.equal(r.text, 'good morning');
  assertOffsetsMapBack(r);
});

test('zh: segments are joined without spaces', () => {
  const r = assembleTranscript(
    [
      { start: 0, end: 1.5, text: ' 你好。' },
      { start: 1.5, end: 3, text: ' 今天天气很好 ' },
      { start: 3, end: 4, text: '谢谢' },
    ],
    'zh',
  );
  assert.equal(r.text, '你好。今天天气很好谢谢');
  assert.deepEqual(
    r.segments.map((s) => [s.charStart, s.charEnd]),
    [
      [0, 3],
      [3, 9],
      [9, 11],
    ],
  );
  assertOffsetsMapBack(r);
});

test('en: trailing whitespace in a segment does not leak into its span', () => {
  const r = assembleTranscript(
    [
      { start: 0, end: 1, text: ' Hello ' },
      { start: 1, end: 2, text: ' world' },
    ],
    'en',
  );
  assertOffsetsMapBack(r);
});

test('times are kept and an empty input gives an empty transcript', () => {
  assert.deepEqual(assembleTranscript([], 'en'), { text: '', segments: [] });
  const r = assembleTranscript([{ start: 1.25, end: 3.5, text: ' Hi.' }], 'en');
  assert.equal(r.segments[0].start, 1.25);
  assert.equal(r.segments[0].end, 3.5);
});
