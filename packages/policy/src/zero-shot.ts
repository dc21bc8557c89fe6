/**
 * A fusion model that works before any training (`omniaffect train --zero-shot`): the same ONNX
 * contract as the trained policy (FUSION_INPUTS / FUSION_OUTPUTS), so services/fusion runs it
 * unchanged, deletion rows included, but every weight in it comes from the encoders themselves:
 *
 * - audio: emotion2vec's own 9-class head (head.json + tokens.txt) on the mean of the segment
 *   embeddings (the head is linear, so this is the head on the utterance mean, FunASR's
 *   "utterance" granularity), mapped to the 7 emotions and to sentiment by the tables below;
 * - vision: SigLIP zero-shot: each frame embedding against emotion prompts in English and Chinese,
 *   whose text-tower embeddings are computed once here and baked in as a constant, scored the SigLIP
 *   way, sigmoid(logit_scale · cos + logit_bias);
 * - text: weight 0. There is no trained text head, and a made-up one would be a claim we cannot back.
 *
 * Modality weights are each present modality's confidence (its top emotion probability), renormalised
 * over audio and vision; the output emotion and sentiment distributions are exactly the weighted mix
 * of the per-modality distributions, so the reported contributions are what produced the prediction.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { EMOTION_LABELS, EMOTION_WORDS, FUSION_INPUTS, FUSION_OUTPUTS, SENTIMENT_LABELS, type FusionManifest } from '@omniaffect/core';
import {
  GraphBuilder,
  ModelBuilder,
  SIGLIP_TEXT_LENGTH,
  createSession,
  headLabel,
  peekNamedScalars,
  peekOnnxGraph,
  resolveOnnxGraph,
} from '@omniaffect/models';

type Emotion = (typeof EMOTION_LABELS)[number];
type Triple = [negative: number, neutral: number, positive: number];

export const ZERO_SHOT_KIND = 'zero-shot';
export const ZERO_SHOT_TEXT_REASON = 'no trained text head';

/**
 * Sentiment evidence of each emotion, [negative, neutral, positive]. Surprise is valence-ambiguous
 * (corpora such as MELD annotate surprised utterances as positive and as negative), so it carries no
 * sentiment evidence: uniform.
 */
export const EMOTION_SENTIMENT: Record<Emotion, Triple> = {
  happy: [0, 0, 1],
  sad: [1, 0, 0],
  angry: [1, 0, 0],
  fearful: [1, 0, 0],
  disgusted: [1, 0, 0],
  surprised: [1 / 3, 1 / 3, 1 / 3],
  neutral: [0, 1, 0],
};

/**
 * emotion2vec's 9 head labels → our 7 emotions. `other` and `unknown` (`<unk>`) are not emotions of
 * ours: their probability is spread evenly over the 7 (for sentiment: over the 3), i.e. the head's
 * "none of these" lowers the confidence of the audio prediction instead of being dropped and
 * renormalised away, which would overstate how sure the head is. Any label not listed here is
 * treated the same way (and named in fusion.json).
 */
export const HEAD_TO_EMOTION: Record<string, Emotion | 'spread'> = {
  angry: 'angry',
  disgusted: 'disgusted',
  fearful: 'fearful',
  happy: 'happy',
  neutral: 'neutral',
  sad: 'sad',
  surprised: 'surprised',
  other: 'spread',
  unknown: 'spread',
};

/** Prompt wording per emotion (the shared bilingual emotion words); each template gets each word. */
export const PROMPT_WORDS: Readonly<Record<Emotion, { en: string; zh: string }>> = EMOTION_WORDS;
export const PROMPT_TEMPLATES = {
  en: ['a photo of a {} face', 'a photo of a person who looks {}'],
  zh: ['一张{}的脸的照片', '一个看起来{}的人的照片'],
} as const;

export interface ZeroShotPrompt {
  emotion: Emotion;
  language: 'en' | 'zh';
  text: string;
}

export function zeroShotPrompts(): ZeroShotPrompt[] {
  const out: ZeroShotPrompt[] = [];
  for (const emotion of EMOTION_LABELS) {
    for (const language of ['en', 'zh'] as const) {
      for (const t of PROMPT_TEMPLATES[language]) {
        const word = PROMPT_WORDS[emotion][language];
        const text = t.replace(language === 'en' && /^[aeiou]/.test(word) ? 'a {}' : '{}', language === 'en' && /^[aeiou]/.test(word) ? `an ${word}` : word);
        out.push({ emotion, language, text });
      }
    }
  }
  return out;
}

