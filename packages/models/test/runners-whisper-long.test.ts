import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildTinyPack } from '../src/tiny';
import { EncoderLookahead, WhisperRunner, WHISPER_WINDOW_SAMPLES, type SampleSource } from '../src/runners';
import { highBandSample, lowBandSample, SR } from './synthetic-voice';

const MINUTES = 10;
const WINDOW_S = 30;
const WINDOWS = (MINUTES * 60) / WINDOW_S;

let root: string;
let runner: WhisperRunner;
let designed: { zh: { text: string }; en: { text: string } };

before(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'oa-runners-whisper-long-'));
  buildTinyPack(root);
  const pack = JSON.parse(readFileSync(path.join(root, 'tiny-pack.json'), 'utf8'));
  designed = pack.models.asr.decoder.sequences;
  runner = await WhisperRunner.load(path.join(root, pack.dirs.asr));
});
after(() => rmSync(root, { recursive: true, force: true }));

/**
 * Ten minutes synthesised on demand: the first second of every 30 s window is voiced, low-band
 * (Chinese) in even windows and high-band (English) in odd ones, so each window's transcript
 * shows which window it came from.
 */
function tenMinutes(reads: number[]): SampleSource {
  const total = MINUTES * 60 * SR;
  return {
    read(start, length) {
      reads.push(start);
      const out = new Float32Array(Math.max(0, Math.min(length, total - start)));
      for (let i = 0; i < out.length; i++) {
        const t = (start + i) / SR;
        const window = Math.floor(t / WINDOW_S);
        if (t - window * WINDOW_S < 1) out[i] = (window % 2 === 0 ? lowBandSample : highBandSample)(t);
      }
      return out;
    },
  };
}

test('10 minutes of audio: 20 windows, one timed segment inside each, in order, covering every window', async () => {
  const reads: number[] = [];
  const r = await runner.transcribe(tenMinutes(reads));
  assert.equal(WINDOWS, 20);
  assert.deepEqual(
    r.windows.map((w) => [w.start, w.end, w.skipped]),
    Array.from({ length: WINDOWS }, (_, k) => [k * WINDOW_S, (k + 1) * WINDOW_S, false]),
  );
  // One read per window plus the empty read that ends the audio.
  assert.deepEqual(
    reads,
    Array.from({ length: WINDOWS + 1 }, (_, k) => k * WHISPER_WINDOW_SAMPLES),
  );

  assert.equal(r.segments.length, WINDOWS);
  let previousEnd = -1;
  r.segments.forEach((s, k) => {
    assert.ok(s.start >= k * WINDOW_S && s.end <= (k + 1) * WINDOW_S, `segment ${k} [${s.start}, ${s.end}] outside window ${k}`);
    assert.ok(s.start < s.end && s.start >= previousEnd, `segment ${k} out of order`);
    previousEnd = s.end;
    // The tiny decoder closes its segment at <|1.00|>, the end of the voiced second.
    assert.deepEqual([s.start, s.end], [k * WINDOW_S, k * WINDOW_S + 1]);
    assert.equal(s.text, k % 2 === 0 ? designed.zh.text : designed.en.text, `window ${k}`);
  });
  assert.equal(r.text, r.segments.map((s) => s.text).join(''));
  assert.equal(r.text, `${designed.zh.text}${designed.en.text}`.repeat(WINDOWS / 2));
});

test('speech gating: windows without voice are never read, encoded or decoded; a window starts where the voice does', async () => {
  const reads: number[] = [];
  const encoderRuns = runner.stats.encoderRuns;
  // as if the VAD heard voice only at 60–61 s (low band: window 2) and 330–331 s (high band: window 11)
  const speech = [
    { start: 60, end: 61.2 },
    { start: 330, end: 331.2 },
  ];
  const r = await runner.transcribe(tenMinutes(reads), { speech });
  assert.deepEqual(reads, [60 * SR, 330 * SR], 'two windows, each starting at its voiced stretch (on the 20 ms grid); nothing after the last');
  assert.equal(runner.stats.encoderRuns - encoderRuns, 2);
  assert.deepEqual(
    r.windows.map((w) => w.start),
    [60, 330],
  );
  assert.deepEqual(
    r.segments.map((s) => [s.start, s.text]),
    [
      [60, designed.zh.text],
      [330, designed.en.text],
    ],
  );
  // no voice at all: not one window
  const none = await runner.transcribe(tenMinutes([]), { speech: [] });
  assert.deepEqual([none.windows.length, none.segments.length, none.text], [0, 0, '']);
});

test('encoder batching: windows consumed whole are encoded several per run, and the transcript is the one-at-a-time one', async () => {
  const one = { ...runner.stats };
  const single = await runner.transcribe(tenMinutes([]), { encoderBatch: 1 });
  const afterOne = { ...runner.stats };
  const batched = await runner.transcribe(tenMinutes([]), { encoderBatch: 4 });
  const s = runner.stats;
  assert.equal(afterOne.encoderRuns - one.encoderRuns, WINDOWS);
  assert.equal(afterOne.encoderBatches - one.encoderBatches, WINDOWS);
  assert.equal(s.encoderRuns - afterOne.encoderRuns, WINDOWS, 'every window encoded once');
  assert.equal(s.encoderMisses - afterOne.encoderMisses, 0, 'no window encoded in vain');
  // reach 2, then 4 per run: 2 + 4 + 4 + 4 + 4 + 2 windows
  assert.equal(s.encoderBatches - afterOne.encoderBatches, 6);
  assert.deepEqual(batched.segments, single.segments);
  assert.deepEqual(
    batched.windows.map((w) => [w.start, w.end, w.generated]),
    single.windows.map((w) => [w.start, w.end, w.generated]),
  );
});

test('encoder lookahead: a seek off the predicted path throws the windows ahead away and backs off before predicting again; every window is what a lone encode gives', async () => {
  const source = tenMinutes([]);
  const ahead = new EncoderLookahead(runner, source, (at) => at, 4);
  const W = WHISPER_WINDOW_SAMPLES;
  const close = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) < 1e-5);
  let runs = 0;
  for (const [start, runsNow, discarded] of [
    [0, 1, 0], // 0 and W (predicted) in one run
    [0.5 * W, 2, 1], // a miss: W is thrown away, 0.5 W encoded alone
    [1.5 * W, 3, 1], // predicting again: 1.5 W and 2.5 W
    [1.7 * W, 4, 2], // a second miss in a row: 2.5 W thrown away, 1.7 W alone
    [2.7 * W, 5, 2], // backing off: one more window alone
    [3.7 * W, 6, 2], // predicting again: 3.7 W and 4.7 W
    [4.7 * W, 6, 2], // a hit: no encoder run
  ] as const) {
    const before = runner.stats.encoderBatches;
    const w = (await ahead.window(start))!;
    runs += runner.stats.encoderBatches - before;
    assert.deepEqual([runs, ahead.discarded], [runsNow, discarded], `encoder runs and windows thrown away after the window at ${start / W} W`);
    const lone = (await runner.encodeBatch([await source.read(start, W)]))[0]!.data as Float32Array;
    assert.ok(close(w.hidden.data as Float32Array, lone), `window at ${start / W} W differs from its lone encode`);
  }
});
