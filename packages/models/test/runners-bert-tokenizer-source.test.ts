import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildTinyPack, TEXT_EN, TEXT_ZH, tinyVocab } from '../src/tiny';
import { BertRunner } from '../src/runners';

let root: string;
let enDir: string;
let zhDir: string;

before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'oa-runners-bert-tok-'));
  buildTinyPack(root);
  const pack = JSON.parse(readFileSync(path.join(root, 'tiny-pack.json'), 'utf8'));
  enDir = path.join(root, pack.dirs.textEn);
  zhDir = path.join(root, pack.dirs.textZh);
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A copy of the tiny English model dir whose tokenizer.json is rewritten by `edit`. */
function editedCopy(edit: (json: { added_tokens: object[] }) => void): string {
  const dir = mkdtempSync(path.join(root, 'edited-'));
  cpSync(enDir, dir, { recursive: true });
  const file = path.join(dir, 'tokenizer.json');
  const json = JSON.parse(readFileSync(file, 'utf8'));
  edit(json);
  writeFileSync(file, JSON.stringify(json));
  return dir;
}

test('tiny pack text models ship tokenizer.json, so their ids come through @huggingface/tokenizers', async () => {
  for (const [dir, spec, text, pieces] of [
    [enDir, TEXT_EN, 'Hello Worlds, I LOVE this movie!', ['hello', 'world', '##s', ',', 'i', 'love', 'this', 'movie', '!']],
    [zhDir, TEXT_ZH, '你好世界，今天很开心！', ['你', '好', '世', '界', '，', '今', '天', '很', '开', '心', '！']],
  ] as const) {
    const runner = await BertRunner.load(dir);
    assert.ok(runner.library, `${dir}: tokenizer.json should select the library`);
    const vocab = tinyVocab(spec);
    const r = await runner.embed(text);
    assert.deepEqual(
      r.tokens.map((t) => t.piece),
      pieces,
    );
    assert.deepEqual(
      r.tokens.map((t) => t.id),
      pieces.map((p) => vocab.indexOf(p)),
    );
    assert.ok(r.tokens.every((t) => t.text.length > 0 && t.text === text.slice(t.charStart, t.charEnd)));
  }
});

test('a tokenizer.json whose added_tokens swap two vocab ids: the reference ids are used and the drift is recorded', async () => {
  const vocab = tinyVocab(TEXT_EN);
  const love = vocab.indexOf('love');
  const hate = vocab.indexOf('hate');
  assert.ok(love > 0 && hate > 0);
  const dir = editedCopy((json) => {
    json.added_tokens.push(
      { id: hate, content: 'love', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
      { id: love, content: 'hate', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
    );
  });
  const runner = await BertRunner.load(dir);
  // "i" = piece 0, "love" = piece 1: the library maps it through added_tokens, ours through model.vocab.
  const r = await runner.embed('I love this movie');
  assert.deepEqual(
    r.tokens.map((t) => t.id),
    ['i', 'love', 'this', 'movie'].map((p) => vocab.indexOf(p)),
  );
  assert.ok(r.tokenizerDrift?.startsWith('word piece 1: '), r.tokenizerDrift);
  assert.ok(r.tokenizerDrift?.includes(`@huggingface/tokenizers gives "love" (id ${hate})`), r.tokenizerDrift);
  assert.ok(r.tokenizerDrift?.includes(`our BertTokenizer gives "love" (id ${love})`), r.tokenizerDrift);
  // Text that avoids the swapped words agrees: no drift.
  const ok = await runner.embed('this movie is good');
  assert.deepEqual(
    ok.tokens.map((t) => t.piece),
    ['this', 'movie', 'is', 'good'],
  );
  assert.equal(ok.tokenizerDrift, undefined);
});

test('with vocab.txt alone the runner tokenises with BertTokenizer and gets the same pieces', async () => {
  const dir = mkdtempSync(path.join(root, 'vocab-only-'));
  cpSync(enDir, dir, { recursive: true });
  unlinkSync(path.join(dir, 'tokenizer.json'));
  const vocabOnly = await BertRunner.load(dir);
  const withJson = await BertRunner.load(enDir);
  assert.equal(vocabOnly.library, null);
  const text = 'I really love this wonderful day, not a bad meeting.';
  const a = await vocabOnly.embed(text);
  const b = await withJson.embed(text);
  assert.deepEqual(
    a.tokens.map((t) => [t.id, t.charStart, t.charEnd]),
    b.tokens.map((t) => [t.id, t.charStart, t.charEnd]),
  );
  assert.equal(a.tokens.length, 12);
});

test('control tokens typed into a transcript are data, not control: blanked for both tokenizer paths, offsets intact', async () => {
  const text = 'I [SEP] love [mask] this [CLS]movie';
  const noJson = editedCopy(() => undefined);
  unlinkSync(path.join(noJson, 'tokenizer.json'));
  for (const dir of [enDir, noJson]) {
    const runner = await BertRunner.load(dir);
    const r = await runner.embed(text);
    assert.deepEqual(
      r.tokens.map((t) => t.piece),
      ['i', 'love', 'this', 'movie'],
      dir,
    );
    for (const t of r.tokens) assert.equal(text.slice(t.charStart, t.charEnd).toLowerCase(), t.piece);
  }
});
