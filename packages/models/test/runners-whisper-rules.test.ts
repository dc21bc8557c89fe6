import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyLogitsRules, argmax, type LogitsRules } from '../src/runners/whisper-logits';
import { splitWindow } from '../src/runners/whisper-segments';

const TS = 50365;
const rules = (over: Partial<LogitsRules> = {}): LogitsRules => ({
  ids: { eot: 50257, sot: 50258, transcribe: 50360, translate: 50359, noSpeech: 50363, noTimestamps: 50364, timestampBegin: TS },
  suppressTokens: [5],
  beginSuppressTokens: [220, 50257],
  timestamps: true,
  maxInitialTimestampIndex: 50,
  ...over,
});
const V = 51866;
function logitsFavouring(token: number, others: Record<number, number> = {}): Float32Array {
  const l = new Float32Array(V);
  l[token] = 10;
  for (const [k, v] of Object.entries(others)) l[Number(k)] = v;
  return l;
}

test('the first generated token must be a timestamp no later than max_initial_timestamp', () => {
  const l = logitsFavouring(42, { [TS + 80]: 9, [TS + 10]: 1 });
  applyLogitsRules(l, [], rules());
  assert.equal(l[42], -Infinity);
  assert.equal(l[TS + 80], -Infinity);
  assert.equal(argmax(l), TS + 10);
});

test('suppress_tokens always, begin_suppress only at the first position', () => {
  const r = rules({ timestamps: false });
  const a = logitsFavouring(220);
  applyLogitsRules(a, [], r);
  assert.equal(a[220], -Infinity);
  const b = logitsFavouring(220);
  applyLogitsRules(b, [100], r);
  assert.equal(argmax(b), 220);
  const c = logitsFavouring(5, { 6: 1 });
  applyLogitsRules(c, [100], r);
  assert.equal(argmax(c), 6);
});

test('notimestamps mode suppresses every timestamp', () => {
  const l = logitsFavouring(TS + 3, { 77: 1 });
  applyLogitsRules(l, [100], rules({ timestamps: false }));
  assert.equal(argmax(l), 77);
});

test('after a timestamp pair comes text; after text+timestamp comes a timestamp or eot, never text', () => {
  const pair = logitsFavouring(TS + 5, { 77: 1 });
  applyLogitsRules(pair, [TS, 77, TS + 4, TS + 4], rules());
  assert.equal(argmax(pair), 77);
  const single = logitsFavouring(77, { 50257: 9 });
  applyLogitsRules(single, [TS, 77, TS + 4], rules());
  assert.equal(single[77], -Infinity);
  assert.equal(argmax(single), 50257);
});

test('timestamps never decrease; a closing timestamp may repeat its opener', () => {
  const l = logitsFavouring(TS + 2, { [TS + 9]: 1 });
  applyLogitsRules(l, [TS + 4, 77], rules());
  assert.equal(l[TS + 2], -Infinity);
  assert.equal(l[TS + 4], -Infinity); // text followed: the next timestamp must be later
  assert.equal(argmax(l), TS + 9);
});

test('splitWindow: single timestamp ending → segment and a full-window advance', () => {
  const s = splitWindow([TS, 10, 11, TS + 50], TS, 30);
  assert.deepEqual(s.segments, [{ start: 0, end: 1, tokens: [10, 11] }]);
  assert.equal(s.advanceSeconds, 30);
});

test('splitWindow: consecutive timestamps split segments; a cut-off tail seeks to the last full timestamp', () => {
  const s = splitWindow([TS, 10, TS + 50, TS + 50, 11, TS + 100, TS + 100, 12], TS, 30);
  assert.deepEqual(s.segments, [
    { start: 0, end: 1, tokens: [10] },
    { start: 1, end: 2, tokens: [11] },
  ]);
  assert.equal(s.advanceSeconds, 2);
});

test('splitWindow: text without timestamps spans the window', () => {
  assert.deepEqual(splitWindow([10, 11], TS, 12.5), { segments: [{ start: 0, end: 12.5, tokens: [10, 11] }], advanceSeconds: 12.5 });
  assert.deepEqual(splitWindow([], TS, 30), { segments: [], advanceSeconds: 30 });
});