/**
 * SigLIP's learned temperature and bias live only in the full `onnx/model.onnx` (813 MB, not pulled
 * by the standard pack). Without it, these are used and fusion.json says so. They are this project's
 * reading of google/siglip-base-patch16-224 (exp(logit_scale) ≈ 117.3, logit_bias ≈ −12.9),
 * UNCONFIRMED against the checkpoint; the same order as the published SO400M value (exp(4.7215) ≈
 * 112.3). The emotion ranking of a frame does not depend on them (normalising over classes cancels
 * the bias; the scale only sharpens); the frame weights and the vision confidence do.
 */
export const SIGLIP_ASSUMED = { logitScale: 117.33, logitBias: -12.93 };

/** Prompts whose tokens are mostly `<unk>` say nothing to the text tower (base SigLIP is English-only). */
const MAX_UNK_FRACTION = 0.5;
const TINY = 1e-30;
const MASK_NEG = 1e9;
/** A vanishing neutral prior: with no usable modality (text only) the outputs say neutral, not argmax-of-ties. */
const PRIOR = 1e-6;

export interface ZeroShotOptions {
  /** MODEL_DIR; the encoders are read from its audio-emotion/, vision/, text-en/, text-zh/ (overridable below) */
  modelDir: string;
  /** default `<modelDir>/fusion` */
  outDir?: string;
  audioDir?: string;
  visionDir?: string;
  textDirs?: string[];
  /** SigLIP multiplier (exp of the stored log scale) and bias; used when no full model.onnx holds them */
  logitScale?: number;
  logitBias?: number;
  /** text dim when no text encoder is present (the graph never reads text features) */
  textDim?: number;
  /** overwrite a fusion/ that is not zero-shot (a trained policy) */
  force?: boolean;
  provider?: string;
  log?: (line: string) => void;
}

export interface ZeroShotResult {
  onnxPath: string;
  manifestPath: string;
  manifest: FusionManifest;
  /** every prompt, with whether it was used (a prompt the tokenizer cannot read is dropped, with a note) */
  prompts: (ZeroShotPrompt & { used: boolean; unkFraction: number; note?: string })[];
  siglip: { logitScale: number; logitBias: number; source: string; assumed: boolean };
}

interface Head {
  weight: Float32Array; // [labels, dim]
  bias: Float32Array;
  labels: (string | null)[];
  file: string;
  sha256: string;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const readJson = <T>(file: string): T | null => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : null);

