/**
 * Tiny BERT-family encoders with the Optimum feature-extraction contract (docs/model-contracts.md §3.2):
 * `input_ids, attention_mask[, token_type_ids] i64[batch_size,sequence_length]` →
 * `last_hidden_state f32[batch_size,sequence_length,32]` = (embedding row + small position term
 * [+ token-type term]) × attention_mask.
 *
 * Planted sentiment: channel 0 is polarity (+ positive words, − negative words, 0 otherwise) and channel
 * 1 is intensity (strength of the planted word, 0 otherwise); position and token-type terms are 0 on
 * both channels, so a masked mean of channel 0 is the sentence's planted polarity.
 */
import { bertTokenizerJsonFromVocab } from '@omniaffect/features';
import { GraphBuilder, ModelBuilder } from '../onnx-builder';
import { seededMatrix } from './seeded';

export const TINY_TEXT_DIM = 32;
export const BERT_SPECIAL_IDS = { '[PAD]': 0, '[UNK]': 100, '[CLS]': 101, '[SEP]': 102, '[MASK]': 103 } as const;
export const TINY_TEXT_MAX_POSITIONS = 512;

/** word → [polarity, intensity] */
export type Planted = Record<string, [number, number]>;

export interface TinyTextSpec {
  name: 'text-en' | 'text-zh';
  /** tokens from id 104 on, in order */
  words: string[];
  planted: Planted;
  withTokenTypes: boolean;
  lowercase: boolean;
  seed: number;
}

export const TEXT_EN: TinyTextSpec = {
  name: 'text-en',
  withTokenTypes: true,
  lowercase: true,
  seed: 4001,
  words: [
    '!',
    "'",
    ',',
    '.',
    '?',
    '-',
    'the',
    'a',
    'an',
    'is',
    'are',
    'am',
    'was',
    'it',
    'today',
    'weather',
    'meeting',
    'report',
    'hello',
    'world',
    'and',
    'i',
    'you',
    'we',
    'this',
    'that',
    'very',
    'so',
    'not',
    'really',
    'feel',
    'my',
    'day',
    'movie',
    'great',
    'happy',
    'love',
    'wonderful',
    'excellent',
    'good',
    'terrible',
    'sad',
    'hate',
    'awful',
    'bad',
    'angry',
    '##s',
    '##ing',
    '##ed',
    '##ly',
    '##er',
    '##est',
  ],
  planted: {
    great: [1, 0.6],
    happy: [1, 0.6],
    love: [1, 1],
    wonderful: [1, 1],
    excellent: [1, 1],
    good: [1, 0.5],
    terrible: [-1, 1],
    sad: [-1, 0.6],
    hate: [-1, 1],
    awful: [-1, 1],
    bad: [-1, 0.5],
    angry: [-1, 0.8],
  },
};

export const TEXT_ZH: TinyTextSpec = {
  name: 'text-zh',
  withTokenTypes: false,
  lowercase: false,
  seed: 4002,
  words: [
    '，',
    '。',
    '！',
    '？',
    '、',
    '：',
    '；',
    '“',
    '”',
    '!',
    ',',
    '.',
    '?',
    '开',
    '心',
    '好',
    '棒',
    '喜',
    '欢',
    '难',
    '过',
    '讨',
    '厌',
    '糟',
    '糕',
    '生',
    '气',
    '你',
    '世',
    '界',
    '今',
    '天',
    '会',
    '议',
    '报',
    '告',
    '很',
    '非',
    '常',
    '我',
    '是',
    '的',
    '了',
    '不',
    '太',
    '们',
    '他',
    '她',
    '这',
    '个',
    '有',
    '在',
  ],
  planted: {
    开: [1, 0.6],
    心: [0.5, 0.3],
    好: [1, 0.5],
    棒: [1, 0.8],
    喜: [1, 0.8],
    欢: [1, 0.6],
    难: [-1, 0.6],
    过: [-0.5, 0.3],
    讨: [-1, 0.8],
    厌: [-1, 0.8],
    糟: [-1, 1],
    糕: [-1, 0.8],
    生: [-0.5, 0.4],
  },
};

