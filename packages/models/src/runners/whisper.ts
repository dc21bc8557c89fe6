import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { logMelSpectrogram, WhisperTokenizer, WHISPER_LANGUAGES } from '@omniaffect/features';
import { createSession, type CreateSessionOptions } from '../session';
import { decoderCacheNamesFromSession, type DecoderCacheNames } from '../contracts';
import { fromFloat16, toFloat16 } from './float16';
import { inputMeta, outputMeta, readJsonIfPresent, requireNames, resolveOnnxGraph, type DtypeChoice } from './model-files';
import { newStats, recordRun, type InferenceStats } from './stats';
import { applyLogitsRules, argmax, logProbOf, logSumExp, type LogitsRules, type WhisperTokenIds } from './whisper-logits';
import { splitWindow } from './whisper-segments';

export const WHISPER_SAMPLE_RATE = 16000;
/** Samples in one 30 s window (the encoder's fixed input span). */
export const WHISPER_WINDOW_SAMPLES = 480000;
/** Samples per timestamp step (0.02 s), the unit in which seek moves. */
const SAMPLES_PER_TIMESTAMP = 320;

export type WhisperLanguage = 'zh' | 'en';

export interface WhisperLoadOptions {
  /** 'cpu' (default) or 'cuda:<id>'. */
  provider?: CreateSessionOptions['provider'];
  /** transformers.js dtype ('fp32', 'fp16', 'q4', …) or one per graph; default from the model dir. */
  dtype?: DtypeChoice;
  intraOpThreads?: number;
}

export interface TranscribeOptions {
  language?: 'auto' | WhisperLanguage;
  /** Cap on tokens per window, counting the prompt (Whisper's context is 448). */
  maxNewTokens?: number;
  /** Windows whose <|nospeech|> probability exceeds this are dropped (see logProbThreshold). */
  noSpeechThreshold?: number;
  /**
   * OpenAI's second no-speech condition: a window is dropped only if its average token log-probability
   * is also below this. null (the default) drops on the no-speech probability alone, which lets a
   * clearly silent window skip decoding entirely.
   */
  logProbThreshold?: number | null;
  /** Emit timestamp tokens (default) or decode in <|notimestamps|> mode (one segment per window). */
  timestamps?: boolean;
  /**
   * Where the voice is (a VAD's regions, seconds). When given, audio outside them is never encoded or
   * decoded: a window starts at the next region and there is no window after the last one. Whisper
   * hallucinates text on silence and music, and the gate also saves the decoding of every silent window.
   */
  speech?: readonly { start: number; end: number }[];
  /**
   * Most 30 s windows encoded in one encoder run (default ENCODER_BATCH; 1 when the session's batch axis
   * is fixed). See transcribe(): windows ahead are encoded on the prediction that the current one is
   * consumed whole, and used only when that comes true.
   */
  encoderBatch?: number;
}

/** Windows one encoder run may hold by default: enough to fill a GPU's batch, few enough to bound the memory (4 × 7.7 MB of hidden states for large-v3). */
export const ENCODER_BATCH = 4;

/** Pulls 16 kHz mono samples on demand so long audio never sits in memory whole. */
export interface SampleSource {
  /** Up to `length` samples from `start`; fewer (or none) at the end of the audio. */
  read(start: number, length: number): Float32Array | Promise<Float32Array>;
}

export interface TranscriptSegment {
  /** Seconds from the start of the audio. */
  start: number;
  end: number;
  text: string;
  /** Text token ids of the segment (timestamps and specials removed). */
  tokens: number[];
}

export interface WhisperWindowReport {
  start: number;
  end: number;
  prompt: number[];
  noSpeechProbability: number;
  avgLogProb: number;
  /** Every token generated after the prompt, eot excluded. */
  generated: number[];
  skipped: boolean;
}

export interface TranscriptionResult {
  language: WhisperLanguage;
  /** Two-way softmax over <|zh|>/<|en|> at the start-of-transcript position of the first window, for `language`. */
  languageProbability: number;
  /** Set when the model's top language overall is neither zh nor en. */
  languageOutOfScope?: true;
  /** The model's top language token overall (e.g. { id: 50266, code: 'ja' }). */
  topLanguage: { id: number; code: string };
  /** Lowest <|nospeech|> probability over the windows: high only when no window holds speech. */
  noSpeechProbability: number;
  segments: TranscriptSegment[];
  text: string;
  windows: WhisperWindowReport[];
  /** windows per encoder run, and windows encoded ahead that the seek passed by */
  encoder: { batches: number[]; discarded: number };
}

