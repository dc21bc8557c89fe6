import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * BERT WordPiece tokenisation with character offsets, following google-research/bert tokenization.py
 * (BasicTokenizer + WordpieceTokenizer) with HF's max_input_chars_per_word = 100.
 *
 * Why alongside @huggingface/tokenizers: version 0.2.0 returns ids/tokens/attention_mask but no
 * offsets, and the workers need offsets to map token importances back to the transcript. Where a
 * tokenizer.json exists, LibraryBertTokenizer takes the ids from the library and only the offsets
 * from here; our ids are also checked against a Python implementation of the canonical algorithm.
 */

export interface BertTokenizerOptions {
  lowercase?: boolean;
  /** Defaults to `lowercase` (HF BertNormalizer: strip_accents null follows lowercase). */
  stripAccents?: boolean;
  handleChineseChars?: boolean;
  cleanText?: boolean;
  maxInputCharsPerWord?: number;
  unkToken?: string;
  clsToken?: string;
  sepToken?: string;
  padToken?: string;
  continuingSubwordPrefix?: string;
}

export interface BertEncodeOptions {
  maxLength?: number;
  stride?: number;
}

export interface BertWindow {
  ids: number[];
  attentionMask: number[];
  tokenTypeIds: number[];
  /** UTF-16 [start, end) into the original text; [0, 0] for [CLS]/[SEP]. */
  offsets: [number, number][];
}

export interface BertToken {
  id: number;
  token: string;
  offset: [number, number];
}

interface NormChar {
  ch: string; // one code point
  start: number;
  end: number;
}

const RE_CONTROL = /^[\p{Cc}\p{Cf}]$/u;
// Python's str.split() and Rust's char::is_whitespace (what BERT's whitespace split uses) both follow the
// Unicode White_Space property, which also covers U+2028/U+2029 (Zl/Zp) beyond category Zs.
const RE_WS = /^\p{White_Space}$/u;
const RE_PUNCT = /^\p{P}$/u;
const RE_MN = /\p{Mn}/gu;

function isWhitespace(ch: string): boolean {
  return RE_WS.test(ch);
}

function isControl(ch: string): boolean {
  if (ch === '\t' || ch === '\n' || ch === '\r') return false;
  return RE_CONTROL.test(ch);
}

function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  // BERT treats all non-alphanumeric ASCII as punctuation, e.g. ^ $ ` which Unicode files under S*.
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return RE_PUNCT.test(ch);
}

/** The CJK Unified Ideograph blocks of tokenization.py::_is_chinese_char (no kana, no Hangul). */
export function isCjkChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

export class BertTokenizer {
  private readonly vocab: Map<string, number>;
  private readonly inv: Map<number, string>;
  private readonly lowercase: boolean;
  private readonly stripAccents: boolean;
  private readonly handleChineseChars: boolean;
  private readonly cleanText: boolean;
  private readonly maxChars: number;
  private readonly prefix: string;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;

  constructor(vocab: Map<string, number>, opts: BertTokenizerOptions = {}) {
    this.vocab = vocab;
    this.inv = new Map();
    for (const [t, i] of vocab) if (!this.inv.has(i)) this.inv.set(i, t);
    this.lowercase = opts.lowercase ?? true;
    this.stripAccents = opts.stripAccents ?? this.lowercase;
    this.handleChineseChars = opts.handleChineseChars ?? true;
    this.cleanText = opts.cleanText ?? true;
    this.maxChars = opts.maxInputCharsPerWord ?? 100;
    this.prefix = opts.continuingSubwordPrefix ?? '##';
    const need = (t: string) => {
      const id = vocab.get(t);
      if (id === undefined) throw new Error(`BERT vocabulary lacks the special token ${t}`);
      return id;
    };
    this.unkId = need(opts.unkToken ?? '[UNK]');
    this.clsId = need(opts.clsToken ?? '[CLS]');
    this.sepId = need(opts.sepToken ?? '[SEP]');
    this.padId = vocab.get(opts.padToken ?? '[PAD]') ?? 0;
  }

  /**
   * Loads `tokenizer.json` (BertNormalizer + WordPiece) or a `vocab.txt`. For vocab.txt, lowercasing
   * defaults to true unless the file name says "cased" (and not "uncased"), as in mBERT-cased.
   */
  static fromFile(file: string, opts: BertTokenizerOptions = {}): BertTokenizer {
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.json')) return BertTokenizer.fromTokenizerJson(text, opts);
    const vocab = parseVocabTxt(text);
    const base = path.basename(file).toLowerCase();
    const cased = /cased/.test(base) && !/uncased/.test(base);
    return new BertTokenizer(vocab, { lowercase: !cased, ...opts });
  }

