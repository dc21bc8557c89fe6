import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { BertTokenizer, LibraryBertTokenizer, blankUnmappableChars, maskSpecialTokens, type BertToken, type BertWindow } from '@omniaffect/features';
import { createSession, type CreateSessionOptions } from '../session';
import { FILL_MASK_MESSAGE } from '../contracts';
import { inputMeta, readJsonIfPresent, requireNames, resolveOnnxGraph, type DtypeChoice } from './model-files';
import { newStats, recordRun, type InferenceStats } from './stats';

export interface BertLoadOptions {
  provider?: CreateSessionOptions['provider'];
  dtype?: DtypeChoice;
  intraOpThreads?: number;
  /** Name recorded in results; default: config.json `_name_or_path`, else the directory name. */
  name?: string;
  /** Overlap between sliding windows, in word pieces (default 128). */
  stride?: number;
  /** Windows per ORT run when a text needs several (default 8). */
  windowsPerRun?: number;
}

export interface TokenEmbedding {
  /** The original text under the token: `text.slice(charStart, charEnd)`. */
  text: string;
  /** The word piece itself (e.g. `##s`, `[UNK]`). */
  piece: string;
  id: number;
  /** UTF-16 offsets into the input text. */
  charStart: number;
  charEnd: number;
  embedding: Float32Array;
}

export interface TextEmbedding {
  /** Word pieces without [CLS]/[SEP]; with several windows each comes from the window where it is most central. */
  tokens: TokenEmbedding[];
  /** Attention-masked mean of last_hidden_state over every window's positions ([CLS]/[SEP] included). */
  pooled: Float32Array;
  dim: number;
  model: string;
  windows: number;
  /**
   * Where @huggingface/tokenizers and our tokenizer disagreed on this text (our ids were used), in
   * words: it quotes the word pieces, i.e. transcript text. For tests and debugging in memory only;
   * never log or store it. tokenizerDriftAt says the same with positions and ids alone.
   */
  tokenizerDrift?: string;
  /** The first disagreement as positions and ids only (no text): safe for logs and stage outputs. */
  tokenizerDriftAt?: TokenizerDrift;
}

export interface TokenizerDrift {
  /** Index of the first word piece (without [CLS]) where the two tokenizers differ. */
  piece: number;
  /** The id each side gave there; null where that side's sequence had already ended. */
  libraryId: number | null;
  referenceId: number | null;
  /** Word pieces in the text (our tokenizer's count). */
  pieces: number;
}

/**
 * The text-free part of LibraryBertTokenizer's drift sentence ("word piece 3: @huggingface/tokenizers
 * gives "x" (id 12), our BertTokenizer gives ..."). Word pieces hold no spaces, so "(id N), our" can
 * only be the library's id; ours is read from our own tokens rather than from the sentence.
 */
export function driftPositions(drift: string, ours: readonly { id: number }[]): TokenizerDrift {
  const piece = Number(/^word piece (\d+):/.exec(drift)?.[1] ?? -1);
  const lib = /@huggingface\/tokenizers gives .*? \(id (\d+)\), our BertTokenizer gives/.exec(drift);
  return { piece, libraryId: lib ? Number(lib[1]) : null, referenceId: piece >= 0 ? (ours[piece]?.id ?? null) : null, pieces: ours.length };
}

const REQUIRED_INPUTS = ['input_ids', 'attention_mask'];
const KNOWN_INPUTS = new Set([...REQUIRED_INPUTS, 'token_type_ids']);

/** BERT-family feature-extraction export (`last_hidden_state`) with its WordPiece tokenizer. */
export class BertRunner {
  readonly stats: InferenceStats = newStats();
  readonly feedsTokenTypeIds: boolean;
  readonly maxLength: number;
  private readonly stride: number;
  private readonly windowsPerRun: number;
  /** Control-token literals blanked out of every transcript before tokenizing. */
  private readonly specialTokens: string[];

