import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { applyWaveformNorm, layerNormStats, type WaveformNorm } from '@omniaffect/features';
import { createSession, type CreateSessionOptions } from '../session';
import { graphNormalisesInput, peekOnnxGraph } from './onnx-graph-peek';
import { outputMeta, readJsonIfPresent, readOmniaffectConfig } from './model-files';
import { newStats, recordRun, type InferenceStats } from './stats';

export const EMOTION2VEC_SAMPLE_RATE = 16000;
export const EMOTION2VEC_FRAME_HZ = 50;
/** The feature encoder's (kernel, stride) per conv layer (FunASR feature_encoder_spec). */
export const EMOTION2VEC_CONV_LAYERS: readonly (readonly [number, number])[] = [
  [10, 5],
  [3, 2],
  [3, 2],
  [3, 2],
  [3, 2],
  [2, 2],
  [2, 2],
];
/** Total stride (samples per frame) and receptive field (samples seen by one frame). */
const HOP = 320;
const RECEPTIVE_FIELD = 400;

/** Frames the conv stack yields for `samples` inputs: floor((n − k)/s) + 1 per layer, 0 if too short. */
export function emotion2vecFrameCount(samples: number): number {
  let n = samples;
  for (const [k, s] of EMOTION2VEC_CONV_LAYERS) {
    if (n < k) return 0;
    n = Math.floor((n - k) / s) + 1;
  }
  return n;
}

export type NormalisationSite = 'graph' | 'code';

export interface Emotion2vecLoadOptions {
  provider?: CreateSessionOptions['provider'];
  intraOpThreads?: number;
  /** Overrides both omniaffect.json and graph inspection. */
  normalize?: NormalisationSite;
}

export interface AnalyzeOptions {
  segmentSeconds?: number;
  sampleRate?: number;
  /** Audio per model run; longer input is split so activations (quadratic in frames) stay bounded. */
  chunkSeconds?: number;
}

export interface StreamOptions extends AnalyzeOptions {
  /** Samples the recording holds (the pooling grid and the last chunk follow from it). */
  totalSamples: number;
  /**
   * The whole recording's layer-norm statistics (layerNormStats), required when the runner normalises
   * in code: a stream cannot see the whole utterance before its first chunk.
   */
  norm?: WaveformNorm;
}

export interface EmotionScores {
  labels: string[];
  probabilities: number[];
}

export interface AudioEmotionSegment {
  start: number;
  end: number;
  /** Mean of the frames whose start falls inside [start, end). */
  embedding: Float32Array;
  frames: number;
  emotion?: EmotionScores;
}

export interface AudioEmotionResult {
  frames: { count: number; dim: number; hz: number };
  segments: AudioEmotionSegment[];
  /** Mean over all frames (FunASR granularity "utterance"). */
  utterance: Float32Array;
  emotion?: EmotionScores;
  normalisation: NormalisationSite;
  chunks: number;
  /** Time inside ONNX Runtime (the model's own compute), ms; the rest of the call is pooling and I/O. */
  inferenceMs: number;
}

interface EmotionHead {
  weight: Float32Array; // [labels, dim] row-major
  bias: Float32Array;
  /** English label per head row, null for unuse_* rows (masked before softmax). */
  labels: (string | null)[];
}

/**
 * emotion2vec backbone (FunASR ONNX export contract: `input f32[1, N]` → `output f32[1, T, D]`),
 * pooled to segments and the utterance, plus the optional 9-class head applied in code.
 *
 * Where normalisation happens, in priority order: the `normalize` load option; `"normalize"` in the
 * model dir's `omniaffect.json`; otherwise the graph is inspected and counts as normalising when a
 * LayerNormalization-like op reads the waveform input, or the input minus its own ReduceMean is
 * computed (what the official FunASR export contains, from torch's opset-14 layer_norm). Only when it
 * does not is the waveform normalised here: with the whole utterance's mean and variance (layerNormStats, which
 * the caller computes in its own pass over the audio), applied chunk by chunk, which equals `layerNormWaveform`.
 * In-graph normalisation sees one chunk at a time, so audio longer than `chunkSeconds` is normalised
 * per 30 s chunk in that case (as if FunASR were called per chunk); shorter audio is exact either way.
 */
export class Emotion2vecRunner {
  readonly stats: InferenceStats = newStats();
  private dim: number | null;
  private readonly inputName: string;
  private readonly outputName: string;