  static fromTokenizerJson(text: string, opts: BertTokenizerOptions = {}): BertTokenizer {
    const j = JSON.parse(text) as {
      normalizer?: { type?: string; lowercase?: boolean; strip_accents?: boolean | null; handle_chinese_chars?: boolean; clean_text?: boolean };
      model?: { type?: string; vocab?: Record<string, number>; unk_token?: string; continuing_subword_prefix?: string; max_input_chars_per_word?: number };
    };
    if (j.model?.type !== 'WordPiece' || !j.model.vocab) throw new Error('tokenizer.json is not a WordPiece (BERT) tokenizer');
    const n = j.normalizer?.type === 'BertNormalizer' ? j.normalizer : undefined;
    const fromJson: BertTokenizerOptions = {
      lowercase: n?.lowercase ?? true,
      stripAccents: n?.strip_accents ?? undefined,
      handleChineseChars: n?.handle_chinese_chars ?? true,
      cleanText: n?.clean_text ?? true,
      unkToken: j.model.unk_token ?? '[UNK]',
      continuingSubwordPrefix: j.model.continuing_subword_prefix ?? '##',
      maxInputCharsPerWord: j.model.max_input_chars_per_word ?? 100,
    };
    return new BertTokenizer(new Map(Object.entries(j.model.vocab)), { ...fromJson, ...opts });
  }

  /** The control tokens of this vocabulary ([CLS], [SEP], [PAD], [UNK], [MASK] where present). */
  get specialTokens(): string[] {
    return [this.clsId, this.sepId, this.padId, this.unkId, this.vocab.get('[MASK]')]
      .map((id) => (id === undefined ? undefined : this.inv.get(id)))
      .filter((t): t is string => t !== undefined);
  }

  get vocabSize(): number {
    return this.inv.size;
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.inv.get(id);
  }

  /** Word pieces without special tokens, each with its UTF-16 span in `text`. */
  tokenize(text: string): BertToken[] {
    const out: BertToken[] = [];
    for (const word of this.basicTokenize(text)) this.wordpiece(word, out);
    return out;
  }

  /**
   * `[CLS] pieces [SEP]`; when the pieces exceed maxLength − 2, sliding windows whose consecutive
   * contents overlap by `stride` pieces (as HF return_overflowing_tokens), so every piece is covered.
   */
  encode(text: string, opts: BertEncodeOptions = {}): BertWindow[] {
    return this.encodePieces(this.tokenize(text), opts);
  }

  /** encode() over pieces tokenised elsewhere (ids checked against @huggingface/tokenizers). */
  encodePieces(toks: readonly BertToken[], opts: BertEncodeOptions = {}): BertWindow[] {
    const maxLength = opts.maxLength ?? 512;
    const room = maxLength - 2;
    if (room < 1) throw new Error(`maxLength ${maxLength} leaves no room between [CLS] and [SEP]`);
    // The default overlap shrinks with small maxLength so that windows always advance.
    const stride = opts.stride ?? Math.min(128, Math.floor(room / 2));
    if (stride < 0 || stride >= room) throw new Error(`stride ${stride} must be in [0, ${room})`);
    const windows: BertWindow[] = [];
    let s = 0;
    for (;;) {
      const e = Math.min(s + room, toks.length);
      const part = toks.slice(s, e);
      const ids = [this.clsId, ...part.map((t) => t.id), this.sepId];
      windows.push({
        ids,
        attentionMask: ids.map(() => 1),
        tokenTypeIds: ids.map(() => 0),
        offsets: [[0, 0], ...part.map((t) => t.offset), [0, 0]],
      });
      if (e >= toks.length) break;
      s = e - stride;
    }
    return windows;
  }

  private basicTokenize(text: string): NormChar[][] {
    // clean_text + handle_chinese_chars + whitespace split, keeping each code point's original span.
    const words: NormChar[][] = [];
    let cur: NormChar[] = [];
    const flush = () => {
      if (cur.length) words.push(cur);
      cur = [];
    };
    let i = 0;
    while (i < text.length) {
      const cp = text.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      const start = i;
      i += ch.length;
      if (this.cleanText && (cp === 0 || cp === 0xfffd || isControl(ch))) continue;
      if (isWhitespace(ch)) {
        flush();
        continue;
      }
      if (this.handleChineseChars && isCjkChar(cp)) {
        flush();
        words.push([{ ch, start, end: i }]);
        continue;
      }
      cur.push({ ch, start, end: i });
    }
    flush();
    const pieces: NormChar[][] = [];
    for (const w of words) {
      const norm = this.normalizeWord(w);
      // _run_split_on_punc: each punctuation char is its own word.
      let acc: NormChar[] = [];
      for (const c of norm) {
        if (isPunctuation(c.ch)) {
          if (acc.length) pieces.push(acc);
          pieces.push([c]);
          acc = [];
        } else acc.push(c);
      }
      if (acc.length) pieces.push(acc);
    }
    return pieces;
  }