function readHead(dir: string): Head {
  const file = path.join(dir, 'head.json');
  const tokens = path.join(dir, 'tokens.txt');
  if (!existsSync(file) || !existsSync(tokens)) {
    throw new Error(
      `zero-shot fusion needs emotion2vec's 9-class head: ${existsSync(file) ? '' : `${file} `}${existsSync(tokens) ? '' : `${tokens} `}missing. ` +
        '`omniaffect models pull --pack standard` (or `omniaffect models adapt audio-emotion DIR` on an end-to-end export) writes both; ' +
        "for a FunASR export, write head.json = {weight: proj.weight (9×D), bias: proj.bias} from model.pt with the model's tokens.txt (docs/models.md)",
    );
  }
  const raw = readFileSync(file);
  const j = JSON.parse(raw.toString('utf8')) as { weight?: number[][]; bias?: number[] };
  const labels = readFileSync(tokens, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map(headLabel);
  if (!Array.isArray(j.weight) || !Array.isArray(j.bias) || j.weight.length !== labels.length || j.bias.length !== labels.length) {
    throw new Error(`${file} must hold {weight: number[${labels.length}][D], bias: number[${labels.length}]} matching tokens.txt's ${labels.length} labels`);
  }
  const dim = j.weight[0]!.length;
  if (j.weight.some((r) => r.length !== dim)) throw new Error(`${file}: weight rows differ in length`);
  return { weight: Float32Array.from(j.weight.flat()), bias: Float32Array.from(j.bias), labels, file, sha256: sha256(raw) };
}

/** An output's size on `axis` as the session declares it (null when symbolic); `output` null = the first output. */
async function sessionDim(file: string, output: string | null, axis: number, provider?: string): Promise<number | null> {
  const session = await createSession(file, { provider });
  try {
    const name = output !== null && session.outputNames.includes(output) ? output : session.outputNames[0];
    const meta = session.outputMetadata.find((m) => m.name === name);
    const d = meta && meta.isTensor ? meta.shape[axis] : undefined;
    return typeof d === 'number' ? d : null;
  } finally {
    await session.release();
  }
}

function configDim(dir: string, keys: string[][]): number | null {
  const c = readJson<Record<string, unknown>>(path.join(dir, 'config.json'));
  for (const k of keys) {
    let v: unknown = c;
    for (const part of k) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
    if (typeof v === 'number') return v;
  }
  return null;
}

function emotion2vecFile(dir: string): string {
  const f = ['model.onnx', 'emotion2vec', 'emotion2vec.onnx'].map((n) => path.join(dir, n)).find((p) => existsSync(p));
  if (!f) throw new Error(`${dir} holds no emotion2vec model (model.onnx or emotion2vec)`);
  return f;
}

/** The Tokenizer slice we use; the package is ESM-only, so it is loaded with a dynamic import. */
interface LibraryTokenizer {
  encode(text: string): { ids: number[]; tokens: string[] };
}

interface TokenizerJson {
  added_tokens?: { id: number; content: string }[];
  padding?: { pad_id?: number } | null;
  model?: { type?: string; unk_id?: number | null; vocab?: [string, number][] | Record<string, number> };
}

function tokenId(tj: TokenizerJson, token: string | undefined): number | null {
  if (!token) return null;
  const added = tj.added_tokens?.find((t) => t.content === token);
  if (added) return added.id;
  const v = tj.model?.vocab;
  if (Array.isArray(v)) {
    const i = v.findIndex(([p]) => p === token);
    return i >= 0 ? i : null;
  }
  return v && typeof v[token] === 'number' ? v[token]! : null;
}

/** Pad id, in SigLIP's order of authority: tokenizer.json padding, tokenizer_config pad_token, config.json, then 1 (`</s>`). */
function padId(dir: string, tj: TokenizerJson): { id: number; source: string } {
  if (typeof tj.padding?.pad_id === 'number') return { id: tj.padding.pad_id, source: 'tokenizer.json padding' };
  const tc = readJson<{ pad_token?: string | { content?: string } }>(path.join(dir, 'tokenizer_config.json'));
  const pt = typeof tc?.pad_token === 'string' ? tc.pad_token : tc?.pad_token?.content;
  const fromTc = tokenId(tj, pt);
  if (fromTc !== null) return { id: fromTc, source: `tokenizer_config.json pad_token ${pt}` };
  const fromConfig = configDim(dir, [['text_config', 'pad_token_id'], ['pad_token_id']]);
  if (fromConfig !== null) return { id: fromConfig, source: 'config.json pad_token_id' };
  return { id: 1, source: 'assumed 1 (SigLIP pads with </s>)' };
}

async function embedPrompts(
  visionDir: string,
  prompts: ZeroShotPrompt[],
  provider: string | undefined,
): Promise<{
  rows: (ZeroShotPrompt & { used: boolean; unkFraction: number; note?: string; embedding?: Float32Array })[];
  dim: number;
  file: string;
  seqLen: number;
  pad: string;
}> {
  const file = resolveOnnxGraph(visionDir, 'text_model');
  const tokFile = path.join(visionDir, 'tokenizer.json');
  if (!existsSync(tokFile)) throw new Error(`${visionDir} lacks tokenizer.json (the SigLIP tokenizer, needed to embed the emotion prompts)`);
  const tj = JSON.parse(readFileSync(tokFile, 'utf8')) as TokenizerJson;
  const tc = readJson<object>(path.join(visionDir, 'tokenizer_config.json')) ?? {};
  const { Tokenizer } = (await import('@huggingface/tokenizers')) as unknown as { Tokenizer: new (j: object, c: object) => LibraryTokenizer };
  const tok = new Tokenizer(tj, tc);
  const session = await createSession(file, { provider });
  try {
    const idsMeta = session.inputMetadata.find((m) => m.name === 'input_ids');
    if (!idsMeta) throw new Error(`${file} has no input_ids input; it has ${session.inputNames.join(', ')}`);
    const extra = session.inputNames.filter((n) => n !== 'input_ids' && n !== 'attention_mask');
    if (extra.length) throw new Error(`${file} wants inputs this builder does not feed: ${extra.join(', ')}`);
    const fixedLen = idsMeta.isTensor ? idsMeta.shape[1] : undefined;
    // SigLIP's text tower was trained on max_length padding and pools the last position, so every
    // prompt is padded to the full length, not to the longest prompt.
    const seqLen = typeof fixedLen === 'number' ? fixedLen : (configDim(visionDir, [['text_config', 'max_position_embeddings']]) ?? SIGLIP_TEXT_LENGTH);
    const pad = padId(visionDir, tj);
    const unk = tj.model?.unk_id ?? tokenId(tj, '<unk>');
    const specials = new Set((tj.added_tokens ?? []).map((t) => t.id));
    const rows = prompts.map((p) => {
      const { ids, tokens } = tok.encode(p.text);
      // Counted in characters, not tokens: Unigram fuses a run of unknown characters into one <unk>.
      let chars = 0;
      let unkChars = 0;
      ids.forEach((id, i) => {
        if (specials.has(id) && id !== unk) return;
        const n = [...(tokens[i] ?? '').replace(/▁/g, '')].length;
        chars += n;
        if (id === unk) unkChars += Math.max(n, 1);
      });
      const unkFraction = chars ? unkChars / chars : 1;
      const used = unkFraction <= MAX_UNK_FRACTION;
      return {
        ...p,
        ids,
        used,
        unkFraction,
        note: used ? undefined : `tokenizer maps ${(unkFraction * 100).toFixed(0)}% of it to <unk>: this text tower cannot read it`,
      };
    });
    const used = rows.filter((r) => r.used);
    if (!used.length) throw new Error('no emotion prompt tokenises to known tokens: is vision/tokenizer.json the SigLIP tokenizer?');
    const ids = new BigInt64Array(used.length * seqLen).fill(BigInt(pad.id));
    used.forEach((r, i) => r.ids.slice(0, seqLen).forEach((id, j) => (ids[i * seqLen + j] = BigInt(id))));
    const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, [used.length, seqLen]) };
    // Trained without an attention mask (max_length padding); an export that lists one gets all ones, the same computation.
    if (session.inputNames.includes('attention_mask'))
      feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(used.length * seqLen).fill(1n), [used.length, seqLen]);
    const outName = ['pooler_output', 'text_embeds'].find((n) => session.outputNames.includes(n));
    if (!outName) throw new Error(`${file} has no pooler_output (or text_embeds) output; it has ${session.outputNames.join(', ')}`);
    const out = (await session.run(feeds, [outName]))[outName]!;
    const dim = out.dims[1] as number;
    const data = out.data as Float32Array;
    const embeddings = new Map<(typeof rows)[number], Float32Array>();
    used.forEach((r, i) => {
      const e = data.slice(i * dim, (i + 1) * dim);
      let n = 0;
      for (const x of e) n += x * x;
      n = Math.sqrt(n) || 1;
      for (let d = 0; d < dim; d++) e[d] = e[d]! / n;
      embeddings.set(r, e);
    });
    return {
      rows: rows.map((r) => ({
        emotion: r.emotion,
        language: r.language,
        text: r.text,
        used: r.used,
        unkFraction: r.unkFraction,
        note: r.note,
        embedding: embeddings.get(r),
      })),
      dim,
      file,
      seqLen,
      pad: `${pad.id} (${pad.source})`,
    };
  } finally {
    await session.release();
  }
}

