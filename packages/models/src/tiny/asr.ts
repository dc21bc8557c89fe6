/**
 * Tiny Whisper pair with the onnx-community / Optimum names, dtypes and ranks (docs/model-contracts.md §1.4, §1.6).
 *
 * Encoder: every output row carries per-item scalars: channel 0 = loudness L (max of the features),
 * 1 = language score S (mean of mel bins 0..39 minus mean of bins 40..127), 2 = presence (1.0),
 * 3 = mean of the features; channels 4..7 are 0.
 *
 * Merged decoder: logits are a lookup by absolute position p = past decoder length + index in
 * input_ids into two designed token sequences mixed by w = sigmoid(K·(S − C)). The cache branch reads
 * L, S and presence from past_key_values.0.encoder.key (never from encoder_hidden_states), so a loop
 * that drops the step-0 encoder cache gets presence 0 and emits the junk token instead.
 */
import { WHISPER_TOKENS } from '@omniaffect/features';
import { GraphBuilder, ModelBuilder } from '../onnx-builder';
import { WHISPER_VOCAB_SIZE } from '../contracts';
import { seededMatrix } from './seeded';

export const TINY_ASR = {
  dModel: 8,
  heads: 2,
  headDim: 4,
  decoderLayers: 2,
  encoderFrames: 1500,
  /** w = sigmoid(LANG_K · (S − LANG_C)); zh when w > 0.5 */
  langC: 0.006,
  langK: 1500,
  /** <|nospeech|> wins at position 0 when L < NOSPEECH_L */
  nospeechL: -1.0,
  /** logit of the designed token */
  logitScale: 10,
};

export const TOKENS = {
  ...WHISPER_TOKENS,
  ts0: WHISPER_TOKENS.timestampBegin,
  ts100: WHISPER_TOKENS.timestampBegin + 50,
} as const;

/** Token bytes of the text tokens, with their real multilingual.tiktoken ranks. */
export const TINY_ASR_TEXT_TOKENS: { rank: number; bytes: number[]; note: string }[] = [
  { rank: 2166, bytes: [0xe4, 0xbd, 0xa0], note: '你' },
  { rank: 2131, bytes: [0xe5, 0xa5, 0xbd], note: '好' },
  { rank: 171, bytes: [0xef], note: '， byte 1/3' },
  { rank: 120, bytes: [0xbc], note: '， byte 2/3' },
  { rank: 234, bytes: [0x8c], note: '， byte 3/3' },
  { rank: 940, bytes: [0xe4, 0xb8], note: '世 bytes 1-2/3' },
  { rank: 244, bytes: [0x96], note: '世 byte 3/3' },
  { rank: 21185, bytes: [0xe7, 0x95, 0x8c], note: '界' },
  { rank: 2425, bytes: [0x20, 0x48, 0x65, 0x6c, 0x6c, 0x6f], note: '" Hello"' },
  { rank: 1002, bytes: [0x20, 0x77, 0x6f, 0x72, 0x6c, 0x64], note: '" world"' },
  { rank: 0, bytes: [0x21], note: '"!" (junk token emitted when the encoder cache is missing)' },
  { rank: 220, bytes: [0x20], note: '" " (listed for begin_suppress_tokens)' },
];

const T = TOKENS;
/** sequence[p] is the argmax of the logits at absolute position p */
export const ZH_SEQUENCE = [T.zh, T.transcribe, T.ts0, 2166, 2131, 171, 120, 234, 940, 244, 21185, T.ts100, T.eot];
export const EN_SEQUENCE = [T.en, T.transcribe, T.ts0, 2425, 1002, T.ts100, T.eot];
export const JUNK_TOKEN = 0;
export const ZH_TEXT = '你好，世界';
export const EN_TEXT = ' Hello world';