  private constructor(
    readonly modelDir: string,
    readonly modelFile: string,
    readonly session: ort.InferenceSession,
    readonly normalisation: NormalisationSite,
    private readonly head: EmotionHead | null,
  ) {
    this.inputName = session.inputNames.includes('input') ? 'input' : session.inputNames[0]!;
    this.outputName = session.outputNames.includes('output') ? 'output' : session.outputNames[0]!;
    const d = outputMeta(session, this.outputName)?.shape[2];
    this.dim = typeof d === 'number' ? d : null;
    if (head && this.dim !== null && head.weight.length !== head.labels.length * this.dim) {
      throw new Error(`${modelDir}/head.json is ${head.labels.length}×${head.weight.length / head.labels.length}, model dim is ${this.dim}`);
    }
  }

  static async load(modelDir: string, options: Emotion2vecLoadOptions = {}): Promise<Emotion2vecRunner> {
    const file = ['model.onnx', 'emotion2vec', 'emotion2vec.onnx'].map((f) => path.join(modelDir, f)).find((f) => existsSync(f));
    if (!file) throw new Error(`${modelDir} holds no emotion2vec model: expected model.onnx or emotion2vec (FunASR export name)`);
    const session = await createSession(file, { provider: options.provider, intraOpThreads: options.intraOpThreads });
    const inputName = session.inputNames.includes('input') ? 'input' : session.inputNames[0]!;
    const normalisation = options.normalize ?? readOmniaffectConfig(modelDir).normalize ?? detectNormalisation(file, inputName);
    if (normalisation !== 'graph' && normalisation !== 'code') {
      throw new Error(`${modelDir}: normalize must be "graph" or "code", got ${JSON.stringify(normalisation)}`);
    }
    return new Emotion2vecRunner(modelDir, file, session, normalisation, loadHead(modelDir));
  }

  get inferenceStats(): InferenceStats {
    return this.stats;
  }

  /** Head labels in output order (unuse_* dropped), or null without a head. */
  get labels(): string[] | null {
    return this.head ? this.head.labels.filter((l): l is string => l !== null) : null;
  }

  /** One recording in hand; the same as stream() fed all of it (normalised over the whole utterance when in code). */
  async analyze(samples16k: Float32Array, options: AnalyzeOptions = {}): Promise<AudioEmotionResult> {
    const norm = this.normalisation === 'code' ? layerNormStats((s, n) => samples16k.subarray(s, s + n), samples16k.length) : undefined;
    const stream = this.stream({ ...options, totalSamples: samples16k.length, norm });
    await stream.push(samples16k);
    return stream.finish();
  }

  /**
   * A recording fed in order, in pieces of any size (push), analysed chunk by chunk as the samples
   * arrive: memory is one chunk plus the pooled sums, never the recording. Chunks of `chunkSeconds`
   * (30 s) overlap by the conv stack's receptive field minus its stride (80 samples), so the frames of
   * consecutive chunks tile the whole recording's frames exactly (emotion2vecFrameCount).
   */
  stream(options: StreamOptions): Emotion2vecStream {
    const sampleRate = options.sampleRate ?? EMOTION2VEC_SAMPLE_RATE;
    if (sampleRate !== EMOTION2VEC_SAMPLE_RATE) {
      throw new Error(`emotion2vec needs 16 kHz audio, got ${sampleRate} Hz: resample before analyze()`);
    }
    const segmentSeconds = options.segmentSeconds ?? 1.0;
    if (!(segmentSeconds > 0)) throw new RangeError(`segmentSeconds must be > 0, got ${segmentSeconds}`);
    const totalFrames = emotion2vecFrameCount(options.totalSamples);
    if (totalFrames === 0) {
      throw new RangeError(`audio of ${options.totalSamples} samples is shorter than one emotion2vec frame (${RECEPTIVE_FIELD} samples, 25 ms)`);
    }
    if (this.normalisation === 'code' && !options.norm) {
      throw new Error("this emotion2vec export does not normalise its input: stream() needs the recording's layerNormStats");
    }
    const framesPerChunk = Math.max(1, Math.round((options.chunkSeconds ?? 30) * EMOTION2VEC_FRAME_HZ));
    return new Emotion2vecStream(this, {
      totalSamples: options.totalSamples,
      totalFrames,
      framesPerChunk,
      segmentSeconds,
      norm: this.normalisation === 'code' ? options.norm! : null,
    });
  }

