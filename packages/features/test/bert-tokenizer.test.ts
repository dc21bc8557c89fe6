import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sharedFile, SHARED_SKIP_REASON } from '@omniaffect/core';
import { BertTokenizer, bertTokenizerJsonFromVocab, blankUnmappableChars, maskSpecialTokens, parseVocabTxt } from '../src/bert-tokenizer';
import { LibraryBertTokenizer } from '../src/bert-library-tokenizer';
import { fixture } from './helpers';

interface Ref {
  english: { text: string; ids: number[] }[];
  chinese: { text: string; ids: number[]; idsCased: number[] }[];
}
const REF = JSON.parse(readFileSync(fixture('bert_ids.json'), 'utf8')) as Ref;

function mismatches(tok: { encode(s: string): { ids: number[] } }, cases: { text: string; ids: number[] }[]): string[] {
  const bad: string[] = [];
  for (const c of cases) {
    const ids = tok.encode(c.text).ids;
    if (JSON.stringify(ids) !== JSON.stringify(c.ids)) bad.push(`${JSON.stringify(c.text)}: got ${ids.join(' ')} want ${c.ids.join(' ')}`);
  }
  return bad;
}

const single = (t: BertTokenizer) => ({
  encode: (s: string) => {
    const w = t.encode(s);
    assert.equal(w.length, 1);
    return w[0];
  },
});

test('bert-base-uncased vocab.txt: ids equal the canonical tokenization.py reference (zero mismatches)', (t) => {
  const vocab = sharedFile('assets', 'bert', 'bert-base-uncased-vocab.txt');
  if (!vocab) return t.skip(SHARED_SKIP_REASON);
  const tok = BertTokenizer.fromFile(vocab);
  assert.equal(tok.vocabSize, 30522);
  assert.deepEqual(
    [tok.tokenToId('[PAD]'), tok.tokenToId('[UNK]'), tok.tokenToId('[CLS]'), tok.tokenToId('[SEP]'), tok.tokenToId('[MASK]')],
    [0, 100, 101, 102, 103],
  );
  assert.ok(REF.english.length >= 20);
  assert.deepEqual(mismatches(single(tok), REF.english), []);
});

test('bert-base-chinese vocab.txt: ids equal the reference, lowercased and cased (zero mismatches)', (t) => {
  const vocab = sharedFile('assets', 'bert', 'bert-base-chinese-vocab.txt');
  if (!vocab) return t.skip(SHARED_SKIP_REASON);
  const tok = BertTokenizer.fromFile(vocab);
  assert.equal(tok.vocabSize, 21128); // "\n"-only split keeps the U+2028 tokens
  assert.equal(tok.tokenToId('\u2028') !== undefined, true);
  assert.ok(REF.chinese.length >= 15);
  assert.deepEqual(mismatches(single(tok), REF.chinese), []);
  const cased = BertTokenizer.fromFile(vocab, { lowercase: false });
  assert.deepEqual(
    mismatches(
      single(cased),
      REF.chinese.map((c) => ({ text: c.text, ids: c.idsCased })),
    ),
    [],
  );
});

test('LibraryBertTokenizer on the real vocabularies: library ids equal ours and the reference, offsets ours (library cross-check)', async (t) => {
  const en = sharedFile('assets', 'bert', 'bert-base-uncased-vocab.txt');
  const zh = sharedFile('assets', 'bert', 'bert-base-chinese-vocab.txt');
  if (!en || !zh) return t.skip(SHARED_SKIP_REASON);
  // tokenize() reports the first id where @huggingface/tokenizers and BertTokenizer disagree: none may.
  const checked = async (f: string) => {
    const lib = await LibraryBertTokenizer.fromJson(bertTokenizerJsonFromVocab(parseVocabTxt(readFileSync(f, 'utf8'))));
    return {
      encode: (s: string) => {
        const { tokens, drift } = lib.tokenize(s);
        assert.equal(drift, null, s);
        assert.deepEqual(
          tokens.map((p) => p.offset),
          lib.offsets.tokenize(s).map((p) => p.offset),
        );
        return { ids: [lib.offsets.clsId, ...tokens.map((p) => p.id), lib.offsets.sepId] };
      },
    };
  };
  assert.deepEqual(mismatches(await checked(en), REF.english), []);
  assert.deepEqual(mismatches(await checked(zh), REF.chinese), []);
  // The same JSON loads into our tokenizer too.
  const ours = BertTokenizer.fromTokenizerJson(JSON.stringify(bertTokenizerJsonFromVocab(parseVocabTxt(readFileSync(en, 'utf8')))));
  assert.deepEqual(mismatches(single(ours), REF.english), []);
});