  private constructor(
    readonly modelFile: string,
    readonly session: ort.InferenceSession,
    readonly tokenizer: BertTokenizer,
    /** Set when the model dir has tokenizer.json: ids come from @huggingface/tokenizers, checked against ours. */
    readonly library: LibraryBertTokenizer | null,
    readonly name: string,
    maxPositions: number,
    options: BertLoadOptions,
  ) {
    if (session.outputNames.includes('logits') && !session.outputNames.includes('last_hidden_state')) {
      throw new Error(`${modelFile}: ${FILL_MASK_MESSAGE}`);
    }
    requireNames(session, modelFile, REQUIRED_INPUTS, ['last_hidden_state']);
    const unknown = session.inputNames.filter((n) => !KNOWN_INPUTS.has(n));
    if (unknown.length) throw new Error(`${modelFile}: unexpected inputs ${unknown.join(', ')} (expected input_ids, attention_mask[, token_type_ids])`);
    this.feedsTokenTypeIds = session.inputNames.includes('token_type_ids');
    const seq = inputMeta(session, 'input_ids')?.shape[1];
    this.maxLength = Math.min(typeof seq === 'number' ? seq : 512, maxPositions);
    this.stride = options.stride ?? Math.min(128, Math.floor((this.maxLength - 2) / 2));
    this.windowsPerRun = Math.max(1, options.windowsPerRun ?? 8);
    this.specialTokens = library ? library.specialTokens : tokenizer.specialTokens;
  }

  static async load(modelDir: string, options: BertLoadOptions = {}): Promise<BertRunner> {
    const file = resolveOnnxGraph(modelDir, 'model', options.dtype);
    const tokJson = path.join(modelDir, 'tokenizer.json');
    const vocabTxt = path.join(modelDir, 'vocab.txt');
    let library: LibraryBertTokenizer | null = null;
    let tokenizer: BertTokenizer;
    if (existsSync(tokJson)) {
      library = await LibraryBertTokenizer.fromFile(tokJson);
      tokenizer = library.offsets;
    } else if (existsSync(vocabTxt)) {
      // The library reads only tokenizer.json, so a vocab.txt-only export is tokenised by our
      // implementation alone (its ids match the canonical tokenization.py reference in the features tests).
      tokenizer = BertTokenizer.fromFile(vocabTxt);
    } else {
      throw new Error(`${modelDir} lacks tokenizer.json or vocab.txt`);
    }
    const config = readJsonIfPresent<{ _name_or_path?: string; max_position_embeddings?: number; model_type?: string }>(path.join(modelDir, 'config.json'));
    const name = options.name ?? config?._name_or_path ?? path.basename(path.resolve(modelDir));
    // RoBERTa-style models reserve two positions (514 → 512 usable); BERT uses all of them.
    const mpe = config?.max_position_embeddings;
    const maxPositions = mpe === undefined ? 512 : config?.model_type?.includes('roberta') ? mpe - 2 : mpe;
    const session = await createSession(file, { provider: options.provider, intraOpThreads: options.intraOpThreads });
    return new BertRunner(file, session, tokenizer, library, name, maxPositions, options);
  }

  get inferenceStats(): InferenceStats {
    return this.stats;
  }

  async embed(text: string): Promise<TextEmbedding> {
    const started = performance.now();
    // Offsets into the cleaned text are offsets into `text` (both steps keep the length).
    const input = blankUnmappableChars(maskSpecialTokens(text, this.specialTokens));
    const checked = this.library ? this.library.tokenize(input) : null;
    const pieces: BertToken[] = checked ? checked.tokens : this.tokenizer.tokenize(input);
    const windows = this.tokenizer.encodePieces(pieces, { maxLength: this.maxLength, stride: this.stride });
    const room = this.maxLength - 2;
    // encode() starts window k at piece k·(room − stride); its pieces are [start, start + ids − 2).
    const starts = windows.map((_, k) => k * (room - this.stride));
    const pieceCount = windows.length ? starts[starts.length - 1]! + windows[windows.length - 1]!.ids.length - 2 : 0;
    const owner = new Int32Array(pieceCount).fill(-1);
    const best = new Int32Array(pieceCount).fill(-1);
    windows.forEach((w, k) => {
      const len = w.ids.length - 2;
      for (let j = 0; j < len; j++) {
        const centrality = Math.min(j, len - 1 - j);
        const p = starts[k]! + j;
        if (centrality > best[p]!) {
          best[p] = centrality;
          owner[p] = k;
        }
      }
    });

    const tokens: TokenEmbedding[] = new Array(pieceCount);
    let pooledSum: Float64Array | null = null;
    let maskCount = 0;
    let dim = 0;
    for (let g = 0; g < windows.length; g += this.windowsPerRun) {
      const group = windows.slice(g, g + this.windowsPerRun);
      const hidden = await this.run(group);
      const seq = hidden.dims[1]!;
      dim = hidden.dims[2]!;
      pooledSum ??= new Float64Array(dim);
      const data = hidden.data as Float32Array;
      group.forEach((w, i) => {
        const k = g + i;
        const base = i * seq * dim;
        for (let t = 0; t < w.ids.length; t++) {
          const off = base + t * dim;
          for (let d = 0; d < dim; d++) pooledSum![d]! += data[off + d]!;
        }
        maskCount += w.ids.length;
        for (let j = 0; j < w.ids.length - 2; j++) {
          const p = starts[k]! + j;
          if (owner[p] !== k) continue;
          const [charStart, charEnd] = w.offsets[j + 1]!;
          const off = base + (j + 1) * dim;
          tokens[p] = {
            text: text.slice(charStart, charEnd),
            piece: this.tokenizer.idToToken(w.ids[j + 1]!) ?? '',
            id: w.ids[j + 1]!,
            charStart,
            charEnd,
            embedding: data.slice(off, off + dim),
          };
        }
      });
    }
    const pooled = new Float32Array(dim);
    for (let d = 0; d < dim; d++) pooled[d] = pooledSum![d]! / maskCount;
    recordRun(this.stats, started);
    const drift = checked?.drift ? { tokenizerDrift: checked.drift, tokenizerDriftAt: driftPositions(checked.drift, checked.tokens) } : {};
    return { tokens, pooled, dim, model: this.name, windows: windows.length, ...drift };
  }

