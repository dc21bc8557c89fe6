import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sharedFile, SHARED_SKIP_REASON } from '@omniaffect/core';
import { WhisperTokenizer, WHISPER_TOKENS } from '../src/whisper-tokenizer';

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');

function tinyTiktokenDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tiktoken-'));
  const ni = Buffer.from('你', 'utf8'); // e4 bd a0: split across ranks 900 and 7
  const lines = [`${b64('Hello')} 15947`, `${b64(' world')} 1002`, `${b64(ni.subarray(0, 2))} 900`, `${b64(ni.subarray(2))} 7`, `${b64('好')} 2131`, `= 50256`];
  writeFileSync(path.join(dir, 'multilingual.tiktoken'), lines.join('\n') + '\n');
  return dir;
}

test('sparse tiktoken: ranks come from the lines, CJK split across tokens decodes whole', () => {
  const tok = WhisperTokenizer.fromModelDir(tinyTiktokenDir());
  assert.equal(tok.decode([15947, 1002]), 'Hello world');
  assert.equal(tok.decode([900, 7, 2131]), '你好');
  assert.equal(tok.decode([WHISPER_TOKENS.sot, WHISPER_TOKENS.zh, 900, 7, WHISPER_TOKENS.eot]), '你');
  assert.equal(tok.decode([50256]), '');
  assert.deepEqual(Array.from(tok.tokenBytes(900)), [0xe4, 0xbd]);
  assert.throws(() => tok.tokenBytes(8), /not in the Whisper vocabulary/);
});

test('specials: fixed ids, timestamps and language tokens (large-v3 table)', () => {
  const tok = WhisperTokenizer.fromModelDir(tinyTiktokenDir());
  assert.equal(tok.languageToken('en'), 50259);
  assert.equal(tok.languageToken('zh'), 50260);
  assert.equal(tok.languageToken('ja'), 50266);
  assert.equal(tok.languageToken('yue'), 50358);
  assert.throws(() => tok.languageToken('xx'), /unknown Whisper language/);
  assert.ok(tok.isTimestamp(50365) && tok.isTimestamp(51865) && !tok.isTimestamp(50364) && !tok.isTimestamp(51866));
  assert.equal(tok.timestampSeconds(50365), 0);
  assert.equal(tok.timestampSeconds(50365 + 1), 0.02);
  assert.equal(tok.timestampSeconds(50365 + 77), 1.54);
  assert.equal(tok.timestampSeconds(51865), 30);
  assert.equal(
    tok.decode([50258, 50260, 50360, 50364, 50365, 15947, 50400], { skipSpecial: false }),
    '<|startoftranscript|><|zh|><|transcribe|><|notimestamps|><|0.00|>Hello<|0.70|>',
  );
});

test('tokenizer.json (HF byte-level BPE) is preferred and decodes bytes_to_unicode strings', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tokjson-'));
  // "Ġ" is byte 0x20; "ä½" + "ł" are bytes e4 bd + a0 (你) under GPT-2's bytes_to_unicode.
  const json = {
    model: { type: 'BPE', vocab: { ĠHello: 2425, 'ä½': 10, ł: 11, 'å¥½': 2131, '!': 0 } },
    added_tokens: [
      { id: 50257, content: '<|endoftext|>', special: true },
      { id: 50364, content: '<|notimestamps|>', special: true },
    ],
  };
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
  writeFileSync(path.join(dir, 'multilingual.tiktoken'), `${b64('X')} 2425\n`); // must be ignored
  const tok = WhisperTokenizer.fromModelDir(dir);
  assert.equal(tok.decode([2425, 0, 10, 11, 2131, 50257]), ' Hello!你好');
  assert.equal(tok.decode([50364], { skipSpecial: false }), '<|notimestamps|>');
});

test('real multilingual.tiktoken: documented ranks decode exactly', (t) => {
  const file = sharedFile('assets', 'whisper', 'multilingual.tiktoken');
  if (!file) return t.skip(SHARED_SKIP_REASON);
  const tok = WhisperTokenizer.fromModelDir(path.dirname(file));
  assert.equal(tok.decode([26410]), '你好');
  assert.equal(tok.decode([2166, 2131]), '你好');
  assert.equal(tok.decode([2425]), ' Hello');
  assert.equal(tok.decode([15947]), 'Hello');
  assert.equal(tok.decode([220, 13, 11]), ' .,');
  assert.equal(tok.decode([50256]), '');
  assert.equal(tok.decode([50258, 50259, 50360, 50364, 2425, 13, 50257]), ' Hello.');
});