/** Full vocabulary in id order: BERT's special layout ([PAD]=0, [unused0..98], [UNK]=100 … [MASK]=103). */
export function tinyVocab(spec: TinyTextSpec): string[] {
  const unused = Array.from({ length: 99 }, (_, i) => `[unused${i}]`);
  return ['[PAD]', ...unused, '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...spec.words];
}

export function tinyEmbeddings(spec: TinyTextSpec): Float32Array {
  const vocab = tinyVocab(spec);
  const D = TINY_TEXT_DIM;
  const e = seededMatrix(spec.seed, vocab.length, D, 0.5);
  vocab.forEach((tok, id) => {
    const [pol, inten] = spec.planted[tok] ?? [0, 0];
    e[id * D + 0] = pol;
    e[id * D + 1] = inten;
  });
  return e;
}

function zeroFirstTwo(m: Float32Array, rows: number): Float32Array {
  for (let r = 0; r < rows; r++) {
    m[r * TINY_TEXT_DIM] = 0;
    m[r * TINY_TEXT_DIM + 1] = 0;
  }
  return m;
}

export function buildTinyText(spec: TinyTextSpec): ModelBuilder {
  const D = TINY_TEXT_DIM;
  const V = tinyVocab(spec).length;
  const g = new GraphBuilder(`tiny_${spec.name.replace('-', '_')}`);
  const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const mask = g.input('attention_mask', 'int64', ['batch_size', 'sequence_length']);
  const E = g.initFloat(tinyEmbeddings(spec), [V, D]);
  const P = g.initFloat(zeroFirstTwo(seededMatrix(spec.seed + 100, TINY_TEXT_MAX_POSITIONS, D, 0.05), TINY_TEXT_MAX_POSITIONS), [TINY_TEXT_MAX_POSITIONS, D]);
  let h = g.op('Gather', [E, ids], { axis: 0 }); // [B,S,D]
  const seqLen = g.op('Gather', [g.op('Shape', [ids]), g.i64s(1)], { axis: 0 });
  const positions = g.op('Gather', [P, g.op('Range', [g.i64s(0), seqLen, g.i64s(1)])], { axis: 0 }); // [S,D]
  h = g.op('Add', [h, positions]);
  if (spec.withTokenTypes) {
    const tt = g.input('token_type_ids', 'int64', ['batch_size', 'sequence_length']);
    const TT = g.initFloat(zeroFirstTwo(seededMatrix(spec.seed + 200, 2, D, 0.05), 2), [2, D]);
    h = g.op('Add', [h, g.op('Gather', [TT, tt], { axis: 0 })]);
  }
  const m = g.op('Unsqueeze', [g.op('Cast', [mask], { to: 1 }), g.i64(2)]);
  g.op('Mul', [h, m], {}, 'last_hidden_state');
  g.output('last_hidden_state', 'float32', ['batch_size', 'sequence_length', D]);
  return new ModelBuilder(g, { docString: `OmniAffect tiny ${spec.name} encoder (see tiny-pack.json)` });
}

/** HF `tokenizer.json` (BertNormalizer, BertPreTokenizer, WordPiece, [CLS] A [SEP] template). */
export function tinyTokenizerJson(spec: TinyTextSpec): Record<string, unknown> {
  const vocab = new Map(tinyVocab(spec).map((t, i) => [t, i] as const));
  return bertTokenizerJsonFromVocab(vocab, { lowercase: spec.lowercase, stripAccents: null }) as Record<string, unknown>;
}

export function tinyTokenizerConfig(spec: TinyTextSpec): Record<string, unknown> {
  return {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: spec.lowercase,
    tokenize_chinese_chars: true,
    model_max_length: TINY_TEXT_MAX_POSITIONS,
    unk_token: '[UNK]',
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    mask_token: '[MASK]',
    model_input_names: spec.withTokenTypes ? ['input_ids', 'token_type_ids', 'attention_mask'] : ['input_ids', 'attention_mask'],
  };
}