export interface WhisperStats extends InferenceStats {
  /** windows encoded (several per session run when batched) */
  encoderRuns: number;
  /** encoder session runs, and the windows they held (encoderRuns) */
  encoderBatches: number;
  /** windows encoded ahead that the seek then passed by (wasted work) */
  encoderMisses: number;
  decoderSteps: number;
  /** time inside ONNX Runtime, ms (the rest of a transcription is the log-mel, the logits rules and the loop) */
  sessionMs: number;
}

interface GenerationConfig {
  decoder_start_token_id?: number;
  eos_token_id?: number | number[];
  no_timestamps_token_id?: number;
  suppress_tokens?: number[];
  begin_suppress_tokens?: number[];
  lang_to_id?: Record<string, number>;
  task_to_id?: Record<string, number>;
  max_initial_timestamp_index?: number;
  max_length?: number;
}

interface WhisperModelConfig {
  max_target_positions?: number;
}

/**
 * Whisper (large-v3-turbo layout) on onnxruntime-node: one encoder run per 30 s window, then greedy
 * decoding through the merged decoder's KV cache the way transformers.js drives it (models.md §1.5).
 *
 * Long audio follows OpenAI transcribe.py's seek rule: a window whose output ends with a single
 * closing timestamp is finished, so the next window starts where this one ended; a window whose
 * output stops mid-segment (token cap) resumes at its last complete timestamp. Only one window's
 * samples, mel and KV cache are alive at a time.
 */
export class WhisperRunner {
  readonly stats: WhisperStats = { ...newStats(), encoderRuns: 0, encoderBatches: 0, encoderMisses: 0, decoderSteps: 0, sessionMs: 0 };
  private readonly ids: WhisperTokenIds;
  private readonly langToId: Map<string, number>;
  private readonly cache: DecoderCacheNames;
  private readonly nMels: number;
  /** Tokens per window, prompt included: the smaller of config.json max_target_positions and generation max_length (448 when neither says). */
  readonly maxTarget: number;

  private constructor(
    readonly modelDir: string,
    readonly encoder: ort.InferenceSession,
    readonly decoder: ort.InferenceSession,
    readonly tokenizer: WhisperTokenizer,
    private readonly gen: GenerationConfig,
    config: WhisperModelConfig,
    readonly files: { encoder: string; decoder: string },
  ) {
    requireNames(encoder, files.encoder, ['input_features'], ['last_hidden_state']);
    requireNames(decoder, files.decoder, ['input_ids', 'encoder_hidden_states', 'use_cache_branch'], ['logits']);
    this.cache = decoderCacheNamesFromSession(decoder.inputNames, decoder.outputNames);
    const melDim = inputMeta(encoder, 'input_features')?.shape[1];
    this.nMels = typeof melDim === 'number' ? melDim : 128;

    const noTimestamps = gen.no_timestamps_token_id ?? 50364;
    this.ids = {
      eot: (Array.isArray(gen.eos_token_id) ? gen.eos_token_id[0] : gen.eos_token_id) ?? 50257,
      sot: gen.decoder_start_token_id ?? 50258,
      translate: gen.task_to_id?.translate ?? 50359,
      transcribe: gen.task_to_id?.transcribe ?? 50360,
      noSpeech: noTimestamps - 1,
      noTimestamps,
      timestampBegin: noTimestamps + 1,
    };
    this.langToId = new Map();
    if (gen.lang_to_id) {
      for (const [token, id] of Object.entries(gen.lang_to_id)) this.langToId.set(token.replace(/^<\||\|>$/g, ''), id);
    } else {
      // Language tokens sit between <|startoftranscript|> and <|translate|> in WHISPER_LANGUAGES order.
      const count = this.ids.translate - this.ids.sot - 1;
      WHISPER_LANGUAGES.slice(0, count).forEach((code, i) => this.langToId.set(code, this.ids.sot + 1 + i));
    }
    for (const lang of ['zh', 'en']) {
      if (!this.langToId.has(lang)) throw new Error(`${modelDir}: generation config has no <|${lang}|> token`);
    }
    const vocab = outputMeta(decoder, 'logits')?.shape[2];
    if (typeof vocab === 'number' && vocab <= this.ids.timestampBegin) {
      throw new Error(`${files.decoder}: logits have ${vocab} entries, too few for timestamp tokens from ${this.ids.timestampBegin}`);
    }
    // max_target_positions is what the decoder can hold; max_length is the generation setting a deployer
    // may lower, so neither may override the other upwards.
    const caps = [config.max_target_positions, gen.max_length].filter((c): c is number => typeof c === 'number' && c > 0);
    this.maxTarget = caps.length ? Math.min(...caps) : 448;
  }

