import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildTinyPack, EN_SEQUENCE, TOKENS, ZH_SEQUENCE } from '../src/tiny';
import { WhisperRunner } from '../src/runners';
import { highBand, lowBand } from './synthetic-voice';

let root: string;
let asrDir: string;

before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'oa-runners-whisper-config-'));
  buildTinyPack(root);
  asrDir = path.join(root, JSON.parse(readFileSync(path.join(root, 'tiny-pack.json'), 'utf8')).dirs.asr);
});
after(() => rmSync(root, { recursive: true, force: true }));

type Json = Record<string, unknown>;

/** A copy of the tiny asr dir with generation_config.json and config.json rewritten. */
async function loadEdited(edit: { gen?: (g: Json) => void; config?: (c: Json) => void }): Promise<WhisperRunner> {
  const dir = mkdtempSync(path.join(root, 'edited-'));
  cpSync(asrDir, dir, { recursive: true });
  for (const [file, fn] of [
    ['generation_config.json', edit.gen],
    ['config.json', edit.config],
  ] as const) {
    if (!fn) continue;
    const json = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Json;
    fn(json);
    writeFileSync(path.join(dir, file), JSON.stringify(json));
  }
  return WhisperRunner.load(dir);
}

test('suppress_tokens from generation_config.json: a suppressed " Hello" gives way to the next-best token', async () => {
  const hello = EN_SEQUENCE[3]!;
  const plain = await (await WhisperRunner.load(asrDir)).transcribe(highBand(1, 2), { language: 'en' });
  assert.ok(plain.segments[0]!.tokens.includes(hello));

  const runner = await loadEdited({ gen: (g) => (g['suppress_tokens'] = [...(g['suppress_tokens'] as number[]), hello]) });
  const r = await runner.transcribe(highBand(1, 2), { language: 'en' });
  // The tiny decoder mixes the English and Chinese sequences by position, so with " Hello" barred the
  // Chinese token designed for that position is the runner-up; the rest of the English sequence follows.
  const expected = EN_SEQUENCE.slice(2, -1);
  expected[1] = ZH_SEQUENCE[3]!;
  assert.deepEqual(r.windows[0]!.generated, expected);
  assert.ok(r.segments.every((s) => !s.tokens.includes(hello)));
  assert.equal(r.text, runner.tokenizer.decode(expected.filter((t) => t < TOKENS.eot)));
  assert.equal(r.text, '你 world');
  assert.notEqual(r.text, plain.text);
});

test('max_length in generation_config.json caps tokens per window, prompt included', async () => {
  const full = await (await WhisperRunner.load(asrDir)).transcribe(lowBand(1, 2), { language: 'zh' });
  assert.ok(full.windows[0]!.prompt.length + full.windows[0]!.generated.length > 8);

  const capped = await loadEdited({ gen: (g) => (g['max_length'] = 8) });
  assert.equal(capped.maxTarget, 8);
  const r = await capped.transcribe(lowBand(1, 2), { language: 'zh' });
  assert.equal(r.windows[0]!.prompt.length + r.windows[0]!.generated.length, 8);
  assert.deepEqual(r.windows[0]!.generated, full.windows[0]!.generated.slice(0, 5));
});

test('the cap is the smaller of max_length and max_target_positions, 448 when neither is given', async () => {
  assert.equal((await WhisperRunner.load(asrDir)).maxTarget, 448);
  assert.equal((await loadEdited({ config: (c) => (c['max_target_positions'] = 6) })).maxTarget, 6);
  assert.equal((await loadEdited({ gen: (g) => (g['max_length'] = 1000), config: (c) => (c['max_target_positions'] = 300) })).maxTarget, 300);
  const neither = await loadEdited({ gen: (g) => delete g['max_length'], config: (c) => delete c['max_target_positions'] });
  assert.equal(neither.maxTarget, 448);
});