const TINY = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'cafe', 'naive', 'un', '##aff', '##able', 'hello', ',', '!', '你', '好', '世', 'ab', '##c', 'x'];

function tiny(opts = {}): BertTokenizer {
  const dir = mkdtempSync(path.join(tmpdir(), 'vocab-'));
  const p = path.join(dir, 'tiny-uncased-vocab.txt');
  writeFileSync(p, TINY.join('\n') + '\n');
  return BertTokenizer.fromFile(p, opts);
}

test('tiny vocab: accents stripped, CJK isolated, offsets index the ORIGINAL text', () => {
  const tok = tiny();
  const text = 'Café  NAÏVE, unaffable你好世界!';
  const [w] = tok.encode(text);
  const toks = w.ids.map((i) => tok.idToToken(i));
  assert.deepEqual(toks, ['[CLS]', 'cafe', 'naive', ',', 'un', '##aff', '##able', '你', '好', '世', '[UNK]', '!', '[SEP]']);
  assert.deepEqual(w.offsets[0], [0, 0]);
  assert.deepEqual(w.offsets[w.offsets.length - 1], [0, 0]);
  const spans = w.offsets.slice(1, -1).map(([a, b]) => text.slice(a, b));
  assert.deepEqual(spans, ['Café', 'NAÏVE', ',', 'un', 'aff', 'able', '你', '好', '世', '界', '!']);
  assert.deepEqual(
    w.attentionMask,
    w.ids.map(() => 1),
  );
  assert.deepEqual(
    w.tokenTypeIds,
    w.ids.map(() => 0),
  );
});

test('tiny vocab: decomposed accents, astral chars and control chars keep UTF-16 offsets right', () => {
  const tok = tiny();
  const text = '😀 cafe\u0301\u0000 x';
  const [w] = tok.encode(text);
  assert.deepEqual(
    w.ids.map((i) => tok.idToToken(i)),
    ['[CLS]', '[UNK]', 'cafe', 'x', '[SEP]'],
  );
  const spans = w.offsets.slice(1, -1);
  assert.deepEqual(spans[0], [0, 2]); // surrogate pair
  assert.equal(text.slice(...spans[1]), 'cafe'); // combining acute dropped after NFD strip
  assert.equal(text.slice(...spans[2]), 'x');
});

test('tiny vocab: a word over 100 chars is one [UNK]; an unmatched word is one [UNK]', () => {
  const tok = tiny();
  const long = 'ab' + 'c'.repeat(99);
  assert.deepEqual(
    tok.encode(long)[0].ids.map((i) => tok.idToToken(i)),
    ['[CLS]', '[UNK]', '[SEP]'],
  );
  assert.deepEqual(tok.encode('ab' + 'c'.repeat(98))[0].ids.length, 2 + 1 + 98);
  const [w] = tok.encode('zzz abc');
  assert.deepEqual(
    w.ids.map((i) => tok.idToToken(i)),
    ['[CLS]', '[UNK]', 'ab', '##c', '[SEP]'],
  );
  assert.deepEqual(w.offsets[1], [0, 3]);
});

test('cased option keeps case and accents', () => {
  const tok = tiny({ lowercase: false });
  assert.deepEqual(
    tok.encode('Cafe cafe')[0].ids.map((i) => tok.idToToken(i)),
    ['[CLS]', '[UNK]', 'cafe', '[SEP]'],
  );
});