  static async load(modelDir: string, options: WhisperLoadOptions = {}): Promise<WhisperRunner> {
    const files = {
      encoder: resolveOnnxGraph(modelDir, 'encoder_model', options.dtype),
      decoder: resolveOnnxGraph(modelDir, 'decoder_model_merged', options.dtype),
    };
    const gen = readJsonIfPresent<GenerationConfig>(path.join(modelDir, 'generation_config.json'));
    if (!gen) throw new Error(`${modelDir} lacks generation_config.json (token ids and suppression lists)`);
    const config = readJsonIfPresent<WhisperModelConfig>(path.join(modelDir, 'config.json')) ?? {};
    const tokenizer = WhisperTokenizer.fromModelDir(modelDir);
    const sessionOptions = { provider: options.provider, intraOpThreads: options.intraOpThreads };
    const encoder = await createSession(files.encoder, sessionOptions);
    const decoder = await createSession(files.decoder, sessionOptions);
    return new WhisperRunner(modelDir, encoder, decoder, tokenizer, gen, config, files);
  }

  get layers(): number {
    return this.cache.layers;
  }

  get inferenceStats(): WhisperStats {
    return this.stats;
  }

  languageToken(lang: WhisperLanguage): number {
    return this.langToId.get(lang)!;
  }

  async transcribe(audio: Float32Array | SampleSource, options: TranscribeOptions = {}): Promise<TranscriptionResult> {
    const started = performance.now();
    const source: SampleSource = audio instanceof Float32Array ? { read: (s, n) => audio.subarray(s, s + n) } : audio;
    const timestamps = options.timestamps ?? true;
    const noSpeechThreshold = options.noSpeechThreshold ?? 0.6;
    const logProbThreshold = options.logProbThreshold ?? null;
    const maxTotal = Math.min(this.maxTarget, options.maxNewTokens ?? this.maxTarget);
    const rules: LogitsRules = {
      ids: this.ids,
      suppressTokens: this.gen.suppress_tokens ?? [],
      // HF's default when the config has none: the bare space (220) and eot may not open a transcript.
      beginSuppressTokens: this.gen.begin_suppress_tokens ?? [220, this.ids.eot],
      timestamps,
      maxInitialTimestampIndex: this.gen.max_initial_timestamp_index ?? 50,
    };

    const forced: WhisperLanguage | null = options.language && options.language !== 'auto' ? options.language : null;
    let language: WhisperLanguage | null = forced;
    let detection: LanguageDetection | null = null;
    // Auto mode settles the language on the first window that holds speech: a leading silent window
    // says nothing about the language, so the next window is probed again.
    const unsettle = () => {
      if (!forced) language = null;
    };
    const segments: TranscriptSegment[] = [];
    const windows: WhisperWindowReport[] = [];
    // The next window starts where the voice does (on the 20 ms grid Whisper's timestamps live on);
    // null: no voice after `seek`.
    const windowStart = (at: number): number | null => {
      if (!options.speech) return at;
      const sec = at / WHISPER_SAMPLE_RATE;
      const next = options.speech.find((r) => r.end > sec + 0.01);
      if (!next) return null;
      return next.start > sec ? Math.max(at, Math.floor((next.start * WHISPER_SAMPLE_RATE) / SAMPLES_PER_TIMESTAMP) * SAMPLES_PER_TIMESTAMP) : at;
    };
    const ahead = new EncoderLookahead(this, source, windowStart, Math.max(1, Math.min(options.encoderBatch ?? ENCODER_BATCH, this.encoderBatchLimit)));
    let seek = 0;
    for (;;) {
      const start = windowStart(seek);
      if (start === null) break;
      seek = start;
      const window = await ahead.window(seek);
      if (!window) break;
      const { samples, hidden } = window;
      const offsetSec = seek / WHISPER_SAMPLE_RATE;
      const windowSeconds = samples.length / WHISPER_SAMPLE_RATE;

      const firstStep = async (prompt: number[]) => this.step(prompt, hidden, null);
      let step0: StepResult;
      let prompt: number[];
      if (language === null) {
        // Language id as OpenAI's detect_language: the logits right after <|startoftranscript|>.
        const probe = await firstStep([this.ids.sot]);
        detection = this.detectLanguage(probe.logits, 0);
        language = detection.language;
        prompt = this.prompt(detection.language, timestamps);
        step0 = await firstStep(prompt);
      } else {
        prompt = this.prompt(language, timestamps);
        step0 = await firstStep(prompt);
        detection ??= this.detectLanguage(step0.logits, 0);
      }
      const noSpeech = Math.exp(logProbOf(row(step0.logits, 0), this.ids.noSpeech));

      const report: WhisperWindowReport = {
        start: offsetSec,
        end: offsetSec + windowSeconds,
        prompt,
        noSpeechProbability: noSpeech,
        avgLogProb: 0,
        generated: [],
        skipped: false,
      };
      windows.push(report);
      if (noSpeech > noSpeechThreshold && logProbThreshold === null) {
        report.skipped = true;
        unsettle();
        seek += samples.length;
        continue;
      }

      const decoded = await this.greedy(prompt, step0, hidden, rules, maxTotal);
      report.generated = decoded.tokens;
      report.avgLogProb = decoded.sumLogProb / (decoded.tokens.length + 1);
      if (noSpeech > noSpeechThreshold && logProbThreshold !== null && report.avgLogProb < logProbThreshold) {
        report.skipped = true;
        unsettle();
        seek += samples.length;
        continue;
      }

      const split = timestamps
        ? splitWindow(decoded.tokens, this.ids.timestampBegin, windowSeconds)
        : { segments: [{ start: 0, end: windowSeconds, tokens: decoded.tokens }], advanceSeconds: windowSeconds };
      for (const s of split.segments) {
        const text = this.tokenizer.decode(s.tokens);
        if (text.trim() === '') continue;
        segments.push({ start: round2(offsetSec + s.start), end: round2(offsetSec + s.end), text, tokens: s.tokens });
      }
      const advance = Math.min(samples.length, Math.round(split.advanceSeconds / 0.02) * SAMPLES_PER_TIMESTAMP);
      seek += advance > 0 ? advance : samples.length;
      if (samples.length < WHISPER_WINDOW_SAMPLES && advance >= samples.length) break;
    }

    const det = detection ?? { language: language ?? 'en', probability: 0, top: { id: -1, code: 'none' }, outOfScope: false };
    const finalLanguage = language ?? det.language;
    const result: TranscriptionResult = {
      language: finalLanguage,
      // For a forced language this is how well the audio agrees with it, not a confidence in the choice.
      languageProbability: finalLanguage === det.language ? det.probability : 1 - det.probability,
      topLanguage: det.top,
      noSpeechProbability: windows.length ? Math.min(...windows.map((w) => w.noSpeechProbability)) : 1,
      segments,
      text: segments.map((s) => s.text).join(''),
      windows,
      encoder: { batches: ahead.batches, discarded: ahead.discarded },
    };
    if (det.outOfScope) result.languageOutOfScope = true;
    this.stats.encoderMisses += ahead.discarded;
    recordRun(this.stats, started);
    return result;
  }