/** Table length: positions at or beyond the last index read its eot entry. */
const TABLE_LEN = Math.max(ZH_SEQUENCE.length, EN_SEQUENCE.length) + 1;
function padTable(seq: number[]): number[] {
  return [...seq, ...Array<number>(TABLE_LEN - seq.length).fill(T.eot)];
}

export function buildTinyAsrEncoder(): ModelBuilder {
  const g = new GraphBuilder('tiny_whisper_encoder');
  const x = g.input('input_features', 'float32', ['batch_size', 128, 3000]);
  const L = g.op('ReduceMax', [x], { axes: [1, 2], keepdims: 1 }); // [B,1,1]
  const low = g.op('Slice', [x, g.i64(0), g.i64(40), g.i64(1)]);
  const high = g.op('Slice', [x, g.i64(40), g.i64(128), g.i64(1)]);
  const S = g.op('Sub', [g.op('ReduceMean', [low], { axes: [1, 2], keepdims: 1 }), g.op('ReduceMean', [high], { axes: [1, 2], keepdims: 1 })]);
  const mean = g.op('ReduceMean', [x], { axes: [1, 2], keepdims: 1 });
  const presence = g.op('Add', [g.op('Mul', [L, g.f(0)]), g.f(1)]);
  const zeros = g.op('Expand', [g.op('Mul', [L, g.f(0)]), g.i64(1, 1, TINY_ASR.dModel - 4)]);
  const row = g.op('Concat', [L, S, presence, mean, zeros], { axis: 2 }); // [B,1,D]
  g.op('Expand', [row, g.i64(1, TINY_ASR.encoderFrames, 1)], {}, 'last_hidden_state');
  g.output('last_hidden_state', 'float32', ['batch_size', TINY_ASR.encoderFrames, TINY_ASR.dModel]);
  return new ModelBuilder(g, { docString: 'OmniAffect tiny Whisper encoder (designed behaviour in tiny-pack.json)' });
}

/** [B, H, T, Dh] view of encoder states (identity cross-attention projection). */
function encoderKv(g: GraphBuilder, ehs: string): string {
  const r = g.op('Reshape', [ehs, g.i64(0, -1, TINY_ASR.heads, TINY_ASR.headDim)]);
  return g.op('Transpose', [r], { perm: [0, 2, 1, 3] });
}

/** Sums of channels (L, S, presence) of head 0 over time: [B,3]. */
function kvSums(g: GraphBuilder, kv: string): string {
  const big = 1 << 30;
  const s = g.op('Slice', [kv, g.i64(0, 0, 0, 0), g.i64(big, 1, big, 3)]);
  return g.op('ReduceSum', [s, g.i64(1, 2)], { keepdims: 0 });
}

