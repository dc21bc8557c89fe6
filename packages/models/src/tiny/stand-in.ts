/**
 * Stand-in encoders with the REAL output dimensions (768 for emotion2vec base, SigLIP base and BERT
 * base): the tiny models with a fixed linear widening appended, plus a SigLIP text tower and a Unigram
 * tokenizer.json. They exist so that what depends on the real sizes (the zero-shot fusion graph, the
 * fusion service's dimension checks, payload sizes through the stack) can be tested without weights.
 *
 * The widening keeps each tiny model's designed behaviour: the first 32 channels are copied unchanged
 * (so the planted channels and the tiny emotion head still mean what tiny-pack.json says), and the
 * other channels are fixed seeded mixtures of those 32 (so no channel is dead and cosine similarities
 * are computed over all of them, as with a real encoder).
 *
 * The directory is marked with `stand-in-pack.json`; `isTinyPackDir` counts it as stand-ins too, so
 * nothing computed on it is presented as a real prediction.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { EMOTION_WORDS, STAND_IN_PACK_FILE } from '@omniaffect/core';
import { EMOTION2VEC_TOKENS, buildTinyAudioEmotion, tinyEmotionHead } from './audio-emotion';
import { buildTinyAsrDecoder, buildTinyAsrEncoder, tinyAsrConfig, tinyGenerationConfig, tinyTiktoken } from './asr';
import { TEXT_EN, TEXT_ZH, TINY_TEXT_DIM, buildTinyText, tinyTokenizerConfig, tinyTokenizerJson, tinyVocab, type TinyTextSpec } from './text';
import { TINY_VISION, buildTinyVision } from './vision';
import { GraphBuilder, ModelBuilder, floatTensor } from '../onnx-builder';
import { seededMatrix } from './seeded';

export { STAND_IN_PACK_FILE };

export interface StandInDims {
  audio: number;
  vision: number;
  text: number;
}

/** emotion2vec+ base, SigLIP base-patch16-224, BERT base: the standard pack's embedding sizes. */
export const REAL_ENCODER_DIMS: StandInDims = { audio: 768, vision: 768, text: 768 };

/** SigLIP's text tower is trained on inputs padded to exactly 64 tokens (config text_config.max_position_embeddings). */
export const SIGLIP_TEXT_LENGTH = 64;

/** [narrow, dim]: identity on the first `narrow` columns, seeded mixtures (±0.1) elsewhere. */
function wideningMatrix(narrow: number, dim: number, seed: number): Float32Array {
  if (dim < narrow) throw new Error(`cannot widen ${narrow} channels to ${dim}`);
  const m = seededMatrix(seed, narrow, dim, 0.1);
  for (let r = 0; r < narrow; r++) for (let c = 0; c < narrow; c++) m[r * dim + c] = r === c ? 1 : 0;
  return m;
}

/**
 * Appends `out = narrowOut · P` for each named graph output, P from `wideningMatrix`, and declares the
 * output's last axis as `dim`. The graph's original producer now writes `<name>/narrow`.
 */
export function widenGraphOutputs(model: onnx.ModelProto, outputs: string[], narrow: number, dim: number, seed: number): onnx.ModelProto {
  const graph = model.graph!;
  const P = `omniaffect_widen_${dim}`;
  graph.initializer!.push(onnx.TensorProto.create(floatTensor(P, wideningMatrix(narrow, dim, seed), [narrow, dim])));
  for (const name of outputs) {
    const inner = `${name}/narrow`;
    let found = false;
    for (const n of graph.node!) {
      n.output = n.output!.map((o) => {
        if (o !== name) return o;
        found = true;
        return inner;
      });
      n.input = n.input!.map((i) => (i === name ? inner : i));
    }
    if (!found) throw new Error(`graph has no node producing ${name}`);
    graph.node!.push(onnx.NodeProto.create({ opType: 'MatMul', name: `${name}/widen`, input: [inner, P], output: [name] }));
    const vi = graph.output!.find((o) => o.name === name);
    const dims = vi?.type?.tensorType?.shape?.dim;
    if (!dims?.length) throw new Error(`output ${name} has no declared shape`);
    dims[dims.length - 1] = onnx.TensorShapeProto.Dimension.create({ dimValue: dim });
  }
  return model;
}

