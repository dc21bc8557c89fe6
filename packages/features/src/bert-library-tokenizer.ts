import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BertTokenizer, type BertToken } from './bert-tokenizer';

/**
 * The slice of @huggingface/tokenizers' Tokenizer we call. Its types are ESM-only, which a CommonJS
 * module cannot import statically; the class itself is loaded with a dynamic import.
 */
interface LibraryTokenizer {
  encode(text: string): { ids: number[]; tokens: string[] };
}

/**
 * WordPiece ids from @huggingface/tokenizers (the maintained implementation of tokenizer.json), with
 * the character offsets from our BertTokenizer, since the library (0.2.0) returns none. Both encode
 * every text; a single differing id throws, so the model can never be fed one sequence while the
 * offsets describe another.
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

  /** Word pieces without [CLS]/[SEP]: the library's ids, our offsets; throws where the two disagree. */
  tokenize(text: string): BertToken[] {
    const ours = this.offsets.tokenize(text);
    const lib = this.library.encode(text);
    const ourIds = [this.offsets.clsId, ...ours.map((t) => t.id), this.offsets.sepId];
    const n = Math.max(ourIds.length, lib.ids.length);
    for (let i = 0; i < n; i++) {
      if (ourIds[i] === lib.ids[i]) continue;
      const libTok = i < lib.ids.length ? `"${lib.tokens[i]}" (id ${lib.ids[i]})` : 'nothing (its sequence ended)';
      const ourTok = i < ourIds.length ? `"${this.offsets.idToToken(ourIds[i]!)}" (id ${ourIds[i]})` : 'nothing (its sequence ended)';
      throw new Error(
        `WordPiece drift at id position ${i} ([CLS] = 0): @huggingface/tokenizers gives ${libTok}, our BertTokenizer gives ${ourTok}`,
      );
    }
    return ours.map((t, k) => ({ ...t, id: lib.ids[k + 1]! }));
  }
}