/** SigLIP's logit_scale / logit_bias from a full model.onnx, if there is one that names them. */
function siglipConstants(visionDir: string, o: ZeroShotOptions): ZeroShotResult['siglip'] {
  const full = path.join(visionDir, 'onnx', 'model.onnx');
  let note = '';
  if (existsSync(full)) {
    const found = peekNamedScalars(full, (n) => /logit_(scale|bias)/.test(n));
    const pick = (re: RegExp) => [...found].find(([n, v]) => re.test(n) && v.length === 1);
    const s = pick(/logit_scale/);
    const b = pick(/logit_bias/);
    if (s && b) {
      // The checkpoint stores log(scale) and the forward applies exp; an export keeps that Exp unless it folded it.
      const exped = peekOnnxGraph(full).nodes.some((n) => n.opType === 'Exp' && n.inputs.includes(s[0]));
      return {
        logitScale: exped ? Math.exp(s[1][0]!) : s[1][0]!,
        logitBias: b[1][0]!,
        source: `onnx/model.onnx (${s[0]}${exped ? ', exp applied' : ''}, ${b[0]})`,
        assumed: false,
      };
    }
    note = '; onnx/model.onnx is present but names no logit_scale/logit_bias tensor (folded by the export?)';
  }
  if (o.logitScale !== undefined || o.logitBias !== undefined) {
    return {
      logitScale: o.logitScale ?? SIGLIP_ASSUMED.logitScale,
      logitBias: o.logitBias ?? SIGLIP_ASSUMED.logitBias,
      source: `flags${o.logitScale === undefined || o.logitBias === undefined ? ' (the other one assumed)' : ''}${note}`,
      assumed: o.logitScale === undefined || o.logitBias === undefined,
    };
  }
  return { ...SIGLIP_ASSUMED, source: `assumed defaults (no full onnx/model.onnx; pass --logit-scale/--logit-bias to override)${note}`, assumed: true };
}

export interface ZeroShotGraphSpec {
  dims: { text: number; audio: number; vision: number };
  head: { weight: Float32Array; bias: Float32Array; labels: (string | null)[] };
  /** [D_vision, 7] in EMOTION_LABELS order: mean of unit prompt embeddings per emotion */
  classEmbeddings: Float32Array;
  logitScale: number;
  logitBias: number;
}

