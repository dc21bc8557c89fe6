import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** openai/whisper tokenizer.py LANGUAGES order; the language token id is 50259 + index. */
export const WHISPER_LANGUAGES = [
  'en',
  'zh',
  'de',
  'es',
  'ru',
  'ko',
  'fr',
  'ja',
  'pt',
  'tr',
  'pl',
  'ca',
  'nl',
  'ar',
  'sv',
  'it',
  'id',
  'hi',
  'fi',
  'vi',
  'he',
  'uk',
  'el',
  'ms',
  'cs',
  'ro',
  'da',
  'hu',
  'ta',
  'no',
  'th',
  'ur',
  'hr',
  'bg',
  'lt',
  'la',
  'mi',
  'ml',
  'cy',
  'sk',
  'te',
  'fa',
  'lv',
  'bn',
  'sr',
  'az',
  'sl',
  'kn',
  'et',
  'mk',
  'br',
  'eu',
  'is',
  'hy',
  'ne',
  'mn',
  'bs',
  'kk',
  'sq',
  'sw',
  'gl',
  'mr',
  'pa',
  'si',
  'km',
  'sn',
  'yo',
  'so',
  'af',
  'oc',
  'ka',
  'be',
  'tg',
  'sd',
  'gu',
  'am',
  'yi',
  'lo',
  'uz',
  'fo',
  'ht',
  'ps',
  'tk',
  'nn',
  'mt',
  'sa',
  'lb',
  'my',
  'bo',
  'tl',
  'mg',
  'as',
  'tt',
  'haw',
  'ln',
  'ha',
  'ba',
  'jw',
  'su',
  'yue',
] as const;

/** Fixed ids of Whisper large-v3 / large-v3-turbo (models.md §1.2). Older models differ. */
export const WHISPER_TOKENS = {
  eot: 50257,
  sot: 50258,
  en: 50259,
  zh: 50260,
  translate: 50359,
  transcribe: 50360,
  startoflm: 50361,
  startofprev: 50362,
  nospeech: 50363,
  notimestamps: 50364,
  timestampBegin: 50365,
  timestampEnd: 51865,
  vocabSize: 51866,
} as const;

const FIRST_SPECIAL = 50257;

/** GPT-2 bytes_to_unicode: printable stand-ins for every byte, as used by byte-level BPE vocabularies. */
function unicodeToByteMap(): Map<string, number> {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const m = new Map<string, number>();
  bs.forEach((b, i) => m.set(String.fromCodePoint(cs[i]), b));
  return m;
}

function defaultSpecialNames(): Map<number, string> {
  const names = ['<|endoftext|>', '<|startoftranscript|>', ...WHISPER_LANGUAGES.map((l) => `<|${l}|>`)];
  names.push('<|translate|>', '<|transcribe|>', '<|startoflm|>', '<|startofprev|>', '<|nospeech|>', '<|notimestamps|>');
  for (let i = 0; i <= 1500; i++) names.push(`<|${(i * 0.02).toFixed(2)}|>`);
  return new Map(names.map((s, i) => [FIRST_SPECIAL + i, s]));
}

export interface WhisperDecodeOptions {
  skipSpecial?: boolean;
}

export class WhisperTokenizer {
  private readonly bytes: Map<number, Uint8Array>;
  private readonly specials: Map<number, string>;

  constructor(tokenBytes: Map<number, Uint8Array>, specialNames?: Map<number, string>) {
    this.bytes = tokenBytes;
    this.specials = specialNames ?? defaultSpecialNames();
  }

  /** Prefers the HF `tokenizer.json`; falls back to openai's `multilingual.tiktoken`. */
  static fromModelDir(dir: string): WhisperTokenizer {
    const tj = path.join(dir, 'tokenizer.json');
    if (existsSync(tj)) return WhisperTokenizer.fromTokenizerJson(readFileSync(tj, 'utf8'));
    for (const name of ['multilingual.tiktoken', path.join('assets', 'multilingual.tiktoken')]) {
      const p = path.join(dir, name);
      if (existsSync(p)) return WhisperTokenizer.fromTiktoken(readFileSync(p, 'utf8'));
    }
    throw new Error(`no Whisper tokenizer in ${dir}: expected tokenizer.json or multilingual.tiktoken`);
  }

