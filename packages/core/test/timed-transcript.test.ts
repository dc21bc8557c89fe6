import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { TimedTranscriptError, parseTimedTranscript } from '../src/timed-transcript';

test('WebVTT: cues with hours or without, settings, voice tags, entities, NOTE blocks and identifiers', () => {
  const vtt = [
    '\uFEFFWEBVTT - a call',
    '',
    'NOTE recorded on line 2',
    'spanning two lines',
    '',
    'intro',
    '00:00.500 --> 00:04.000 align:start position:10%',
    '<v Agent>Hello, how can I help?</v>',
    '',
    '00:00:05.250 --> 00:00:09.000',
    'I am <i>so</i> angry &amp; tired',
    'of waiting.',
    '',
    '01:00:00.000 --> 01:00:02.000',
    '',
  ].join('\r\n');
  assert.deepEqual(parseTimedTranscript(vtt), [
    { start: 0.5, end: 4, text: 'Hello, how can I help?' },
    { start: 5.25, end: 9, text: 'I am so angry & tired of waiting.' },
  ]);
});

test('SubRip: numbered cues with comma milliseconds, sorted by time', () => {
  const srt = '1\n00:00:02,000 --> 00:00:03,500\n第二句\n\n2\n00:00:00,000 --> 00:00:01,900\n第一句\n';
  assert.deepEqual(parseTimedTranscript(srt), [
    { start: 0, end: 1.9, text: '第一句' },
    { start: 2, end: 3.5, text: '第二句' },
  ]);
});

test('plain text is not a timed transcript', () => {
  assert.equal(parseTimedTranscript('I love this'), null);
  assert.equal(parseTimedTranscript('1 2 3\nsome text'), null);
  assert.equal(parseTimedTranscript(''), null);
  assert.equal(parseTimedTranscript('WEBVTTx is not a header'), null);
});

test('a document that announces a format but breaks it is refused with the line', () => {
  assert.throws(
    () => parseTimedTranscript('WEBVTT\n\n00:01.000 --> 00:00.500\nbackwards'),
    (e: Error) => e instanceof TimedTranscriptError && /line 3: the cue ends before it starts/.test(e.message),
  );
  assert.throws(() => parseTimedTranscript('WEBVTT\n\n00:01 --> 00:02.000\nno millis'), /WebVTT line 3: malformed cue timing/);
  assert.throws(() => parseTimedTranscript('WEBVTT\n\njust text without timing'), /WebVTT line 3: expected a cue timing line/);
  assert.throws(() => parseTimedTranscript('WEBVTT\n\n'), /holds no cue with text/);
  assert.throws(
    () => parseTimedTranscript('1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 --> 00:99:00,000\nbad'),
    /SubRip line 6: malformed cue timing/,
  );
});