  /** [<|startoftranscript|>, <|lang|>, <|transcribe|>] (+ <|notimestamps|> when timestamps are off). */
  prompt(language: WhisperLanguage, timestamps = true): number[] {
    const p = [this.ids.sot, this.languageToken(language), this.ids.transcribe];
    if (!timestamps) p.push(this.ids.noTimestamps);
    return p;
  }

  private detectLanguage(logits: ort.Tensor, position: number): LanguageDetection {
    return identifyLanguage(row(logits, position), this.langToId);
  }

  /** Windows one encoder run can hold: 1 when the export fixes its batch axis. */
  get encoderBatchLimit(): number {
    const b = inputMeta(this.encoder, 'input_features')?.shape[0];
    return typeof b === 'number' ? b : Number.MAX_SAFE_INTEGER;
  }

  /** @internal The encoder on several windows at once (one session run); one hidden state per window. */
  async encodeBatch(windows: Float32Array[]): Promise<ort.Tensor[]> {
    const n = windows.length;
    const frameValues = this.nMels * 3000;
    const mel = new Float32Array(n * frameValues);
    windows.forEach((w, i) => mel.set(logMelSpectrogram(w, { nMels: this.nMels }), i * frameValues));
    const type = inputMeta(this.encoder, 'input_features')?.type;
    const dims = [n, this.nMels, 3000];
    const feed = type === 'float16' ? new ort.Tensor('float16', toFloat16(mel), dims) : new ort.Tensor('float32', mel, dims);
    const t0 = performance.now();
    const out = await this.encoder.run({ input_features: feed });
    this.stats.sessionMs += performance.now() - t0;
    this.stats.encoderRuns += n;
    this.stats.encoderBatches += 1;
    this.stats.sessionRuns += 1;
    const hidden = out['last_hidden_state']!;
    if (n === 1) return [hidden];
    const [, frames, dim] = hidden.dims as number[];
    const per = frames! * dim!;
    const data = hidden.data as Float32Array | Uint16Array;
    return windows.map((_, i) =>
      hidden.type === 'float16'
        ? new ort.Tensor('float16', (data as Uint16Array).subarray(i * per, (i + 1) * per), [1, frames!, dim!])
        : new ort.Tensor('float32', (data as Float32Array).subarray(i * per, (i + 1) * per), [1, frames!, dim!]),
    );
  }