export function buildTinyAsrDecoder(): ModelBuilder {
  const { heads: H, headDim: Dh, dModel: D, decoderLayers: NL } = TINY_ASR;
  const V = WHISPER_VOCAB_SIZE;
  const g = new GraphBuilder('tiny_whisper_decoder_merged');
  const ids = g.input('input_ids', 'int64', ['batch_size', 'decoder_sequence_length']);
  const ehs = g.input('encoder_hidden_states', 'float32', ['batch_size', 'encoder_sequence_length / 2', D]);
  for (let l = 0; l < NL; l++) {
    for (const side of ['decoder', 'encoder'] as const) {
      const len = side === 'decoder' ? 'past_decoder_sequence_length' : 'encoder_sequence_length_out';
      for (const t of ['key', 'value']) g.input(`past_key_values.${l}.${side}.${t}`, 'float32', ['batch_size', H, len, Dh]);
    }
  }
  const useCache = g.input('use_cache_branch', 'bool', [1]);

  // The single If: per-item sums (L, S, presence) and the encoder presents.
  const encOutNames = [];
  for (let l = 0; l < NL; l++) for (const t of ['key', 'value']) encOutNames.push(`present.${l}.encoder.${t}`);

  const withPast = g.subgraph('with_past'); // use_cache_branch = true
  {
    withPast.op('Identity', [kvSums(withPast, 'past_key_values.0.encoder.key')], {}, 'with_past/sums');
    withPast.output('with_past/sums', 'float32');
    const empty = withPast.op('ConstantOfShape', [withPast.i64(0, H, 1, Dh)], {
      value: { tensor: { dims: [1], dataType: 1, floatData: [0] } },
    });
    for (const n of encOutNames) withPast.output(withPast.op('Identity', [empty], {}, `with_past/${n}`), 'float32');
  }
  const noPast = g.subgraph('no_past'); // use_cache_branch = false (first step)
  {
    const kv = encoderKv(noPast, ehs);
    noPast.op('Identity', [kvSums(noPast, kv)], {}, 'no_past/sums');
    noPast.output('no_past/sums', 'float32');
    for (const n of encOutNames) noPast.output(noPast.op('Identity', [kv], {}, `no_past/${n}`), 'float32');
  }
  const [sums] = g.node('If', [useCache], ['cache_sums', ...encOutNames], { then_branch: withPast, else_branch: noPast });

  // Per-item scalars as [B,1,1].
  const pick = (i: number) => g.op('Unsqueeze', [g.op('Slice', [sums!, g.i64(i), g.i64(i + 1), g.i64(1)]), g.i64(2)]);
  const cnt = pick(2);
  const presence = g.op('Min', [cnt, g.f(1)]);
  const denom = g.op('Max', [cnt, g.f(1)]);
  const L = g.op('Div', [pick(0), denom]);
  const S = g.op('Div', [pick(1), denom]);
  const w = g.op('Sigmoid', [g.op('Mul', [g.op('Sub', [S, g.f(TINY_ASR.langC)]), g.f(TINY_ASR.langK)])]);
  const nsLogit = g.op('Mul', [g.op('Sigmoid', [g.op('Mul', [g.op('Sub', [g.f(TINY_ASR.nospeechL), L]), g.f(20)])]), g.f(2 * TINY_ASR.logitScale)]);

  // Absolute positions from the decoder cache length.
  const pastLen = g.op('Gather', [g.op('Shape', ['past_key_values.0.decoder.key']), g.i64s(2)], { axis: 0 });
  const seqLen = g.op('Gather', [g.op('Shape', [ids]), g.i64s(1)], { axis: 0 });
  const pos = g.op('Range', [pastLen, g.op('Add', [pastLen, seqLen]), g.i64s(1)]);
  const posC = g.op('Min', [pos, g.i64s(TABLE_LEN - 1)]);
  const vocab = g.op('Range', [g.i64s(0), g.i64s(V), g.i64s(1)]);
  const oneHot = (table: number[]) => {
    const tok = g.op('Gather', [g.initInt64(table, [table.length]), posC], { axis: 0 });
    return g.op('Cast', [g.op('Equal', [g.op('Unsqueeze', [tok, g.i64(1)]), vocab])], { to: 1 }); // [S,V]
  };
  const zh = oneHot(padTable(ZH_SEQUENCE));
  const en = oneHot(padTable(EN_SEQUENCE));
  const junk = oneHot([...Array<number>(TABLE_LEN - 1).fill(JUNK_TOKEN), T.eot]);
  const isPos0 = g.op('Cast', [g.op('Equal', [g.op('Unsqueeze', [pos, g.i64(1)]), g.i64s(0)])], { to: 1 }); // [S,1]
  const nsOneHot = g.op('Cast', [g.op('Equal', [vocab, g.i64s(T.nospeech)])], { to: 1 }); // [V]

  const oneMinus = (v: string) => g.op('Sub', [g.f(1), v]);
  const mixed = g.op('Add', [g.op('Mul', [w, zh]), g.op('Mul', [oneMinus(w), en])]); // [B,S,V]
  const designed = g.op('Add', [g.op('Mul', [mixed, g.f(TINY_ASR.logitScale)]), g.op('Mul', [g.op('Mul', [isPos0, nsOneHot]), nsLogit])]);
  const junkLogits = g.op('Mul', [junk, g.f(TINY_ASR.logitScale)]);
  g.op('Add', [g.op('Mul', [presence, designed]), g.op('Mul', [oneMinus(presence), junkLogits])], {}, 'logits');

  // Self-attention cache: new rows derived from the token ids, appended to the past.
  const idsF = g.op('Unsqueeze', [g.op('Div', [g.op('Cast', [ids], { to: 1 }), g.f(V)]), g.i64(1, 3)]); // [B,1,S,1]
  for (let l = 0; l < NL; l++) {
    ['key', 'value'].forEach((t, k) => {
      const proj = g.initFloat(seededMatrix(1000 + 10 * l + k, 1, H * Dh), [1, H, 1, Dh]);
      const rows = g.op('Mul', [idsF, proj]);
      g.op('Concat', [`past_key_values.${l}.decoder.${t}`, rows], { axis: 2 }, `present.${l}.decoder.${t}`);
    });
  }

  g.output('logits', 'float32', ['batch_size', 'decoder_sequence_length', V]);
  for (let l = 0; l < NL; l++) {
    for (const side of ['decoder', 'encoder'] as const) {
      const len = side === 'decoder' ? 'past_decoder_sequence_length + 1' : 'encoder_sequence_length_out';
      for (const t of ['key', 'value']) g.output(`present.${l}.${side}.${t}`, 'float32', ['batch_size', H, len, Dh]);
    }
  }
  return new ModelBuilder(g, { docString: 'OmniAffect tiny Whisper merged decoder (designed behaviour in tiny-pack.json)' });
}

