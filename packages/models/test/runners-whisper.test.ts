import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sharedFile, SHARED_SKIP_REASON } from '@omniaffect/core';
import { WhisperTokenizer } from '@omniaffect/features';
import { buildTinyPack } from '../src/tiny';
import { identifyLanguage, WhisperRunner, WHISPER_WINDOW_SAMPLES, type SampleSource } from '../src/runners';
import { highBand, lowBand, SR } from './synthetic-voice';

let root: string;
let asrDir: string;
let runner: WhisperRunner;
let designed: { zh: { tokens: number[]; text: string }; en: { tokens: number[]; text: string } };

before(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'oa-runners-whisper-'));
  buildTinyPack(root);
  const pack = JSON.parse(readFileSync(path.join(root, 'tiny-pack.json'), 'utf8'));
  asrDir = path.join(root, pack.dirs.asr);
  designed = pack.models.asr.decoder.sequences;
  runner = await WhisperRunner.load(asrDir);
});
after(() => rmSync(root, { recursive: true, force: true }));

function designedText(seq: number[]): number[] {
  return seq.filter((t) => t < 50257);
}

test('layers and heads come from the session metadata', () => {
  assert.equal(runner.layers, 2);
  assert.deepEqual(runner.prompt('zh'), [50258, 50260, 50360]);
  assert.deepEqual(runner.prompt('en', false), [50258, 50259, 50360, 50364]);
});

test('low-band voicing → Chinese transcript with one [0, 1.0] segment', async () => {
  const r = await runner.transcribe(lowBand(1, 2));
  assert.equal(r.language, 'zh');
  assert.ok(r.languageProbability > 0.99, `p=${r.languageProbability}`);
  assert.equal(r.languageOutOfScope, undefined);
  assert.ok(r.noSpeechProbability < 0.01);
  assert.equal(r.text, designed.zh.text);
  assert.equal(r.text, '你好，世界');
  assert.equal(r.segments.length, 1);
  assert.deepEqual({ start: r.segments[0]!.start, end: r.segments[0]!.end, text: r.segments[0]!.text }, { start: 0, end: 1.0, text: '你好，世界' });
  assert.deepEqual(r.segments[0]!.tokens, designedText(designed.zh.tokens));
  assert.deepEqual(r.windows[0]!.prompt, [50258, 50260, 50360]);
  // The whole designed sequence after the prompt, timestamps included, came out of the KV-cache loop.
  assert.deepEqual(r.windows[0]!.generated, designed.zh.tokens.slice(2, -1));
});

test('energy above 1 kHz → English transcript', async () => {
  const r = await runner.transcribe(highBand(1, 2), { language: 'auto' });
  assert.equal(r.language, 'en');
  assert.equal(r.text, designed.en.text);
  assert.equal(r.text, ' Hello world');
  assert.deepEqual(
    r.segments.map((s) => [s.start, s.end]),
    [[0, 1]],
  );
  assert.deepEqual(r.windows[0]!.prompt, [50258, 50259, 50360]);
});

test('all-zero audio → no speech, empty transcript', async () => {
  const r = await runner.transcribe(new Float32Array(2 * SR));
  assert.ok(r.noSpeechProbability > 0.6, `noSpeech=${r.noSpeechProbability}`);
  assert.deepEqual(r.segments, []);
  assert.equal(r.text, '');
  assert.equal(r.windows[0]!.skipped, true);
});

test('a threshold above the no-speech probability keeps decoding', async () => {
  const r = await runner.transcribe(new Float32Array(2 * SR), { noSpeechThreshold: 1 });
  assert.equal(r.windows[0]!.skipped, false);
  assert.ok(r.windows[0]!.generated.length > 0);
});

test('forcing en on Chinese audio puts <|en|> 50259 in the prompt', async () => {
  const r = await runner.transcribe(lowBand(1, 2), { language: 'en' });
  assert.equal(r.language, 'en');
  assert.equal(r.windows[0]!.prompt[1], 50259);
  assert.deepEqual(r.windows[0]!.prompt, [50258, 50259, 50360]);
  // The model still hears Chinese: the two-way probability of the forced language is low.
  assert.ok(r.languageProbability < 0.01);
});

function threeVoicedWindows(): Float32Array {
  const x = new Float32Array(65 * SR);
  for (const offset of [0, 30, 60]) x.set(lowBand(1), offset * SR);
  return x;
}

test('65 s seek over 30 s windows: segments offset by each window start', async () => {
  const r = await runner.transcribe(threeVoicedWindows(), { language: 'zh' });
  assert.deepEqual(
    r.windows.map((w) => [w.start, w.end]),
    [
      [0, 30],
      [30, 60],
      [60, 65],
    ],
  );
  assert.deepEqual(
    r.segments.map((s) => [s.start, s.end, s.text]),
    [
      [0, 1, '你好，世界'],
      [30, 31, '你好，世界'],
      [60, 61, '你好，世界'],
    ],
  );
  assert.equal(r.text, '你好，世界'.repeat(3));
});