  /** @internal One chunk through the session; its frame features [frames, dim]. */
  async runChunk(chunk: Float32Array, expectedFrames: number): Promise<{ data: Float32Array; frames: number; dim: number; ms: number }> {
    const t0 = performance.now();
    const out = await this.session.run({ [this.inputName]: new ort.Tensor('float32', chunk, [1, chunk.length]) });
    const ms = performance.now() - t0;
    this.stats.sessionRuns += 1;
    const feats = out[this.outputName]!;
    const [batch, frames, dim] = feats.dims as number[];
    const expected = emotion2vecFrameCount(chunk.length);
    if (batch !== 1 || frames !== expected || expected !== expectedFrames) {
      throw new Error(
        `${this.modelFile}: ${chunk.length} samples gave output [${feats.dims.join(', ')}], but the conv formula ` +
          `floor((n−k)/s)+1 over [(10,5),(3,2)×4,(2,2),(2,2)] gives ${expected} frames: not an emotion2vec-compatible export`,
      );
    }
    if (this.dim === null) this.dim = dim!;
    if (dim !== this.dim) throw new Error(`${this.modelFile}: output dim ${dim} differs from the declared ${this.dim}`);
    return { data: feats.data as Float32Array, frames: frames!, dim: dim!, ms };
  }

  /** Linear head → unuse_* masked to −inf → softmax → unuse_* dropped (FunASR model.py). */
  classify(embedding: Float32Array): EmotionScores {
    const head = this.head;
    if (!head) throw new Error(`${this.modelDir} has no emotion head (head.json + tokens.txt)`);
    const dim = embedding.length;
    if (head.weight.length !== head.labels.length * dim) {
      throw new Error(`head.json has ${head.weight.length / head.labels.length} columns, embedding has ${dim}`);
    }
    const logits = head.labels.map((label, r) => {
      if (label === null) return -Infinity;
      let s = head.bias[r]!;
      for (let d = 0; d < dim; d++) s += head.weight[r * dim + d]! * embedding[d]!;
      return s;
    });
    const max = Math.max(...logits);
    const exps = logits.map((l) => Math.exp(l - max));
    const z = exps.reduce((a, b) => a + b, 0);
    const labels: string[] = [];
    const probabilities: number[] = [];
    head.labels.forEach((label, r) => {
      if (label === null) return;
      labels.push(label);
      probabilities.push(exps[r]! / z);
    });
    return { labels, probabilities };
  }
}

/**
 * An emotion2vec analysis fed in order (Emotion2vecRunner.stream): frames are pooled into segment and
 * utterance sums as each chunk comes out of the model, so nothing grows with the recording but the
 * segment sums (bounded by the caller's segment count).
 */
export class Emotion2vecStream {
  private readonly buf: Float32Array;
  /** the normalised copy of a chunk (code normalisation only), reused like the buffer */
  private normBuf: Float32Array | null = null;
  private bufLen = 0;
  /** first frame of the next chunk; the buffer starts at its first sample */
  private f0 = 0;
  private pushed = 0;
  private chunks = 0;
  private inferenceMs = 0;
  private readonly started = performance.now();
  private sums: Float64Array[] = [];
  private utterance: Float64Array | null = null;
  private readonly counts: number[];
  private readonly segmentCount: number;

  constructor(
    private readonly runner: Emotion2vecRunner,
    private readonly o: { totalSamples: number; totalFrames: number; framesPerChunk: number; segmentSeconds: number; norm: WaveformNorm | null },
  ) {
    this.segmentCount = this.segmentOf(o.totalFrames - 1) + 1;
    this.counts = new Array<number>(this.segmentCount).fill(0);
    // The first chunk reads the most (later ones have at most as many frames), and it fits in the audio.
    this.buf = new Float32Array(this.chunkSamples(0));
  }

  private segmentOf(frame: number): number {
    return Math.floor(frame / EMOTION2VEC_FRAME_HZ / this.o.segmentSeconds + 1e-9);
  }

  /** Samples the chunk starting at frame f0 reads: frames [f0, f1) need [f0·HOP, (f1 − 1)·HOP + RECEPTIVE_FIELD). */
  private chunkSamples(f0: number): number {
    const f1 = Math.min(this.o.totalFrames, f0 + this.o.framesPerChunk);
    return (f1 - 1 - f0) * HOP + RECEPTIVE_FIELD;
  }

  async push(samples: Float32Array): Promise<void> {
    if (this.pushed + samples.length > this.o.totalSamples) {
      throw new RangeError(`stream of ${this.o.totalSamples} samples was given ${this.pushed + samples.length}`);
    }
    this.pushed += samples.length;
    let i = 0;
    while (i < samples.length) {
      if (this.f0 >= this.o.totalFrames) return; // samples past the last frame's receptive field
      const need = this.chunkSamples(this.f0);
      const take = Math.min(samples.length - i, need - this.bufLen);
      this.buf.set(samples.subarray(i, i + take), this.bufLen);
      this.bufLen += take;
      i += take;
      if (this.bufLen === need) await this.runChunk(need);
    }
  }