/**
 * Divides each sentiment column of a [rows, 3] evidence table by its mass under a uniform distribution
 * over the rows. Four of the seven emotions are negative, so plain sums would make an undecided
 * distribution read negative (13:4:4 for the 7-emotion table); balanced, a uniform distribution reads
 * uniform and only a real preference moves the sentiment. The graph renormalises the result to sum 1.
 */
export function balanceSentimentTable(table: Float32Array, rows: number, activeRows: number[] = [...Array(rows).keys()]): Float32Array {
  const out = Float32Array.from(table);
  for (let c = 0; c < 3; c++) {
    const mass = activeRows.reduce((a, r) => a + table[r * 3 + c]!, 0) / activeRows.length;
    for (let r = 0; r < rows; r++) out[r * 3 + c] = mass > 0 ? table[r * 3 + c]! / mass : 0;
  }
  return out;
}

/** The 7 × 3 emotion → sentiment table (EMOTION_SENTIMENT), balanced. */
export function emotionSentimentTable(): Float32Array {
  return balanceSentimentTable(Float32Array.from(EMOTION_LABELS.flatMap((e) => EMOTION_SENTIMENT[e])), EMOTION_LABELS.length);
}

/**
 * headRows × 7 and headRows × 3 (balanced over the unmasked rows) mapping matrices; masked `unuse_*`
 * rows are all zero (their probability is 0 anyway).
 */
export function headMappings(labels: (string | null)[]): { toEmotion: Float32Array; toSentiment: Float32Array; unmapped: string[] } {
  const E = EMOTION_LABELS.length;
  const toEmotion = new Float32Array(labels.length * E);
  const toSentiment = new Float32Array(labels.length * 3);
  const unmapped: string[] = [];
  labels.forEach((l, r) => {
    if (l === null) return;
    const target = HEAD_TO_EMOTION[l] ?? 'spread';
    if (!(l in HEAD_TO_EMOTION)) unmapped.push(l);
    if (target === 'spread') {
      for (let e = 0; e < E; e++) toEmotion[r * E + e] = 1 / E;
      for (let s = 0; s < 3; s++) toSentiment[r * 3 + s] = 1 / 3;
    } else {
      toEmotion[r * E + EMOTION_LABELS.indexOf(target)] = 1;
      EMOTION_SENTIMENT[target].forEach((v, s) => (toSentiment[r * 3 + s] = v));
    }
  });
  const active = labels.flatMap((l, r) => (l === null ? [] : [r]));
  return { toEmotion, toSentiment: balanceSentimentTable(toSentiment, labels.length, active), unmapped };
}