test('auto language is settled on the first window with speech, not on leading silence', async () => {
  const x = new Float32Array(45 * SR);
  x.set(lowBand(1), 30 * SR);
  const r = await runner.transcribe(x);
  assert.equal(r.windows[0]!.skipped, true);
  assert.equal(r.language, 'zh');
  assert.deepEqual(r.windows[1]!.prompt, [50258, 50260, 50360]);
  assert.deepEqual(
    r.segments.map((s) => [s.start, s.end, s.text]),
    [[30, 31, '你好，世界']],
  );
});

test('a sample-source callback gives the same result, reading at most one window at a time', async () => {
  const audio = threeVoicedWindows();
  const reads: [number, number][] = [];
  const source: SampleSource = {
    read: async (start, length) => {
      reads.push([start, length]);
      return audio.slice(start, start + length);
    },
  };
  const streamed = await runner.transcribe(source, { language: 'zh' });
  const whole = await runner.transcribe(audio, { language: 'zh' });
  assert.deepEqual(streamed.segments, whole.segments);
  assert.ok(reads.every(([, n]) => n <= WHISPER_WINDOW_SAMPLES));
  assert.deepEqual(
    reads.map(([s]) => s),
    [0, 30 * SR, 60 * SR],
  );
});

test('notimestamps mode adds 50364 to the prompt and generates no timestamp', async () => {
  const r = await runner.transcribe(lowBand(1, 2), { language: 'zh', timestamps: false });
  assert.deepEqual(r.windows[0]!.prompt, [50258, 50260, 50360, 50364]);
  assert.ok(r.windows[0]!.generated.every((t) => t < 50365));
  assert.ok(r.text.startsWith('你好，世界'));
  assert.deepEqual([r.segments[0]!.start, r.segments[0]!.end], [0, 2]);
});

test('maxNewTokens caps the total length, prompt included', async () => {
  const r = await runner.transcribe(lowBand(1, 2), { language: 'zh', maxNewTokens: 6 });
  assert.equal(r.windows[0]!.prompt.length + r.windows[0]!.generated.length, 6);
});

test('inference stats count encoder runs and decoder steps', async () => {
  const before = { ...runner.inferenceStats };
  await runner.transcribe(lowBand(1, 2), { language: 'zh' });
  const s = runner.inferenceStats;
  assert.equal(s.runs, before.runs + 1);
  assert.equal(s.encoderRuns, before.encoderRuns + 1);
  // step 0, then one step per generated token (10 generated before eot).
  assert.equal(s.decoderSteps - before.decoderSteps, 11);
  assert.ok(s.lastRunMs > 0);
});

test('language id: an out-of-scope top language maps to the better of zh/en and is flagged', () => {
  const langs = new Map([
    ['en', 50259],
    ['zh', 50260],
    ['ja', 50266],
  ]);
  const logits = new Float32Array(51866);
  logits[50266] = 9;
  logits[50260] = 3;
  logits[50259] = 1;
  const d = identifyLanguage(logits, langs);
  assert.equal(d.language, 'zh');
  assert.equal(d.outOfScope, true);
  assert.deepEqual(d.top, { id: 50266, code: 'ja' });
  assert.ok(Math.abs(d.probability - 1 / (1 + Math.exp(-2))) < 1e-9);
  logits[50266] = 0;
  assert.equal(identifyLanguage(logits, langs).outOfScope, false);
});

test('missing files are refused with the accepted names', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oa-runners-whisper-bad-'));
  try {
    await assert.rejects(WhisperRunner.load(dir), /encoder_model\.onnx/);
    cpSync(asrDir, dir, { recursive: true });
    await assert.rejects(WhisperRunner.load(dir, { dtype: 'q4' }), /encoder_model_q4\.onnx, which is missing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('real multilingual.tiktoken: byte-level decoding keeps CJK whole through the runner', async (t) => {
  const tiktoken = sharedFile('assets', 'whisper', 'multilingual.tiktoken');
  if (!tiktoken) {
    t.skip(SHARED_SKIP_REASON);
    return;
  }
  const tok = WhisperTokenizer.fromTiktoken(readFileSync(tiktoken, 'utf8'));
  assert.equal(tok.decode([26410]), '你好');
  assert.equal(tok.decode([2166, 2131]), '你好');
  assert.equal(tok.decode([2425, 1002, 13]), ' Hello world.');
  assert.equal(tok.decode([171, 120, 234]), '，');
  assert.equal(tok.decode([940, 244]), '世');
  assert.equal(tok.decode([50258, 50260, 50360, 50365, 2166, 50415, 50257]), '你');

  const dir = mkdtempSync(path.join(tmpdir(), 'oa-runners-whisper-real-tok-'));
  try {
    cpSync(asrDir, dir, { recursive: true });
    unlinkSync(path.join(dir, 'multilingual.tiktoken'));
    symlinkSync(tiktoken, path.join(dir, 'multilingual.tiktoken'));
    const real = await WhisperRunner.load(dir);
    assert.equal((await real.transcribe(lowBand(1, 2))).text, '你好，世界');
    assert.equal((await real.transcribe(highBand(1, 2))).text, ' Hello world');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