  private async runChunk(need: number): Promise<void> {
    const f0 = this.f0;
    const f1 = Math.min(this.o.totalFrames, f0 + this.o.framesPerChunk);
    // run() reads its input before it resolves, so the buffer itself can be fed; a normalised copy keeps the overlap raw.
    const raw = this.buf.subarray(0, need);
    const chunk = this.o.norm ? applyWaveformNorm(raw, this.o.norm, (this.normBuf ??= new Float32Array(this.buf.length)).subarray(0, need)) : raw;
    const { data, frames, dim, ms } = await this.runner.runChunk(chunk, f1 - f0);
    this.inferenceMs += ms;
    this.chunks += 1;
    if (!this.utterance) {
      this.utterance = new Float64Array(dim);
      this.sums = Array.from({ length: this.segmentCount }, () => new Float64Array(dim));
    }
    const utterance = this.utterance;
    for (let j = 0; j < frames; j++) {
      const seg = this.segmentOf(f0 + j);
      const acc = this.sums[seg]!;
      this.counts[seg]! += 1;
      const base = j * dim;
      for (let d = 0; d < dim; d++) {
        const v = data[base + d]!;
        acc[d]! += v;
        utterance[d]! += v;
      }
    }
    // keep what the next chunk reads: from its first frame's first sample on
    const consumed = (f1 - f0) * HOP;
    this.buf.copyWithin(0, consumed, this.bufLen);
    this.bufLen = Math.max(0, this.bufLen - consumed);
    this.f0 = f1;
  }

  async finish(): Promise<AudioEmotionResult> {
    if (this.pushed !== this.o.totalSamples || this.f0 < this.o.totalFrames) {
      throw new Error(`stream of ${this.o.totalSamples} samples ended after ${this.pushed}`);
    }
    const runner = this.runner;
    const dim = this.utterance!.length;
    const duration = this.o.totalSamples / EMOTION2VEC_SAMPLE_RATE;
    const segments: AudioEmotionSegment[] = [];
    for (let k = 0; k < this.segmentCount; k++) {
      if (this.counts[k] === 0) continue;
      const embedding = mean(this.sums[k]!, this.counts[k]!);
      const segment: AudioEmotionSegment = {
        start: k * this.o.segmentSeconds,
        end: Math.min((k + 1) * this.o.segmentSeconds, duration),
        embedding,
        frames: this.counts[k]!,
      };
      if (runner.labels) segment.emotion = runner.classify(embedding);
      segments.push(segment);
    }
    const utteranceMean = mean(this.utterance!, this.o.totalFrames);
    const result: AudioEmotionResult = {
      frames: { count: this.o.totalFrames, dim, hz: EMOTION2VEC_FRAME_HZ },
      segments,
      utterance: utteranceMean,
      normalisation: runner.normalisation,
      chunks: this.chunks,
      inferenceMs: this.inferenceMs,
    };
    if (runner.labels) result.emotion = runner.classify(utteranceMean);
    recordRun(runner.stats, this.started);
    return result;
  }
}

function detectNormalisation(file: string, inputName: string): NormalisationSite {
  return graphNormalisesInput(peekOnnxGraph(file), inputName) ? 'graph' : 'code';
}

function mean(sum: Float64Array, count: number): Float32Array {
  const out = new Float32Array(sum.length);
  for (let d = 0; d < sum.length; d++) out[d] = sum[d]! / count;
  return out;
}

/** `生气/angry` → `angry`, `<unk>` → `unknown`; `unuse_*` → null (masked). */
export function headLabel(entry: string): string | null {
  const name = entry.trim();
  if (name.startsWith('unuse')) return null;
  if (name === '<unk>') return 'unknown';
  const slash = name.lastIndexOf('/');
  return slash >= 0 ? name.slice(slash + 1) : name;
}

function loadHead(modelDir: string): EmotionHead | null {
  const headFile = path.join(modelDir, 'head.json');
  const tokensFile = path.join(modelDir, 'tokens.txt');
  const json = readJsonIfPresent<{ weight?: number[][]; bias?: number[] }>(headFile);
  if (!json) return null;
  if (!existsSync(tokensFile)) throw new Error(`${headFile} needs tokens.txt beside it for its label names`);
  const entries = readFileSync(tokensFile, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const { weight, bias } = json;
  if (!Array.isArray(weight) || !Array.isArray(bias) || weight.length === 0) {
    throw new Error(`${headFile} must hold {"weight": number[labels][dim], "bias": number[labels]}`);
  }
  if (weight.length !== entries.length || bias.length !== entries.length) {
    throw new Error(`${headFile} has ${weight.length} rows and ${bias.length} biases, tokens.txt has ${entries.length} labels`);
  }
  const dim = weight[0]!.length;
  if (weight.some((r) => r.length !== dim)) throw new Error(`${headFile}: weight rows differ in length`);
  return {
    weight: Float32Array.from(weight.flat()),
    bias: Float32Array.from(bias),
    labels: entries.map(headLabel),
  };
}