  private normalizeWord(w: NormChar[]): NormChar[] {
    if (!this.lowercase && !this.stripAccents) return w;
    let chars = w;
    if (this.lowercase) {
      // Lower the whole word (context rules such as final sigma) and map back 1:1 when lengths allow.
      const lowered = [
        ...w
          .map((c) => c.ch)
          .join('')
          .toLowerCase(),
      ];
      if (lowered.length === w.length) chars = w.map((c, k) => ({ ...c, ch: lowered[k] }));
      else chars = w.flatMap((c) => [...c.ch.toLowerCase()].map((ch) => ({ ch, start: c.start, end: c.end })));
    }
    if (this.stripAccents) {
      chars = chars.flatMap((c) => [...c.ch.normalize('NFD').replace(RE_MN, '')].map((ch) => ({ ch, start: c.start, end: c.end })));
    }
    return chars;
  }

  private wordpiece(word: NormChar[], out: BertToken[]): void {
    const cps = word.map((c) => c.ch);
    const span = (a: number, b: number): [number, number] => [word[a].start, word[b - 1].end];
    if (cps.length > this.maxChars) {
      out.push({ id: this.unkId, token: this.inv.get(this.unkId)!, offset: span(0, cps.length) });
      return;
    }
    const pieces: BertToken[] = [];
    let start = 0;
    while (start < cps.length) {
      let end = cps.length;
      let found: BertToken | null = null;
      while (start < end) {
        let sub = cps.slice(start, end).join('');
        if (start > 0) sub = this.prefix + sub;
        const id = this.vocab.get(sub);
        if (id !== undefined) {
          found = { id, token: sub, offset: span(start, end) };
          break;
        }
        end--;
      }
      if (!found) {
        out.push({ id: this.unkId, token: this.inv.get(this.unkId)!, offset: span(0, cps.length) });
        return;
      }
      pieces.push(found);
      start = end;
    }
    out.push(...pieces);
  }
}

/** vocab.txt → token→id; lines split on "\n" only (U+2028 and friends are real tokens). Later duplicates win, as in HF load_vocab. */
export function parseVocabTxt(text: string): Map<string, number> {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const vocab = new Map<string, number>();
  lines.forEach((t, i) => vocab.set(t, i));
  return vocab;
}

/**
 * The HF `tokenizer.json` object equivalent to a vocab.txt (BertNormalizer, BertPreTokenizer, WordPiece
 * with `##` and max_input_chars_per_word 100, TemplateProcessing `[CLS] $A [SEP]`), e.g. to feed
 * @huggingface/tokenizers or to ship next to an ONNX export.
 */
export function bertTokenizerJsonFromVocab(vocab: Map<string, number>, opts: { lowercase?: boolean; stripAccents?: boolean | null } = {}): object {
  const v = Object.fromEntries(vocab);
  const special = (c: string) => ({ id: vocab.get(c), content: c, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tok = (c: string) => ({ id: c, ids: [vocab.get(c)], tokens: [c] });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].filter((c) => vocab.has(c)).map(special),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: opts.stripAccents ?? null,
      lowercase: opts.lowercase ?? true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': tok('[CLS]'), '[SEP]': tok('[SEP]') },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: v },
  };
}

/**
 * Blanks literal control tokens ("[SEP]", "[MASK]"…, any case) out of untrusted text with spaces of
 * the same length, so offsets into the result are offsets into the original. A transcript is data:
 * left in, "[SEP]" would end the encoder's segment early (tokenizer.json libraries treat special
 * tokens in the text as the tokens themselves), and the two tokenizers would disagree on it.
 */
export function maskSpecialTokens(text: string, specials: readonly string[]): string {
  const list = [...new Set(specials)].filter((t) => t.length > 0);
  if (list.length === 0) return text;
  const escaped = list.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  return text.replace(new RegExp(escaped, 'gi'), (m) => ' '.repeat(m.length));
}

/**
 * Private-use characters and lone surrogates become spaces (same length, offsets kept). Tokenizers
 * disagree on them (google's tokenization.py maps them to [UNK]; Hugging Face's treat them as control
 * characters and drop them), and they carry no words a text encoder knows.
 */
export function blankUnmappableChars(text: string): string {
  // in a `u` regex \p{Cs} matches only unpaired surrogates; a pair is one astral code point
  return text.replace(/[\p{Co}\p{Cs}]/gu, (m) => ' '.repeat(m.length));
}