function widened(builder: ModelBuilder, outputs: string[], narrow: number, dim: number, seed: number): Buffer {
  const m = widenGraphOutputs(builder.toProto(), outputs, narrow, dim, seed);
  return Buffer.from(onnx.ModelProto.encode(m).finish());
}

/** The shared emotion words in alphabetical order of the emotion: the order fixes the stand-in's vocabulary rows. */
const STAND_IN_EMOTION_WORDS = Object.fromEntries(
  Object.keys(EMOTION_WORDS)
    .sort()
    .map((e) => [e, EMOTION_WORDS[e as keyof typeof EMOTION_WORDS]]),
);

const FILLER_WORDS = ['a', 'an', 'the', 'photo', 'of', 'face', 'person', 'who', 'looks', 'with', 'expression'];
const FILLER_CHARS = [...new Set([...'一张的脸照片个看起来人表情'])];

export interface SiglipTextStandIn {
  model: ModelBuilder;
  tokenizer: Record<string, unknown>;
  /** vocabulary pieces in id order */
  pieces: string[];
}

/**
 * SigLIP text tower stand-in: `input_ids i64[batch_size,sequence_length]` → `pooler_output f32[B,D]` =
 * (Σ over positions of an embedding row) · W, with the pad row zero, so padding to 64 changes nothing.
 * Rows of emotion words are 4× larger than other rows, and a Chinese emotion word's two characters
 * each carry half of its English word's row: prompts of one emotion cluster across both languages, as
 * they would with an encoder that has seen both (the real base SigLIP is English-only; see zero-shot).
 */
export function buildSiglipTextStandIn(dim: number): SiglipTextStandIn {
  const pieces: string[] = [];
  const scores: number[] = [];
  const add = (piece: string, score: number) => {
    if (pieces.includes(piece)) return;
    pieces.push(piece);
    scores.push(score);
  };
  for (const p of ['<pad>', '</s>', '<unk>']) add(p, 0);
  add('▁', -2);
  for (const w of FILLER_WORDS) add(`▁${w}`, -1);
  for (const { en } of Object.values(STAND_IN_EMOTION_WORDS)) add(`▁${en}`, -1);
  for (const c of FILLER_CHARS) add(c, -1.5);
  for (const { zh } of Object.values(STAND_IN_EMOTION_WORDS)) for (const c of zh) add(c, -1.5);
  for (const c of 'abcdefghijklmnopqrstuvwxyz') add(c, -5);
  const V = pieces.length;
  const E = seededMatrix(7101, V, dim, 0.3);
  E.fill(0, 0, dim); // <pad>
  for (const { en, zh } of Object.values(STAND_IN_EMOTION_WORDS)) {
    const row = pieces.indexOf(`▁${en}`);
    for (let d = 0; d < dim; d++) E[row * dim + d] = E[row * dim + d]! * 4;
    for (const c of zh) {
      const cr = pieces.indexOf(c);
      for (let d = 0; d < dim; d++) E[cr * dim + d] = E[row * dim + d]! / 2;
    }
  }
  const g = new GraphBuilder('stand_in_siglip_text');
  const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const rows = g.op('Gather', [g.initFloat(E, [V, dim]), ids], { axis: 0 });
  g.op(
    'MatMul',
    [g.op('ReduceSum', [rows, g.i64(1)], { keepdims: 0 }), g.initFloat(seededMatrix(7102, dim, dim, 1 / Math.sqrt(dim)), [dim, dim])],
    {},
    'pooler_output',
  );
  g.op('Identity', [rows], {}, 'last_hidden_state');
  g.output('last_hidden_state', 'float32', ['batch_size', 'sequence_length', dim]);
  g.output('pooler_output', 'float32', ['batch_size', dim]);
  const tokenizer = {
    version: '1.0',
    added_tokens: ['<pad>', '</s>', '<unk>'].map((content, id) => ({
      id,
      content,
      special: true,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
    })),
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [],
      special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
    },
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 2, vocab: pieces.map((p, i) => [p, scores[i]]), byte_fallback: false },
  };
  return { model: new ModelBuilder(g, { docString: 'OmniAffect SigLIP text-tower stand-in (stand-in-pack.json)' }), tokenizer, pieces };
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

