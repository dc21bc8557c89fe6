/**
 * The I/O contract of every model OmniAffect loads (docs/model-contracts.md §8) and the file
 * layout of a model directory per kind. Workers and `verifyModelDir` check sessions against this one
 * table; the tiny-model builder produces graphs that satisfy it.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DTYPE_SUFFIX, readOmniaffectConfig } from './runners/model-files';
import { FUSION_INPUTS, FUSION_OUTPUTS, type TensorSpec } from '@omniaffect/core';

/** One ONNX graph's role. */
export type ContractKind = 'asr-encoder' | 'asr-decoder' | 'audio-emotion' | 'vision' | 'text' | 'fusion';
/** One model directory's kind (the asr directory holds two graphs). */
export type ModelDirKind = 'asr' | 'audio-emotion' | 'vision' | 'text' | 'fusion';

export const MODEL_DIR_KINDS: readonly ModelDirKind[] = ['asr', 'audio-emotion', 'vision', 'text', 'fusion'];

export type TensorType = 'float32' | 'int64' | 'bool';

export interface TensorContract {
  name: string;
  type: TensorType;
  rank: number;
  /** axis → required size; a symbolic axis reported by ORT is accepted for these */
  fixed?: Record<number, number>;
  /** may be absent from the session (e.g. BERT token_type_ids on XLM-R exports) */
  optional?: boolean;
}

export interface ModelContract {
  kind: ContractKind;
  inputs: TensorContract[];
  outputs: TensorContract[];
}

export const WHISPER_VOCAB_SIZE = 51866;
export const WHISPER_MEL_BINS = 128;
export const WHISPER_FRAMES = 3000;
export const WHISPER_ENCODER_FRAMES = 1500;
export const SIGLIP_IMAGE_SIZE = 224;
export const SIGLIP_PATCHES = 196;
export const EMOTION2VEC_LABEL_COUNT = 9;

function fromFusionSpec(spec: TensorSpec): TensorContract {
  const fixed: Record<number, number> = {};
  spec.shape.forEach((d, i) => {
    if (typeof d === 'number') fixed[i] = d;
  });
  return { name: spec.name, type: spec.type, rank: spec.shape.length, fixed };
}

/** Decoder contract without the KV-cache family (see `decoderCacheContracts`). */
const DECODER_BASE: ModelContract = {
  kind: 'asr-decoder',
  inputs: [
    { name: 'input_ids', type: 'int64', rank: 2 },
    { name: 'encoder_hidden_states', type: 'float32', rank: 3 },
    { name: 'use_cache_branch', type: 'bool', rank: 1, fixed: { 0: 1 } },
  ],
  outputs: [{ name: 'logits', type: 'float32', rank: 3, fixed: { 2: WHISPER_VOCAB_SIZE } }],
};

export const CONTRACTS: Record<ContractKind, ModelContract> = {
  'asr-encoder': {
    kind: 'asr-encoder',
    inputs: [
      {
        name: 'input_features',
        type: 'float32',
        rank: 3,
        fixed: { 1: WHISPER_MEL_BINS, 2: WHISPER_FRAMES },
      },
    ],
    outputs: [{ name: 'last_hidden_state', type: 'float32', rank: 3, fixed: { 1: WHISPER_ENCODER_FRAMES } }],
  },
  'asr-decoder': DECODER_BASE,
  'audio-emotion': {
    kind: 'audio-emotion',
    inputs: [{ name: 'input', type: 'float32', rank: 2 }],
    outputs: [{ name: 'output', type: 'float32', rank: 3 }],
  },
  vision: {
    kind: 'vision',
    inputs: [
      {
        name: 'pixel_values',
        type: 'float32',
        rank: 4,
        fixed: { 1: 3, 2: SIGLIP_IMAGE_SIZE, 3: SIGLIP_IMAGE_SIZE },
      },
    ],
    outputs: [
      { name: 'pooler_output', type: 'float32', rank: 2 },
      { name: 'last_hidden_state', type: 'float32', rank: 3, fixed: { 1: SIGLIP_PATCHES }, optional: true },
    ],
  },
  text: {
    kind: 'text',
    inputs: [
      { name: 'input_ids', type: 'int64', rank: 2 },
      { name: 'attention_mask', type: 'int64', rank: 2 },
      { name: 'token_type_ids', type: 'int64', rank: 2, optional: true },
    ],
    outputs: [{ name: 'last_hidden_state', type: 'float32', rank: 3 }],
  },
  fusion: {
    kind: 'fusion',
    inputs: FUSION_INPUTS.map(fromFusionSpec),
    outputs: FUSION_OUTPUTS.map(fromFusionSpec),
  },
};

// ---------------------------------------------------------------------------------------------
// Whisper merged-decoder KV cache: names come from the session, so any layer count works.