  static fromTokenizerJson(text: string): WhisperTokenizer {
    const json = JSON.parse(text) as {
      model?: { vocab?: Record<string, number> };
      added_tokens?: { id: number; content: string; special?: boolean }[];
    };
    const vocab = json.model?.vocab;
    if (!vocab) throw new Error('tokenizer.json has no model.vocab');
    const u2b = unicodeToByteMap();
    const bytes = new Map<number, Uint8Array>();
    for (const [tok, id] of Object.entries(vocab)) {
      const arr: number[] = [];
      for (const ch of tok) {
        const b = u2b.get(ch);
        if (b === undefined) throw new Error(`tokenizer.json token ${JSON.stringify(tok)} is not byte-level`);
        arr.push(b);
      }
      bytes.set(id, Uint8Array.from(arr));
    }
    const specials = defaultSpecialNames();
    for (const t of json.added_tokens ?? []) {
      if (t.id >= FIRST_SPECIAL) {
        specials.set(t.id, t.content);
        bytes.delete(t.id);
      }
    }
    return new WhisperTokenizer(bytes, specials);
  }

  /** Lines `base64 rank`; ranks are taken from each line, so sparse files work. */
  static fromTiktoken(text: string): WhisperTokenizer {
    const bytes = new Map<number, Uint8Array>();
    for (const line of text.split('\n')) {
      const s = line.trim();
      if (!s) continue;
      const parts = s.split(/\s+/);
      if (parts.length !== 2) throw new Error(`bad tiktoken line: ${JSON.stringify(line)}`);
      const rank = Number(parts[1]);
      if (!Number.isInteger(rank) || rank < 0) throw new Error(`bad tiktoken rank in line: ${JSON.stringify(line)}`);
      bytes.set(rank, new Uint8Array(Buffer.from(parts[0], 'base64')));
    }
    return new WhisperTokenizer(bytes);
  }

  /** Raw bytes of a base-vocabulary token; specials give their text form, unknown ids throw. */
  tokenBytes(id: number): Uint8Array {
    const b = this.bytes.get(id);
    if (b) return b;
    const s = this.specials.get(id);
    if (s !== undefined) return new Uint8Array(Buffer.from(s, 'utf8'));
    throw new Error(`token id ${id} is not in the Whisper vocabulary`);
  }

  isSpecial(id: number): boolean {
    return id >= FIRST_SPECIAL;
  }

  isTimestamp(id: number): boolean {
    return id >= WHISPER_TOKENS.timestampBegin && id <= WHISPER_TOKENS.timestampEnd;
  }

  timestampSeconds(id: number): number {
    if (!this.isTimestamp(id)) throw new Error(`token ${id} is not a timestamp token`);
    return Math.round((id - WHISPER_TOKENS.timestampBegin) * 2) / 100;
  }

  languageToken(lang: string): number {
    const i = (WHISPER_LANGUAGES as readonly string[]).indexOf(lang);
    if (i < 0) throw new Error(`unknown Whisper language ${JSON.stringify(lang)}`);
    return WHISPER_TOKENS.en + i;
  }

  /** Concatenates token bytes, then UTF-8-decodes once, so characters split across tokens come out whole. */
  decode(ids: Iterable<number | bigint>, opts: WhisperDecodeOptions = {}): string {
    const skip = opts.skipSpecial ?? true;
    const parts: Uint8Array[] = [];
    for (const raw of ids) {
      const id = Number(raw);
      if (this.isSpecial(id) && skip) continue;
      parts.push(this.tokenBytes(id));
    }
    return Buffer.concat(parts).toString('utf8');
  }
}