test('sliding windows: ≤ maxLength, [CLS]/[SEP] framed, stride overlap, every token covered', () => {
  const tok = tiny();
  const words = Array.from({ length: 23 }, (_, i) => (i % 3 === 0 ? '你' : i % 3 === 1 ? 'hello' : 'x'));
  const text = words.join(' ');
  const all = tok.tokenize(text);
  assert.equal(all.length, 23);
  const maxLength = 10;
  const stride = 3;
  const wins = tok.encode(text, { maxLength, stride });
  assert.ok(wins.length > 1);
  const covered = new Set<number>();
  let prevEnd = -1;
  for (const w of wins) {
    assert.ok(w.ids.length <= maxLength);
    assert.equal(w.ids[0], tok.clsId);
    assert.equal(w.ids[w.ids.length - 1], tok.sepId);
    assert.equal(w.offsets.length, w.ids.length);
    const inner = w.offsets.slice(1, -1);
    const first = all.findIndex((tkn) => tkn.offset[0] === inner[0][0]);
    inner.forEach((o, k) => {
      assert.deepEqual(o, all[first + k].offset);
      assert.equal(w.ids[k + 1], all[first + k].id);
      covered.add(first + k);
    });
    if (prevEnd >= 0) assert.equal(prevEnd - first, stride, 'overlap must equal stride');
    prevEnd = first + inner.length;
  }
  assert.equal(covered.size, all.length);
  assert.equal(tok.encode(text, { maxLength: 25 }).length, 1);
  assert.throws(() => tok.encode(text, { maxLength: 10, stride: 8 }), /stride/);
});

test('fromFile(tokenizer.json) reads normalizer flags', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tj-'));
  const vocab = new Map(TINY.map((t, i) => [t, i]));
  const p = path.join(dir, 'tokenizer.json');
  writeFileSync(p, JSON.stringify(bertTokenizerJsonFromVocab(vocab, { lowercase: false })));
  const tok = BertTokenizer.fromFile(p);
  assert.deepEqual(
    tok.encode('Cafe cafe')[0].ids.map((i) => tok.idToToken(i)),
    ['[CLS]', '[UNK]', 'cafe', '[SEP]'],
  );
});

test('maskSpecialTokens blanks control tokens in any case and keeps every other character where it was', () => {
  const specials = ['[CLS]', '[SEP]', '[MASK]', '[PAD]', '[UNK]'];
  const text = '好[SEP]x [mask][Cls] [SEPARATE] a.b*[UNK]';
  const masked = maskSpecialTokens(text, specials);
  const blank = (n: number) => ' '.repeat(n);
  assert.equal(masked, `好${blank(5)}x ${blank(6)}${blank(5)} [SEPARATE] a.b*${blank(5)}`);
  assert.equal(masked.length, text.length);
  assert.equal(maskSpecialTokens('a.b', ['.']), 'a b', 'regex metacharacters are literal');
  assert.equal(maskSpecialTokens('unchanged', []), 'unchanged');
});

test('blankUnmappableChars: private-use characters and unpaired surrogates become spaces; astral CJK and emoji stay', () => {
  assert.equal(blankUnmappableChars('iPhone\uF8FF today'), 'iPhone  today');
  assert.equal(blankUnmappableChars('a\uD800b\uDC00c'), 'a b c');
  assert.equal(blankUnmappableChars('x\u{F0000}y'), 'x  y', 'an astral private-use character is two code units, two spaces');
  assert.equal(blankUnmappableChars('搭OK𨋢😀'), '搭OK𨋢😀');
});

test('LibraryBertTokenizer: where the library differs from the reference (astral CJK), our ids are used and the drift is reported', async () => {
  const lib = await LibraryBertTokenizer.fromJson(bertTokenizerJsonFromVocab(parseVocabTxt(TINY.join('\n'))));
  const agreed = lib.tokenize('hello 你好');
  assert.equal(agreed.drift, null);
  // @huggingface/tokenizers 0.2.0 walks UTF-16 units and does not split off a CJK character outside the BMP
  const text = 'hello𨋢你';
  const { tokens, drift } = lib.tokenize(text);
  assert.deepEqual(
    tokens.map((t) => t.id),
    lib.offsets.tokenize(text).map((t) => t.id),
  );
  assert.match(drift ?? '', /^word piece \d+: @huggingface\/tokenizers gives .* our BertTokenizer gives /);
});