  /**
   * One decoder call. Without `past` this is step 0: zero-length caches sized from the session
   * metadata and use_cache_branch=false. With `past`, only the newest token is fed.
   */
  private async step(inputIds: number[], hidden: ort.Tensor, past: Map<string, ort.Tensor> | null): Promise<StepResult> {
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(inputIds.map(BigInt)), [1, inputIds.length]),
      encoder_hidden_states: hidden,
      use_cache_branch: new ort.Tensor('bool', [past !== null], [1]),
    };
    for (const name of this.cache.past) feeds[name] = past?.get(name) ?? this.emptyCache(name);
    const t0 = performance.now();
    const out = await this.decoder.run(feeds);
    this.stats.sessionMs += performance.now() - t0;
    this.stats.decoderSteps += 1;
    this.stats.sessionRuns += 1;
    const next = new Map<string, ort.Tensor>();
    this.cache.past.forEach((name, i) => {
      // With use_cache_branch=true the encoder presents are empty placeholders: keep step 0's.
      const keep = past !== null && name.includes('.encoder.');
      next.set(name, keep ? past.get(name)! : out[this.cache.present[i]!]!);
    });
    return { logits: out['logits']!, past: next };
  }

  private emptyCache(name: string): ort.Tensor {
    const meta = inputMeta(this.decoder, name);
    if (!meta) throw new Error(`decoder has no input ${name}`);
    const dims = meta.shape.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : 0));
    return meta.type === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
  }

  private async greedy(
    prompt: number[],
    step0: StepResult,
    hidden: ort.Tensor,
    rules: LogitsRules,
    maxTotal: number,
  ): Promise<{ tokens: number[]; sumLogProb: number }> {
    const tokens: number[] = [];
    let sumLogProb = 0;
    let current = step0;
    while (prompt.length + tokens.length < maxTotal) {
      const dims = current.logits.dims;
      const logits = row(current.logits, dims[1]! - 1, true);
      applyLogitsRules(logits, tokens, rules);
      const next = argmax(logits);
      sumLogProb += logits[next]! - logSumExp(logits, 0, logits.length);
      if (next === this.ids.eot) break;
      tokens.push(next);
      if (prompt.length + tokens.length >= maxTotal) break;
      current = await this.step([next], hidden, current.past);
    }
    return { tokens, sumLogProb };
  }
}

/**
 * Encoder batching under OpenAI's seek rule. Where the next window starts depends on how the current one
 * decodes (a window ending in a single timestamp, or with no speech, is consumed whole; otherwise the
 * next starts at its last complete segment), so windows cannot all be cut up front. Instead, windows
 * ahead are read and encoded with the current one, at the places they start if each window before them
 * is consumed whole (the VAD's jumps applied), and kept until the seek shows whether the prediction came
 * true. A hit doubles how far ahead the next batch reaches (up to the cap); a miss throws the rest away
 * and goes back to one window. Each window is encoded from exactly the samples a one-at-a-time run
 * reads, so the transcript is the same; on audio Whisper consumes whole (silence between voiced
 * stretches, short utterances) the encoder runs in batches, elsewhere little is wasted.
 * @internal (exported for its tests)
 */
export class EncoderLookahead {
  /** windows encoded ahead, by start sample; empty samples mark the end of the audio */
  private readonly ready = new Map<number, { samples: Float32Array; hidden: ort.Tensor | null }>();
  /** windows the next encoder run reads: this one and reach − 1 predicted */
  private reach: number;
  /** windows to go one at a time after a miss before predicting again (doubles with each miss in a row) */
  private cooldown = 0;
  private penalty = 1;
  discarded = 0;
  /** windows per encoder run, in order */
  readonly batches: number[] = [];