function b64(bytes: number[]): string {
  return Buffer.from(bytes).toString('base64');
}

/** Sparse multilingual.tiktoken: only the ranks the tiny decoder emits, with their real bytes. */
export function tinyTiktoken(): string {
  return [...TINY_ASR_TEXT_TOKENS]
    .sort((a, b) => a.rank - b.rank)
    .map((t) => `${b64(t.bytes)} ${t.rank}\n`)
    .join('');
}

export function tinyGenerationConfig(): Record<string, unknown> {
  return {
    decoder_start_token_id: T.sot,
    bos_token_id: T.eot,
    eos_token_id: T.eot,
    pad_token_id: T.eot,
    begin_suppress_tokens: [220, T.eot],
    // A short, real-looking list that deliberately contains none of the designed tokens.
    suppress_tokens: [1, 2, 7, 8, 9, 10, 14, 25, 26, 27, 28, 29, 31, 58, 59, 60, 61, 62, 63, 90, 91, 92, 93, 50359, 50361, 50362],
    lang_to_id: { '<|en|>': T.en, '<|zh|>': T.zh },
    task_to_id: { translate: T.translate, transcribe: T.transcribe },
    no_timestamps_token_id: T.notimestamps,
    prev_sot_token_id: 50362,
    is_multilingual: true,
    max_initial_timestamp_index: 50,
    max_length: 448,
  };
}

export function tinyAsrConfig(): Record<string, unknown> {
  return {
    model_type: 'whisper',
    architectures: ['WhisperForConditionalGeneration'],
    d_model: TINY_ASR.dModel,
    encoder_layers: 1,
    decoder_layers: TINY_ASR.decoderLayers,
    encoder_attention_heads: TINY_ASR.heads,
    decoder_attention_heads: TINY_ASR.heads,
    num_mel_bins: 128,
    vocab_size: WHISPER_VOCAB_SIZE,
    max_source_positions: TINY_ASR.encoderFrames,
    max_target_positions: 448,
    decoder_start_token_id: T.sot,
    eos_token_id: T.eot,
    pad_token_id: T.eot,
    bos_token_id: T.eot,
  };
}
