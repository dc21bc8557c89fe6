import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@omniaffect/core';
import { BertRunner, TEXT_EN, buildTinyPack, tinyVocab } from '@omniaffect/models';
import { logTokenizerDrift } from '../src/text-stage';

let root: string;
let driftDir: string;

before(() => {
  root = mkdtempSync(path.join(tmpdir(), 'oa-text-drift-'));
  buildTinyPack(root);
  const pack = JSON.parse(readFileSync(path.join(root, 'tiny-pack.json'), 'utf8')) as { dirs: { textEn: string } };
  // A tokenizer.json whose added_tokens swap "love" and "hate": the library and the reference
  // algorithm then disagree on any transcript with either word (a real drift, real runner).
  driftDir = path.join(root, 'drift');
  cpSync(path.join(root, pack.dirs.textEn), driftDir, { recursive: true });
  const file = path.join(driftDir, 'tokenizer.json');
  const json = JSON.parse(readFileSync(file, 'utf8')) as { added_tokens: object[] };
  const vocab = tinyVocab(TEXT_EN);
  const tok = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: false });
  json.added_tokens.push(tok(vocab.indexOf('hate'), 'love'), tok(vocab.indexOf('love'), 'hate'));
  writeFileSync(file, JSON.stringify(json));
});
after(() => rmSync(root, { recursive: true, force: true }));

test('the tokenizer drift record in the log has positions and ids, never transcript text', async () => {
  const transcript = 'I love this movie';
  const runner = await BertRunner.load(driftDir);
  const e = await runner.embed(transcript);
  assert.ok(e.tokenizerDrift, 'the edited tokenizer must drift');
  const vocab = tinyVocab(TEXT_EN);
  assert.deepEqual(e.tokenizerDriftAt, { piece: 1, libraryId: vocab.indexOf('hate'), referenceId: vocab.indexOf('love'), pieces: 4 });

  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const log = createLogger('text', 'info', sink as unknown as Parameters<typeof createLogger>[2]);
  logTokenizerDrift(log, { ...e, slot: 'en' });
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0]!) as { drift: unknown };
  assert.deepEqual(record.drift, e.tokenizerDriftAt);
  for (const word of transcript.toLowerCase().split(' ').concat(['hate'])) {
    // Word boundaries: "i" would otherwise match inside "drift" or "piece".
    assert.ok(!new RegExp(`\\b${word}\\b`, 'i').test(lines[0]!.replace(/"[a-zA-Z]+":/g, '')), `"${word}" reached the log: ${lines[0]}`);
  }
});

test('no drift, no log line', () => {
  const lines: string[] = [];
  logTokenizerDrift({ warn: (...a: unknown[]) => void lines.push(JSON.stringify(a)) } as never, { model: 'm', slot: 'en' });
  assert.equal(lines.length, 0);
});