  constructor(
    private readonly runner: WhisperRunner,
    private readonly source: SampleSource,
    private readonly windowStart: (at: number) => number | null,
    private readonly max: number,
  ) {
    this.reach = Math.min(2, max);
  }

  /** The window at `start` (its samples and encoder output), or null at the end of the audio. */
  async window(start: number): Promise<{ samples: Float32Array; hidden: ort.Tensor } | null> {
    let w = this.ready.get(start);
    if (w) {
      // the seek went where it was predicted to: reach further next time
      this.reach = Math.min(this.max, this.reach * 2);
      this.penalty = 1;
    } else {
      if (this.ready.size) {
        // it did not: one window at a time for a while, longer after each miss in a row (at most 16)
        this.drop(Infinity);
        this.cooldown = this.penalty;
        this.penalty = Math.min(16, this.penalty * 2);
        this.reach = 1;
      } else if (this.cooldown > 0 && --this.cooldown === 0) {
        this.reach = Math.min(2, this.max);
      }
      await this.fill(start);
      w = this.ready.get(start)!;
    }
    this.drop(start);
    this.ready.delete(start);
    return w.samples.length === 0 || !w.hidden ? null : { samples: w.samples, hidden: w.hidden };
  }

  /** Reads the window at `start` and those predicted after it, `reach` in all, and encodes them in one run. */
  private async fill(start: number): Promise<void> {
    const starts: number[] = [];
    const windows: Float32Array[] = [];
    let at: number | null = start;
    while (at !== null && windows.length < this.reach) {
      const samples = await this.source.read(at, WHISPER_WINDOW_SAMPLES);
      if (samples.length === 0) {
        this.ready.set(at, { samples, hidden: null });
        break;
      }
      starts.push(at);
      windows.push(samples);
      // a short read is the end of the audio: nothing can follow it
      at = samples.length < WHISPER_WINDOW_SAMPLES ? null : this.windowStart(at + samples.length);
    }
    if (windows.length === 0) return;
    this.batches.push(windows.length);
    const hidden = await this.runner.encodeBatch(windows);
    starts.forEach((s, i) => this.ready.set(s, { samples: windows[i]!, hidden: hidden[i]! }));
  }

  /** Forgets windows before `before` (all of them with Infinity): the seek has passed them. */
  private drop(before: number): void {
    for (const [s, w] of this.ready) {
      if (s >= before) continue;
      if (w.hidden) this.discarded += 1;
      this.ready.delete(s);
    }
  }
}

interface StepResult {
  logits: ort.Tensor;
  past: Map<string, ort.Tensor>;
}

export interface LanguageDetection {
  language: WhisperLanguage;
  /** Softmax over just the <|zh|> and <|en|> logits. */
  probability: number;
  /** Best language token over every language the model knows. */
  top: { id: number; code: string };
  outOfScope: boolean;
}

/**
 * Language id from the logits after <|startoftranscript|>: the service handles zh and en only, so
 * the answer is the better of those two (two-way softmax), and audio whose best language overall is
 * another one is flagged rather than silently relabelled.
 */
export function identifyLanguage(logits: Float32Array, languages: ReadonlyMap<string, number>): LanguageDetection {
  let topId = -1;
  let topCode = 'unknown';
  let topLogit = -Infinity;
  for (const [code, id] of languages) {
    if (id < logits.length && logits[id]! > topLogit) {
      topLogit = logits[id]!;
      topId = id;
      topCode = code;
    }
  }
  const zh = logits[languages.get('zh')!]!;
  const en = logits[languages.get('en')!]!;
  const pZh = 1 / (1 + Math.exp(en - zh));
  const language: WhisperLanguage = pZh >= 0.5 ? 'zh' : 'en';
  return {
    language,
    probability: language === 'zh' ? pZh : 1 - pZh,
    top: { id: topId, code: topCode },
    outOfScope: topCode !== 'zh' && topCode !== 'en',
  };
}

/** One position's logits as float32 (a copy when `copy`, since the processors edit in place). */
function row(logits: ort.Tensor, position: number, copy = false): Float32Array {
  const vocab = logits.dims[2]!;
  if (logits.type === 'float16') {
    return fromFloat16((logits.data as Uint16Array).subarray(position * vocab, (position + 1) * vocab));
  }
  const view = (logits.data as Float32Array).subarray(position * vocab, (position + 1) * vocab);
  return copy ? Float32Array.from(view) : view;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