export type CacheSide = 'decoder' | 'encoder';
export type CacheTensor = 'key' | 'value';

export interface DecoderCacheNames {
  layers: number;
  /** past_key_values.{L}.{side}.{key|value}, ordered by layer, side, tensor */
  past: string[];
  /** present.{L}.{side}.{key|value}, same order as `past` */
  present: string[];
}

const PAST_RE = /^past_key_values\.(\d+)\.(decoder|encoder)\.(key|value)$/;
const PRESENT_RE = /^present\.(\d+)\.(decoder|encoder)\.(key|value)$/;

export function pastName(layer: number, side: CacheSide, t: CacheTensor): string {
  return `past_key_values.${layer}.${side}.${t}`;
}
export function presentName(layer: number, side: CacheSide, t: CacheTensor): string {
  return `present.${layer}.${side}.${t}`;
}

function layersIn(names: readonly string[], re: RegExp): Set<number> {
  const out = new Set<number>();
  for (const n of names) {
    const m = re.exec(n);
    if (m) out.add(Number(m[1]));
  }
  return out;
}

/** Number of decoder layers named by a list of `past_key_values.*` (or `present.*`) names. */
export function countCacheLayers(names: readonly string[], kind: 'past' | 'present' = 'past'): number {
  const layers = layersIn(names, kind === 'past' ? PAST_RE : PRESENT_RE);
  return layers.size === 0 ? 0 : Math.max(...layers) + 1;
}

/** Full past/present name lists for `layers` layers (the order a decoding loop feeds them in). */
export function decoderCacheNames(layers: number): DecoderCacheNames {
  const past: string[] = [];
  const present: string[] = [];
  for (let l = 0; l < layers; l++) {
    for (const side of ['decoder', 'encoder'] as const) {
      for (const t of ['key', 'value'] as const) {
        past.push(pastName(l, side, t));
        present.push(presentName(l, side, t));
      }
    }
  }
  return { layers, past, present };
}

/** Derives the cache names from a session's input and output names; throws when they disagree. */
export function decoderCacheNamesFromSession(inputNames: readonly string[], outputNames: readonly string[]): DecoderCacheNames {
  const pastLayers = countCacheLayers(inputNames, 'past');
  const presentLayers = countCacheLayers(outputNames, 'present');
  if (pastLayers === 0) throw new Error('decoder lists no past_key_values.* inputs: not a merged decoder with cache');
  if (pastLayers !== presentLayers) {
    throw new Error(`decoder layer counts differ: ${pastLayers} past_key_values layers, ${presentLayers} present layers`);
  }
  return decoderCacheNames(pastLayers);
}

/** The KV-cache part of the decoder contract for `layers` layers (rank-4 float32 tensors). */
export function decoderCacheContracts(layers: number): { inputs: TensorContract[]; outputs: TensorContract[] } {
  const names = decoderCacheNames(layers);
  return {
    inputs: names.past.map((name) => ({ name, type: 'float32', rank: 4 })),
    outputs: names.present.map((name) => ({ name, type: 'float32', rank: 4 })),
  };
}

/** Decoder contract expanded to `layers` layers. */
export function decoderContract(layers: number): ModelContract {
  const cache = decoderCacheContracts(layers);
  return {
    kind: 'asr-decoder',
    inputs: [...DECODER_BASE.inputs.slice(0, 2), ...cache.inputs, DECODER_BASE.inputs[2]!],
    outputs: [...DECODER_BASE.outputs, ...cache.outputs],
  };
}

// ---------------------------------------------------------------------------------------------
// Model directory layouts.

/** One required file with accepted alternatives (first existing wins), or an optional one. */
export interface LayoutEntry {
  /** stable key callers use to find the resolved path (e.g. 'decoder', 'tokenizer') */
  key: string;
  /** accepted relative paths, in order of preference */
  candidates: string[];
  optional?: boolean;
  /** the ONNX graph role when this entry is a model file */
  graph?: ContractKind;
  description: string;
}