/** The zero-shot fusion graph (see the module comment); inputs and outputs exactly FUSION_INPUTS / FUSION_OUTPUTS. */
export function buildZeroShotGraph(spec: ZeroShotGraphSpec): ModelBuilder {
  const g = new GraphBuilder('omniaffect_zero_shot_fusion', 'zs');
  const E = EMOTION_LABELS.length;
  const H = spec.head.labels.length;
  for (const s of FUSION_INPUTS) {
    const shape = s.shape.map((d) => (typeof d === 'string' && d.endsWith('_dim') ? spec.dims[d.slice(0, -4) as keyof ZeroShotGraphSpec['dims']] : d));
    g.input(s.name, s.type, shape);
  }
  const one = g.f(1);
  const tiny = g.f(TINY);
  const axis1 = g.i64(1);
  const axis2 = g.i64(2);
  const sum = (x: string, axis: string, keepdims: 0 | 1) => g.op('ReduceSum', [x, axis], { keepdims });
  const col = (x: string, i: number) => g.op('Slice', [x, g.i64(i), g.i64(i + 1), axis1]); // [B,1]
  const maskedSoftmax = (x: string, mask: string, out?: string) => {
    const shifted = g.op('Add', [x, g.op('Mul', [g.op('Sub', [mask, one]), g.f(MASK_NEG)])]);
    const mx = g.op('ReduceMax', [shifted], { axes: [1], keepdims: 1 });
    const e = g.op('Mul', [g.op('Exp', [g.op('Sub', [shifted, mx])]), mask]);
    return g.op('Div', [e, g.op('Max', [sum(e, axis1, 1), tiny])], {}, out);
  };

  // Text: no trained head. Importance is uniform over the valid tokens (no word is claimed to matter more).
  maskedSoftmax(g.op('Mul', ['text_mask', g.f(0)]), 'text_mask', 'text_importance');

  // Audio: 9 head logits per segment; the clip's logits are their masked mean (= the head on the mean embedding).
  const headBias = Float32Array.from(spec.head.bias, (b, r) => (spec.head.labels[r] === null ? -MASK_NEG : b));
  const Wt = new Float32Array(spec.dims.audio * H); // head.json is [H, D]; MatMul wants [D, H]
  for (let r = 0; r < H; r++) for (let d = 0; d < spec.dims.audio; d++) Wt[d * H + r] = spec.head.weight[r * spec.dims.audio + d]!;
  const z = g.op('Add', [
    g.op('MatMul', ['audio_features', g.initFloat(Wt, [spec.dims.audio, H], 'emotion2vec_head.weight')]),
    g.initFloat(headBias, [H], 'emotion2vec_head.bias'),
  ]); // [B,La,H]
  const count = g.op('Max', [sum('audio_mask', axis1, 1), tiny]); // [B,1]
  const zClip = g.op('Div', [sum(g.op('Mul', [z, g.op('Unsqueeze', ['audio_mask', axis2])]), axis1, 0), count]); // [B,H]
  const pClip = g.op('Softmax', [zClip], { axis: -1 });
  const maps = headMappings(spec.head.labels);
  const audioEmotion = g.op('MatMul', [pClip, g.initFloat(maps.toEmotion, [H, E], 'head_to_emotion')]); // [B,7]
  const normalise = (x: string) => g.op('Div', [x, g.op('Max', [sum(x, axis1, 1), tiny])]);
  const audioSentiment = normalise(g.op('MatMul', [pClip, g.initFloat(maps.toSentiment, [H, 3], 'head_to_sentiment')])); // [B,3]
  // A segment weighs by how much its own head distribution agrees with the clip's: Σ_c p_seg(c)·p_clip(c).
  const pSeg = g.op('Softmax', [z], { axis: -1 });
  const agree = g.op('Mul', [g.op('Squeeze', [g.op('MatMul', [pSeg, g.op('Unsqueeze', [pClip, axis2])]), axis2]), 'audio_mask']); // [B,La]
  g.op('Div', [agree, g.op('Max', [sum(agree, axis1, 1), tiny])], {}, 'audio_importance');

  // Vision: SigLIP sigmoid scores of each frame against each emotion (mean cosine over its prompts).
  const norm = g.op('Sqrt', [g.op('Add', [sum(g.op('Mul', ['vision_features', 'vision_features']), axis2, 1), g.f(1e-12)])]);
  const cos = g.op('MatMul', [g.op('Div', ['vision_features', norm]), g.initFloat(spec.classEmbeddings, [spec.dims.vision, E], 'siglip_emotion_prompts')]); // [B,Lv,7]
  const logits = g.op('Add', [g.op('Mul', [cos, g.f(spec.logitScale)]), g.f(spec.logitBias)]);
  // log σ(x) = −softplus(−x): sigmoids of −40 and below underflow float32, their logs do not.
  const logSig = g.op('Neg', [g.op('Softplus', [g.op('Neg', [logits])])]);
  const frameEmotion = g.op('Softmax', [logSig], { axis: -1 }); // σ normalised over the 7 emotions
  // A frame weighs by SigLIP's own belief that it shows one of these faces at all (its best sigmoid score);
  // the clip's vision distribution is exactly this weighted mean, so the frame weights are what it used.
  const frameWeight = maskedSoftmax(g.op('ReduceMax', [logSig], { axes: [2], keepdims: 0 }), 'vision_mask', 'vision_importance');
  const visionEmotion = sum(g.op('Mul', [frameEmotion, g.op('Unsqueeze', [frameWeight, axis2])]), axis1, 0); // [B,7]
  const visionSentiment = normalise(g.op('MatMul', [visionEmotion, g.initFloat(emotionSentimentTable(), [E, 3], 'emotion_to_sentiment')]));

  // Gate: confidence of each present modality; text's is 0 (no trained text head), so its weight is exactly 0.
  const confidence = g.op(
    'Concat',
    [
      g.op('Mul', [col('modality_mask', 0), g.f(0)]),
      g.op('ReduceMax', [audioEmotion], { axes: [1], keepdims: 1 }),
      g.op('ReduceMax', [visionEmotion], { axes: [1], keepdims: 1 }),
    ],
    { axis: 1 },
  );
  const raw = g.op('Mul', [confidence, 'modality_mask']);
  const weights = g.op('Div', [raw, g.op('Max', [sum(raw, axis1, 1), tiny])], {}, 'modality_weights'); // [B,3]
  const wa = col(weights, 1);
  const wv = col(weights, 2);
  const mix = (a: string, v: string, n: number, neutralIndex: number) => {
    const prior = new Float32Array(n);
    prior[neutralIndex] = PRIOR;
    return g.op('Add', [g.op('Add', [g.op('Mul', [wa, a]), g.op('Mul', [wv, v])]), g.initFloat(prior, [n])]);
  };
  const emotion = mix(audioEmotion, visionEmotion, E, EMOTION_LABELS.indexOf('neutral'));
  const sentiment = mix(audioSentiment, visionSentiment, 3, SENTIMENT_LABELS.indexOf('neutral'));
  // softmax(log p) = p / Σp: the service's softmax recovers these distributions exactly.
  g.op('Log', [g.op('Max', [emotion, tiny])], {}, 'emotion_logits');
  g.op('Log', [g.op('Max', [sentiment, tiny])], {}, 'sentiment_logits');
  const pos = col(sentiment, SENTIMENT_LABELS.indexOf('positive'));
  const neg = col(sentiment, SENTIMENT_LABELS.indexOf('negative'));
  g.op('Squeeze', [g.op('Sub', [pos, neg]), axis1], {}, 'intensity');
  // No reward model: the value is the fusion's own probability of its sentiment label.
  g.op('ReduceMax', [sentiment], { axes: [1], keepdims: 0 }, 'value');
  for (const s of FUSION_OUTPUTS) g.output(s.name, s.type, s.shape);
  return new ModelBuilder(g, {
    producerName: 'omniaffect-zero-shot',
    docString: 'OmniAffect zero-shot fusion: emotion2vec head + SigLIP prompts; text weight 0 (no trained text head)',
  });
}

