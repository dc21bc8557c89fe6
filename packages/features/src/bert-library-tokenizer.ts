import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BertTokenizer, type BertToken } from './bert-tokenizer';

/**
 * The slice of @huggingface/tokenizers' Tokenizer we call. Its types are ESM-only, which a CommonJS
 * module cannot import statically; the class itself is loaded with a dynamic import.
 */
interface LibraryTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[]; tokens: string[] };
}

/** The word pieces of one text, and where the library and our tokenizer parted ways on it, if they did. */
export interface CheckedPieces {
  tokens: BertToken[];
  /** null when every id agreed (the ids are the library's); else what differed (the ids are ours) */
  drift: string | null;
}

/**
 * WordPiece ids from @huggingface/tokenizers (the maintained implementation of tokenizer.json), with
 * the character offsets from our BertTokenizer, since the library (0.2.0) returns none. Both encode
 * every text and are compared id by id, so the model is never fed one sequence while the offsets
 * describe another (see tokenize() for what happens when they differ).
 */
export class LibraryBertTokenizer {
  private constructor(
    /** Reads the same tokenizer.json; supplies offsets, windows and the special ids. */
    readonly offsets: BertTokenizer,
    private readonly library: LibraryTokenizer,
    /** added_tokens marked special, plus the vocabulary's own control tokens */
    readonly specialTokens: string[],
  ) {}

  /** `tokenizer_config.json` beside the file, when present, is passed on as the library expects. */
  static async fromFile(tokenizerJson: string): Promise<LibraryBertTokenizer> {
    const text = readFileSync(tokenizerJson, 'utf8');
    const configFile = path.join(path.dirname(tokenizerJson), 'tokenizer_config.json');
    const config: object = existsSync(configFile) ? (JSON.parse(readFileSync(configFile, 'utf8')) as object) : {};
    return LibraryBertTokenizer.fromJson(JSON.parse(text) as object, config);
  }

  static async fromJson(tokenizerJson: object, config: object = {}): Promise<LibraryBertTokenizer> {
    const { Tokenizer } = await import('@huggingface/tokenizers');
    const offsets = BertTokenizer.fromTokenizerJson(JSON.stringify(tokenizerJson));
    const added = ((tokenizerJson as { added_tokens?: { content?: string; special?: boolean }[] }).added_tokens ?? [])
      .filter((t) => t.special && typeof t.content === 'string')
      .map((t) => t.content!);
    return new LibraryBertTokenizer(offsets, new Tokenizer(tokenizerJson, config), [...new Set([...added, ...offsets.specialTokens])]);
  }

  /**
   * Word pieces without [CLS]/[SEP]: the library's ids with our offsets. Where the two disagree, our
   * ids are kept (they follow the reference algorithm and match the offsets) and `drift` says where:
   * a real user's transcript must not fail a video over a tokenizer corner case. Known cases
   * (@huggingface/tokenizers 0.2.0): CJK characters outside the BMP are not split off, and private-use
   * characters are dropped rather than mapped to [UNK] (the worker blanks those beforehand).
   */
  tokenize(text: string): CheckedPieces {
    const ours = this.offsets.tokenize(text);
    const lib = this.library.encode(text, { add_special_tokens: false });
    const n = Math.max(ours.length, lib.ids.length);
    for (let i = 0; i < n; i++) {
      if (ours[i]?.id === lib.ids[i]) continue;
      const libTok = i < lib.ids.length ? `"${lib.tokens[i]}" (id ${lib.ids[i]})` : 'nothing (its sequence ended)';
      const ourTok = i < ours.length ? `"${this.offsets.idToToken(ours[i]!.id)}" (id ${ours[i]!.id})` : 'nothing (its sequence ended)';
      return { tokens: ours, drift: `word piece ${i}: @huggingface/tokenizers gives ${libTok}, our BertTokenizer gives ${ourTok}` };
    }
    return { tokens: ours.map((t, k) => ({ ...t, id: lib.ids[k]! })), drift: null };
  }
}
