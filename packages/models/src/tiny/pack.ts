/**
 * Writes the complete tiny model directory (one subdirectory per worker, laid out like the real exports)
 * and `tiny-pack.json`, the machine-readable statement of what each model was designed to do, which
 * tests and the demo assert on.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMOTION_LABELS, SENTIMENT_LABELS, TINY_PACK_FILE } from '@omniaffect/core';
import {
  EN_SEQUENCE,
  EN_TEXT,
  JUNK_TOKEN,
  TINY_ASR,
  TINY_ASR_TEXT_TOKENS,
  TOKENS,
  ZH_SEQUENCE,
  ZH_TEXT,
  buildTinyAsrDecoder,
  buildTinyAsrEncoder,
  tinyAsrConfig,
  tinyGenerationConfig,
  tinyTiktoken,
} from './asr';
import { EMOTION2VEC_CONV_LAYERS } from '../runners/emotion2vec';
import { EMOTION2VEC_TOKENS, TINY_AUDIO, buildTinyAudioEmotion, tinyEmotionHead } from './audio-emotion';
import { TINY_VISION, buildTinyVision } from './vision';
import { BERT_SPECIAL_IDS, TEXT_EN, TEXT_ZH, TINY_TEXT_DIM, buildTinyText, tinyTokenizerConfig, tinyTokenizerJson, tinyVocab, type TinyTextSpec } from './text';
import { TINY_FUSION_DIM, TINY_FUSION_GATE_BIAS, buildTinyFusion, tinyFusionManifest } from './fusion';

export const TINY_PACK_VERSION = '1';

/** Subdirectory per worker kind; `MODEL_DIR/<subdir>` is what each worker loads. */
export const TINY_PACK_DIRS = {
  asr: 'asr',
  audioEmotion: 'audio-emotion',
  vision: 'vision',
  textEn: 'text-en',
  textZh: 'text-zh',
  fusion: 'fusion',
} as const;

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

function writeText(dir: string, spec: TinyTextSpec): void {
  buildTinyText(spec).save(join(dir, 'onnx', 'model.onnx'));
  writeJson(join(dir, 'tokenizer.json'), tinyTokenizerJson(spec));
  writeJson(join(dir, 'tokenizer_config.json'), tinyTokenizerConfig(spec));
  writeFileSync(join(dir, 'vocab.txt'), tinyVocab(spec).join('\n') + '\n');
  writeJson(join(dir, 'config.json'), {
    model_type: spec.withTokenTypes ? 'bert' : 'xlm-roberta',
    hidden_size: TINY_TEXT_DIM,
    vocab_size: tinyVocab(spec).length,
    max_position_embeddings: 512,
    type_vocab_size: spec.withTokenTypes ? 2 : 1,
    pad_token_id: 0,
  });
}