/** Builds `<outDir>/fusion.onnx` + `fusion.json` for the encoders in `modelDir`. */
export async function buildZeroShotFusion(o: ZeroShotOptions): Promise<ZeroShotResult> {
  const log = o.log ?? (() => undefined);
  const modelDir = path.resolve(o.modelDir);
  const outDir = path.resolve(o.outDir ?? path.join(modelDir, 'fusion'));
  const existing = readJson<FusionManifest>(path.join(outDir, 'fusion.json'));
  if (existing && existing.provenance?.kind !== ZERO_SHOT_KIND && !o.force) {
    throw new Error(
      `${outDir} already holds a ${String(existing.provenance?.kind ?? 'fusion')} model (${existing.name}); pass --force to replace it with a zero-shot one`,
    );
  }
  const audioDir = o.audioDir ?? path.join(modelDir, 'audio-emotion');
  const visionDir = o.visionDir ?? path.join(modelDir, 'vision');
  const textDirs = (o.textDirs ?? [path.join(modelDir, 'text-en'), path.join(modelDir, 'text-zh')]).filter((d) => existsSync(d));

  const head = readHead(audioDir);
  const headDim = head.weight.length / head.labels.length;
  const audioFile = emotion2vecFile(audioDir);
  // `output` as the emotion2vec runner picks it (else the first output)
  const audioDim = (await sessionDim(audioFile, 'output', 2, o.provider)) ?? headDim;
  if (audioDim !== headDim) throw new Error(`${head.file} is ${head.labels.length}×${headDim} but ${audioFile} outputs ${audioDim}-d frames`);
  log(`audio: ${path.relative(modelDir, audioFile)} ${audioDim}-d, head ${head.labels.length} labels`);

  const visionFile = resolveOnnxGraph(visionDir, 'vision_model');
  const visionDeclared = await sessionDim(visionFile, 'pooler_output', 1, o.provider);
  const prompts = zeroShotPrompts();
  const emb = await embedPrompts(visionDir, prompts, o.provider);
  const visionDim = visionDeclared ?? configDim(visionDir, [['vision_config', 'hidden_size']]) ?? emb.dim;
  if (emb.dim !== visionDim) throw new Error(`text tower ${emb.file} embeds in ${emb.dim}-d, vision tower ${visionFile} in ${visionDim}-d: not one SigLIP`);
  const used = emb.rows.filter((r) => r.used);
  log(
    `vision: ${path.relative(modelDir, visionFile)} ${visionDim}-d; ${used.length}/${emb.rows.length} prompts embedded by ${path.relative(modelDir, emb.file)}`,
  );
  const C = new Float32Array(visionDim * EMOTION_LABELS.length);
  EMOTION_LABELS.forEach((e, k) => {
    const mine = used.filter((r) => r.emotion === e);
    if (!mine.length) throw new Error(`no usable prompt for ${e}: every one tokenised to <unk>`);
    for (const r of mine) for (let d = 0; d < visionDim; d++) C[d * EMOTION_LABELS.length + k] += r.embedding![d]! / mine.length;
  });
  const siglip = siglipConstants(visionDir, o);
  if (siglip.assumed) log(`SigLIP logit_scale ${siglip.logitScale}, logit_bias ${siglip.logitBias}: ${siglip.source}`);

  const textDims: { dir: string; dim: number | null }[] = [];
  for (const dir of textDirs) {
    let dim: number | null = null;
    try {
      dim = await sessionDim(resolveOnnxGraph(dir, 'model'), 'last_hidden_state', 2, o.provider);
    } catch (err) {
      log(`text: ${dir}: ${(err as Error).message}; reading config.json`);
    }
    textDims.push({ dir, dim: dim ?? configDim(dir, [['hidden_size']]) });
  }
  const known = [...new Set(textDims.map((t) => t.dim).filter((d): d is number => d !== null))];
  if (known.length > 1) throw new Error(`text encoders differ in width (${textDims.map((t) => `${t.dir}: ${t.dim}`).join(', ')}); one fusion has one text dim`);
  const textDim = known[0] ?? o.textDim ?? 768;

  const dims = { text: textDim, audio: audioDim, vision: visionDim };
  mkdirSync(outDir, { recursive: true });
  const onnxPath = path.join(outDir, 'fusion.onnx');
  buildZeroShotGraph({ dims, head, classEmbeddings: C, logitScale: siglip.logitScale, logitBias: siglip.logitBias }).save(onnxPath);
  const maps = headMappings(head.labels);
  const asrWidth = configDim(path.join(modelDir, 'asr'), [['d_model']]);
  const manifest: FusionManifest = {
    name: 'omniaffect-zero-shot-fusion',
    version: '0.1.0',
    dims,
    sentimentLabels: SENTIMENT_LABELS,
    emotionLabels: EMOTION_LABELS,
    provenance: {
      kind: ZERO_SHOT_KIND,
      trained: false,
      note: 'built from the encoders alone (emotion2vec head + SigLIP prompts), no labelled data; replace with a trained policy (omniaffect eval run / train)',
      modalityReasons: { text: ZERO_SHOT_TEXT_REASON },
      modalityWeights: 'text 0 (no trained text head); audio and vision each weigh by their top emotion probability, renormalised over the present ones',
      encoders: {
        audio: {
          file: path.relative(modelDir, audioFile),
          dim: audioDim,
          head: { file: path.relative(modelDir, head.file), sha256: head.sha256, labels: head.labels.map((l) => l ?? 'masked (unuse_*)') },
        },
        vision: {
          file: path.relative(modelDir, visionFile),
          dim: visionDim,
          textTower: path.relative(modelDir, emb.file),
          promptLength: emb.seqLen,
          padId: emb.pad,
        },
        text: textDims.length
          ? textDims.map((t) => ({ dir: path.relative(modelDir, t.dir), dim: t.dim }))
          : `no text encoder found; dim ${textDim} assumed (never read)`,
        ...(asrWidth !== null ? { asr: { dModel: asrWidth, note: 'not a fusion input (its transcript reaches fusion through the text encoder)' } } : {}),
      },
      audio: {
        pooling: 'head logits averaged over the valid segments (= the linear head on the mean segment embedding)',
        headToEmotion: HEAD_TO_EMOTION,
        unmappedLabels: maps.unmapped,
        spread: "'other', 'unknown' and unlisted labels: probability spread evenly over the 7 emotions and the 3 sentiments",
      },
      vision: {
        scoring: 'per frame and emotion: sigmoid(logitScale · mean cosine to its prompts + logitBias), normalised over the 7 emotions',
        siglip,
        prompts: emb.rows.map((r) => ({ emotion: r.emotion, language: r.language, text: r.text, used: r.used, ...(r.note ? { note: r.note } : {}) })),
      },
      emotionToSentiment: EMOTION_SENTIMENT,
      sentimentBalancing:
        'each sentiment column divided by its mass under a uniform emotion distribution (7 emotions: 13/21, 4/21, 4/21), then renormalised: an undecided distribution reads uniform, not negative',
      importances: {
        text: 'uniform over valid tokens (no text head: no word is claimed to matter more)',
        audio: "segment's agreement with the clip: Σ_c p_segment(c)·p_clip(c), normalised over segments",
        vision: "frame's best SigLIP sigmoid score, softmax-normalised in log space over frames; the vision distribution is this weighted mean",
      },
      intensity: 'P(positive) − P(negative)',
      value: "the fusion's probability of its own sentiment label (no reward model)",
      builtAt: new Date().toISOString(),
      builder: '@omniaffect/policy buildZeroShotFusion',
    },
  };
  const manifestPath = path.join(outDir, 'fusion.json');
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return {
    onnxPath,
    manifestPath,
    manifest,
    prompts: emb.rows.map(({ embedding: _e, ...r }) => r),
    siglip,
  };
}
