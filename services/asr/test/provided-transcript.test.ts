import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spreadOverVoice } from '../src/asr-stage';

test('plain English is laid over the voiced stretches in proportion to their length, cut at spaces', () => {
  const text = 'one two three four five six seven eight nine ten';
  const pieces = spreadOverVoice(
    text,
    [
      { start: 1, end: 3 },
      { start: 5, end: 7 },
      { start: 10, end: 14 },
    ],
    'en',
  );
  assert.deepEqual(
    pieces.map((p) => [p.start, p.end]),
    [
      [1, 3],
      [5, 7],
      [10, 14],
    ],
  );
  assert.equal(pieces.map((p) => p.text).join(' '), text, 'no word is lost or split');
  // a quarter, a quarter and a half of the characters, to the nearest space
  assert.deepEqual(
    pieces.map((p) => p.text),
    ['one two three', 'four five', 'six seven eight nine ten'],
  );
});

test('Chinese is cut between any two characters; one region takes everything', () => {
  const pieces = spreadOverVoice(
    '今天天气很好我们去公园',
    [
      { start: 0, end: 1 },
      { start: 2, end: 3 },
    ],
    'zh',
  );
  // 11 characters over two equal regions: the cut lands after the 6th (5.5 rounded)
  assert.deepEqual(
    pieces.map((p) => p.text),
    ['今天天气很好', '我们去公园'],
  );
  assert.deepEqual(spreadOverVoice('all of it', [{ start: 2, end: 5 }], 'en'), [{ start: 2, end: 5, text: 'all of it' }]);
});

test('a region too short for any character gets no piece', () => {
  const pieces = spreadOverVoice(
    'ab',
    [
      { start: 0, end: 10 },
      { start: 11, end: 11.01 },
    ],
    'zh',
  );
  assert.deepEqual(pieces, [{ start: 0, end: 10, text: 'ab' }]);
});