function textDescription(spec: TinyTextSpec) {
  const vocab = tinyVocab(spec);
  const planted = Object.fromEntries(Object.entries(spec.planted).map(([w, [polarity, intensity]]) => [w, { id: vocab.indexOf(w), polarity, intensity }]));
  return {
    files: ['onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'config.json'],
    inputs: spec.withTokenTypes ? ['input_ids', 'attention_mask', 'token_type_ids'] : ['input_ids', 'attention_mask'],
    hidden: TINY_TEXT_DIM,
    vocabSize: vocab.length,
    lowercase: spec.lowercase,
    specialIds: BERT_SPECIAL_IDS,
    firstWordId: 104,
    behaviour:
      'last_hidden_state = (seeded embedding row of the id + 0.05-scale seeded position term' +
      (spec.withTokenTypes ? ' + 0.05-scale token-type term' : '') +
      ') × attention_mask. Channel 0 = polarity of planted sentiment words (+ positive, − negative, 0 for every other token, ' +
      'position and type terms are 0 there); channel 1 = planted intensity (0 otherwise). Mean of channel 0 over real tokens = sentence polarity.',
    channels: { polarity: 0, intensity: 1 },
    planted,
    note: spec.withTokenTypes
      ? 'BERT-like: the session lists token_type_ids'
      : 'XLM-R-like input list (no token_type_ids) with a BERT WordPiece tokenizer: exercises "feed only what the session lists"; CJK characters are one token each',
  };
}

export interface TinyPackDescription {
  version: string;
  generator: string;
  deterministic: true;
  dirs: typeof TINY_PACK_DIRS;
  models: Record<string, unknown>;
}

export function describeTinyPack(): TinyPackDescription {
  const tokenBytes = Object.fromEntries(TINY_ASR_TEXT_TOKENS.map((t) => [String(t.rank), { hex: Buffer.from(t.bytes).toString('hex'), text: t.note }]));
  return {
    version: TINY_PACK_VERSION,
    generator: '@omniaffect/models buildTinyPack',
    deterministic: true,
    dirs: TINY_PACK_DIRS,
    models: {
      asr: {
        files: ['onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx', 'generation_config.json', 'config.json', 'multilingual.tiktoken'],
        dims: { dModel: TINY_ASR.dModel, heads: TINY_ASR.heads, headDim: TINY_ASR.headDim, decoderLayers: TINY_ASR.decoderLayers, vocab: 51866 },
        encoder: {
          behaviour: 'every one of the 1500 rows is the same per-item vector',
          channels: {
            loudness: { channel: 0, definition: 'L = max over input_features (silence −1.5, speech ≳ 0.5)' },
            language: { channel: 1, definition: 'S = mean(features[:, 0:40, :]) − mean(features[:, 40:128, :])' },
            presence: { channel: 2, definition: '1.0' },
            mean: { channel: 3, definition: 'mean over input_features' },
            zero: [4, 5, 6, 7],
          },
        },
        decoder: {
          position: 'p = past decoder length (dim 2 of past_key_values.0.decoder.key) + index in input_ids; logits[p] designed for the token at p+1',
          languageMix: {
            formula: 'w = sigmoid(K·(S − C)); logits = 10·(w·onehot(zh[p]) + (1−w)·onehot(en[p])); zh when w > 0.5',
            C: TINY_ASR.langC,
            K: TINY_ASR.langK,
            calibration:
              'S is averaged over the whole 30 s window, so speech is diluted by its duration. Measured with the Whisper log-mel front end: ' +
              '1 s of 200 Hz voicing (+400, 600 Hz harmonics) S ≈ 0.025 → zh; 0.5 s of a 250 Hz sine S ≈ 0.011 → zh; ' +
              '1 s of 200 Hz + strong 2 kHz and 3 kHz S ≈ 0.003 → en; 1 s of 1.5 kHz S ≈ −0.008 → en; white noise → en. ' +
              'zh needs roughly ≥ 0.5 s of 200–400 Hz-dominated voicing.',
          },
          nospeech: {
            token: TOKENS.nospeech,
            rule: 'at position 0 only: logit 20·sigmoid(20·(−1.0 − L)); dominates (20 > 10) when L < −1.0, e.g. all-silent features (−1.5)',
          },
          sequences: {
            zh: { tokens: ZH_SEQUENCE, text: ZH_TEXT, note: '， is three byte tokens (171,120,234); 世 is split into 940 (e4 b8) + 244 (96)' },
            en: { tokens: EN_SEQUENCE, text: EN_TEXT },
            afterTable: 'positions past the table emit eot 50257',
          },
          prompts: {
            languageDetection: 'feed [50258]: logits[0] ranks <|zh|> 50260 vs <|en|> 50259 (and <|nospeech|> 50363)',
            forcedNoTimestamps: 'feed [50258, lang, 50360, 50364]: the last position (p=3) gives the first text token; <|1.00|> 50415 then eot follow the text',
          },
          cacheBranch:
            'use_cache_branch=true reads L, S and presence (sums over past_key_values.0.encoder.key head 0, channels 0..2, divided by the row count) ' +
            'from the PAST ENCODER KV; presents present.*.encoder.* are empty [0,2,1,4] there. A loop that drops the step-0 encoder cache ' +
            `(zero-length or all-zero past encoder KV) gets presence 0 and emits junk token ${JUNK_TOKEN} ("!") at every position until the table ends.`,
          encoderPresentsStep0: 'present.{L}.encoder.{key,value} = encoder_hidden_states viewed as [B,2,1500,4]',
          decoderPresents: 'present.{L}.decoder.* = concat(past, rows derived from input_ids) along axis 2',
        },
        tokenBytes,
        tiktoken: 'sparse: only the ranks above, with their real multilingual.tiktoken bytes',
        generationConfig: 'suppress_tokens deliberately excludes every designed token; begin_suppress_tokens [220, 50257]',
      },
      'audio-emotion': {
        files: ['model.onnx', 'head.json', 'tokens.txt'],
        dim: TINY_AUDIO.dim,
        normalisation: 'in graph: utterance layer-norm over the whole input (no affine, eps 1e-5), as in the official FunASR export; feed the raw waveform',
        convLayers: EMOTION2VEC_CONV_LAYERS,
        frames: { 400: 1, 16000: 49, 32000: 99, 48000: 149, 480000: 1499 },
        channels: {
          pitch: {
            channel: 0,
            definition: `tanh(2·tanh(${TINY_AUDIO.zcrGain}·(zcr − ${TINY_AUDIO.zcrCenter}))), zcr = zero-crossing rate per sample of the normalised waveform averaged by the conv stack; 200 Hz sine → 0, higher pitch → positive`,
          },
          loudness: {
            channel: 1,
            definition: `tanh(2·tanh(${TINY_AUDIO.loudGain}·(log10(power) − (${TINY_AUDIO.log10PowerCenter})))), power of the RAW (pre-norm) waveform; sine amplitude ≈ 0.32 → 0, louder → positive`,
          },
          others: 'channels 2..31 = tanh of a fixed seeded projection of (pitch, loudness, 1)',
        },
        head: {
          order: EMOTION2VEC_TOKENS,
          rule: 'logits = weight · mean_T(output) + bias; angry = 3·loud + 0.5; happy = 3·pitch − loud; sad = −3·pitch − 0.5·loud; neutral = 1; others ≤ −2',
          expected: {
            'loud (amplitude 0.8), any pitch': 'angry',
            'quiet (amplitude 0.1), 300 Hz': 'happy',
            'quiet (amplitude 0.1), 120 Hz': 'sad',
            'amplitude ≈ 0.3, 200 Hz': 'neutral',
          },
        },
      },
      vision: {
        files: ['onnx/vision_model.onnx'],
        dim: TINY_VISION.dim,
        behaviour:
          'pooler_output = tanh(meanRGB·W + b) over the whole frame; last_hidden_state row k = the same map on the mean of 16×16 patch k (row-major 14×14)',
        channels: {
          red: 0,
          green: 1,
          blue: 2,
          definition: 'channel c = tanh(2·mean of colour plane c) (pixel_values in [−1, 1]); channels 3..31 fixed seeded',
        },
      },
      'text-en': textDescription(TEXT_EN),
      'text-zh': textDescription(TEXT_ZH),
      fusion: {
        files: ['fusion.onnx', 'fusion.json'],
        dims: { text: TINY_FUSION_DIM, audio: TINY_FUSION_DIM, vision: TINY_FUSION_DIM },
        behaviour: {
          importance:
            'masked softmax over items of (fixed score vector · item); score weight 3 on channel 1 for text and audio (planted intensity, loudness), small seeded elsewhere; masked items exactly 0',
          modalityWeights: `softmax over present modalities of gate = pooled·g_m + bias_m, bias (text, audio, vision) = ${JSON.stringify(TINY_FUSION_GATE_BIAS)}, g_m has 1 on channel 1; absent modalities exactly 0; all absent → all 0`,
          fused: 'Σ weight·pooled',
          sentiment: `${JSON.stringify(SENTIMENT_LABELS)} logits ≈ (−2·f0, 0.3 − 0.5·f1, 2·f0) + small seeded terms`,
          emotion: `${JSON.stringify(EMOTION_LABELS)} logits ≈ happy 2·f0, sad −2·f0, angry 2·f1 − 0.5·f0, surprised 0.5·f1 − 1, fearful/disgusted −1, neutral 0.5 − f1 (+ small seeded terms)`,
          intensity: 'tanh(1.5·f0 + small seeded terms)',
          value: '0.5·f1 + small seeded terms',
        },
        absentModality: 'feed one all-zero item with mask 0 and modality_mask 0',
      },
    },
  };
}

/** Builds every tiny model into `outDir` (created if needed); returns the description it wrote. */
export function buildTinyPack(outDir: string): TinyPackDescription {
  mkdirSync(outDir, { recursive: true });
  const d = TINY_PACK_DIRS;

  const asr = join(outDir, d.asr);
  buildTinyAsrEncoder().save(join(asr, 'onnx', 'encoder_model.onnx'));
  buildTinyAsrDecoder().save(join(asr, 'onnx', 'decoder_model_merged.onnx'));
  writeJson(join(asr, 'generation_config.json'), tinyGenerationConfig());
  writeJson(join(asr, 'config.json'), tinyAsrConfig());
  writeFileSync(join(asr, 'multilingual.tiktoken'), tinyTiktoken());

  const audio = join(outDir, d.audioEmotion);
  buildTinyAudioEmotion().save(join(audio, 'model.onnx'));
  writeJson(join(audio, 'head.json'), tinyEmotionHead());
  writeFileSync(join(audio, 'tokens.txt'), EMOTION2VEC_TOKENS.join('\n') + '\n');

  buildTinyVision().save(join(outDir, d.vision, 'onnx', 'vision_model.onnx'));
  writeText(join(outDir, d.textEn), TEXT_EN);
  writeText(join(outDir, d.textZh), TEXT_ZH);

  const fusion = join(outDir, d.fusion);
  buildTinyFusion().save(join(fusion, 'fusion.onnx'));
  writeJson(join(fusion, 'fusion.json'), tinyFusionManifest());

  const description = describeTinyPack();
  writeJson(join(outDir, TINY_PACK_FILE), description);
  return description;
}