  /** One padded batch of windows → last_hidden_state [B, S, D]. */
  private async run(windows: BertWindow[]): Promise<ort.Tensor> {
    const seq = Math.max(...windows.map((w) => w.ids.length));
    const b = windows.length;
    const ids = new BigInt64Array(b * seq).fill(BigInt(this.tokenizer.padId));
    const mask = new BigInt64Array(b * seq);
    const types = new BigInt64Array(b * seq);
    windows.forEach((w, i) => {
      for (let t = 0; t < w.ids.length; t++) {
        ids[i * seq + t] = BigInt(w.ids[t]!);
        mask[i * seq + t] = BigInt(w.attentionMask[t]!);
        types[i * seq + t] = BigInt(w.tokenTypeIds[t]!);
      }
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [b, seq]),
      attention_mask: new ort.Tensor('int64', mask, [b, seq]),
    };
    if (this.feedsTokenTypeIds) feeds['token_type_ids'] = new ort.Tensor('int64', types, [b, seq]);
    const out = await this.session.run(feeds, ['last_hidden_state']);
    this.stats.sessionRuns += 1;
    return out['last_hidden_state']!;
  }
}

export type TextLanguage = 'zh' | 'en';

export interface TextEncoderChoice {
  runner: BertRunner;
  /** Which slot served the request. */
  slot: TextLanguage;
  /** Why the other slot was used, when it was. */
  fallbackReason?: string;
}

export interface LanguageTextEmbedding extends TextEmbedding {
  language: string;
  slot: TextLanguage;
  fallbackReason?: string;
}

/**
 * The text stage's pair of encoders: an English BERT and a Chinese/multilingual one, picked by the
 * transcript's language. Either may be missing; then the other serves and the reason is recorded.
 */
export class TextEncoders {
  constructor(
    readonly en: BertRunner | null,
    readonly zh: BertRunner | null,
  ) {
    if (!en && !zh) throw new Error('TextEncoders needs at least one of the English and Chinese/multilingual models');
  }

  static async load(dirs: { en?: string | null; zh?: string | null }, options: BertLoadOptions = {}): Promise<TextEncoders> {
    const en = dirs.en ? await BertRunner.load(dirs.en, options) : null;
    const zh = dirs.zh ? await BertRunner.load(dirs.zh, options) : null;
    return new TextEncoders(en, zh);
  }

  pick(language: string): TextEncoderChoice {
    const wanted: TextLanguage = language === 'zh' ? 'zh' : 'en';
    const other: TextLanguage = wanted === 'zh' ? 'en' : 'zh';
    const primary = this[wanted];
    const reasons: string[] = [];
    if (language !== 'zh' && language !== 'en') reasons.push(`language "${language}" is neither zh nor en; the English slot is the default`);
    if (primary) return reasons.length ? { runner: primary, slot: wanted, fallbackReason: reasons.join('; ') } : { runner: primary, slot: wanted };
    const fallback = this[other]!;
    reasons.push(`no ${wanted === 'zh' ? 'Chinese/multilingual' : 'English'} text model is configured; used the ${other} model (${fallback.name})`);
    return { runner: fallback, slot: other, fallbackReason: reasons.join('; ') };
  }

  async embed(text: string, language: string): Promise<LanguageTextEmbedding> {
    const choice = this.pick(language);
    const result = await choice.runner.embed(text);
    const out: LanguageTextEmbedding = { ...result, language, slot: choice.slot };
    if (choice.fallbackReason) out.fallbackReason = choice.fallbackReason;
    return out;
  }
}