export const MODEL_DIR_LAYOUTS: Record<ModelDirKind, LayoutEntry[]> = {
  asr: [
    { key: 'encoder', candidates: ['onnx/encoder_model.onnx'], graph: 'asr-encoder', description: 'Whisper encoder' },
    {
      key: 'decoder',
      candidates: ['onnx/decoder_model_merged.onnx'],
      graph: 'asr-decoder',
      description: 'Whisper merged decoder (single If on use_cache_branch)',
    },
    { key: 'generationConfig', candidates: ['generation_config.json'], description: 'token ids and suppression lists' },
    {
      key: 'tokenizer',
      candidates: ['tokenizer.json', 'multilingual.tiktoken'],
      description: 'byte-level BPE vocabulary (HF tokenizer.json or tiktoken ranks)',
    },
    { key: 'config', candidates: ['config.json'], optional: true, description: 'model dimensions' },
  ],
  'audio-emotion': [
    {
      key: 'model',
      candidates: ['model.onnx', 'emotion2vec', 'emotion2vec.onnx'],
      graph: 'audio-emotion',
      description: 'emotion2vec backbone (FunASR export; the file may be named "emotion2vec" with no extension)',
    },
    { key: 'head', candidates: ['head.json'], optional: true, description: '9-class head {weight: number[9][D], bias: number[9]}' },
    { key: 'tokens', candidates: ['tokens.txt'], optional: true, description: 'label names of the 9-class head' },
  ],
  vision: [{ key: 'model', candidates: ['onnx/vision_model.onnx'], graph: 'vision', description: 'SigLIP vision tower' }],
  text: [
    {
      key: 'model',
      candidates: ['onnx/model.onnx'],
      graph: 'text',
      description: 'BERT-family feature-extraction export (last_hidden_state)',
    },
    { key: 'tokenizer', candidates: ['tokenizer.json', 'vocab.txt'], description: 'WordPiece tokenizer' },
  ],
  fusion: [
    { key: 'model', candidates: ['fusion.onnx'], graph: 'fusion', description: 'fusion policy' },
    { key: 'manifest', candidates: ['fusion.json'], description: 'FusionManifest (labels, dims, provenance)' },
  ],
};

export interface ResolvedEntry {
  key: string;
  /** absolute path when found */
  path?: string;
  /** relative path that was found, or the candidates joined with ' | ' */
  file: string;
  optional: boolean;
  graph?: ContractKind;
  found: boolean;
}

/**
 * A dtype chosen in `omniaffect.json` (what `models pull --dtype` writes, and what the runners load via
 * resolveOnnxGraph) swaps `onnx/<graph>.onnx` for its variant, so verify checks the graph that runs.
 */
function dtypeCandidates(dir: string, candidates: string[]): string[] {
  const choice = readOmniaffectConfig(dir).dtype;
  if (choice === undefined) return candidates;
  return candidates.map((c) => {
    const m = /^onnx\/(.+)\.onnx$/.exec(c);
    if (!m) return c;
    const dtype = typeof choice === 'string' ? choice : choice[m[1]!];
    const suffix = dtype === undefined ? undefined : DTYPE_SUFFIX[dtype];
    return suffix === undefined ? c : `onnx/${m[1]}${suffix}.onnx`;
  });
}

/** Looks up every layout entry of `kind` under `dir`. Missing required files have `found: false`. */
export function resolveModelDir(kind: ModelDirKind, dir: string): ResolvedEntry[] {
  return MODEL_DIR_LAYOUTS[kind].map((raw) => {
    const e = raw.graph ? { ...raw, candidates: dtypeCandidates(dir, raw.candidates) } : raw;
    const hit = e.candidates.find((c) => {
      const p = join(dir, c);
      return existsSync(p) && statSync(p).isFile();
    });
    return {
      key: e.key,
      path: hit ? join(dir, hit) : undefined,
      file: hit ?? e.candidates.join(' | '),
      optional: !!e.optional,
      graph: e.graph,
      found: !!hit,
    };
  });
}

/** Absolute path of one layout entry, or throws with the accepted names. */
export function modelFile(kind: ModelDirKind, dir: string, key: string): string {
  const entry = resolveModelDir(kind, dir).find((e) => e.key === key);
  if (!entry) throw new Error(`layout of ${kind} has no entry "${key}"`);
  if (!entry.path) throw new Error(`${kind} model directory ${dir} lacks ${entry.file}`);
  return entry.path;
}

/** Fill-mask BERT exports (e.g. Xenova/bert-base-uncased) output `logits`, not embeddings. */
export const FILL_MASK_MESSAGE =
  'this is a fill-mask (masked-LM) export: it outputs "logits" over the vocabulary, not "last_hidden_state". ' +
  'Export the encoder for feature extraction instead, e.g. `optimum-cli export onnx --model bert-base-uncased ' +
  '--task feature-extraction <dir>`, and use its onnx/model.onnx';

/** Files a `models pull` should fetch per kind for the standard public exports (fp32). */
export const DEFAULT_PULL_FILES: Record<ModelDirKind, string[]> = {
  asr: [
    'onnx/encoder_model.onnx',
    'onnx/encoder_model.onnx_data',
    'onnx/decoder_model_merged.onnx',
    'config.json',
    'generation_config.json',
    'preprocessor_config.json',
    'tokenizer.json',
    'tokenizer_config.json',
  ],
  'audio-emotion': ['model.onnx', 'head.json', 'tokens.txt'],
  vision: ['onnx/vision_model.onnx', 'config.json', 'preprocessor_config.json'],
  text: ['onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json', 'config.json', 'vocab.txt'],
  fusion: ['fusion.onnx', 'fusion.json'],
};