function writeStandInText(dir: string, spec: TinyTextSpec, dim: number): void {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'onnx', 'model.onnx'), widened(buildTinyText(spec), ['last_hidden_state'], TINY_TEXT_DIM, dim, spec.seed + 900));
  writeJson(join(dir, 'tokenizer.json'), tinyTokenizerJson(spec));
  writeJson(join(dir, 'tokenizer_config.json'), tinyTokenizerConfig(spec));
  writeFileSync(join(dir, 'vocab.txt'), tinyVocab(spec).join('\n') + '\n');
  writeJson(join(dir, 'config.json'), {
    model_type: spec.withTokenTypes ? 'bert' : 'xlm-roberta',
    hidden_size: dim,
    vocab_size: tinyVocab(spec).length,
    max_position_embeddings: 512,
  });
}

export interface StandInPackDescription {
  kind: 'stand-in';
  dims: StandInDims;
  note: string;
  dirs: string[];
}

/**
 * Writes a MODEL_DIR of stand-ins with real dimensions: asr (the tiny Whisper pair: its output does
 * not reach fusion, so its width does not matter there), audio-emotion (+ head.json 9×D, tokens.txt),
 * vision (vision_model + text_model + tokenizer.json + config.json), text-en, text-zh. No fusion/:
 * that is what `train --zero-shot` builds.
 */
export function buildStandInPack(outDir: string, dims: StandInDims = REAL_ENCODER_DIMS): StandInPackDescription {
  mkdirSync(outDir, { recursive: true });
  const asr = join(outDir, 'asr');
  buildTinyAsrEncoder().save(join(asr, 'onnx', 'encoder_model.onnx'));
  buildTinyAsrDecoder().save(join(asr, 'onnx', 'decoder_model_merged.onnx'));
  writeJson(join(asr, 'generation_config.json'), tinyGenerationConfig());
  writeJson(join(asr, 'config.json'), tinyAsrConfig());
  writeFileSync(join(asr, 'multilingual.tiktoken'), tinyTiktoken());

  const audio = join(outDir, 'audio-emotion');
  mkdirSync(audio, { recursive: true });
  const narrowAudio = 32;
  writeFileSync(join(audio, 'model.onnx'), widened(buildTinyAudioEmotion(), ['output'], narrowAudio, dims.audio, 7201));
  const head = tinyEmotionHead();
  // The widened channels get zero weight, so the 9 logits equal the tiny head's on the copied channels.
  writeJson(join(audio, 'head.json'), { weight: head.weight.map((r) => [...r, ...new Array<number>(dims.audio - r.length).fill(0)]), bias: head.bias });
  writeFileSync(join(audio, 'tokens.txt'), EMOTION2VEC_TOKENS.join('\n') + '\n');

  const vision = join(outDir, 'vision');
  mkdirSync(join(vision, 'onnx'), { recursive: true });
  writeFileSync(
    join(vision, 'onnx', 'vision_model.onnx'),
    widened(buildTinyVision(), ['pooler_output', 'last_hidden_state'], TINY_VISION.dim, dims.vision, 7301),
  );
  const textTower = buildSiglipTextStandIn(dims.vision);
  textTower.model.save(join(vision, 'onnx', 'text_model.onnx'));
  writeJson(join(vision, 'tokenizer.json'), textTower.tokenizer);
  writeJson(join(vision, 'tokenizer_config.json'), {
    tokenizer_class: 'SiglipTokenizer',
    pad_token: '<pad>',
    eos_token: '</s>',
    unk_token: '<unk>',
    model_max_length: SIGLIP_TEXT_LENGTH,
  });
  writeJson(join(vision, 'config.json'), {
    model_type: 'siglip',
    text_config: { hidden_size: dims.vision, max_position_embeddings: SIGLIP_TEXT_LENGTH, pad_token_id: 0 },
    vision_config: { hidden_size: dims.vision, image_size: 224, patch_size: 16 },
  });

  writeStandInText(join(outDir, 'text-en'), TEXT_EN, dims.text);
  writeStandInText(join(outDir, 'text-zh'), TEXT_ZH, dims.text);

  const description: StandInPackDescription = {
    kind: 'stand-in',
    dims,
    note: 'tiny stand-in models widened to the real encoder dimensions (first 32 channels = the tiny models, see tiny-pack.json semantics); not real encoders',
    dirs: ['asr', 'audio-emotion', 'vision', 'text-en', 'text-zh'],
  };
  writeJson(join(outDir, STAND_IN_PACK_FILE), description);
  return description;
}
