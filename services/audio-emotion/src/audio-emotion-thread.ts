import { workerData } from 'node:worker_threads';
import { modelInfo, serveThread, type Prosody, type SegmentItem } from '@omniaffect/core';
import { prosodySummary, readWavMono } from '@omniaffect/features';
import { Emotion2vecRunner, emotion2vecFrameCount } from '@omniaffect/models';

const { modelDir, provider, intraOpThreads, maxSegments } = workerData as { modelDir: string; provider: string; intraOpThreads?: number; maxSegments: number };
let runner: Emotion2vecRunner | null = null;
/** The embedding width, once one analysis has run (emotion2vec does not expose it before). */
let knownDim = 0;

/** emotion2vec's receptive field: fewer samples than this give no frame (analyze() throws RangeError). */
export const MIN_AUDIO_SAMPLES = 400;

export interface AudioAnalysis {
  segments: Float32Array;
  dim: number;
  items: SegmentItem[];
  utterance: Float32Array;
  emotion: { labels: string[]; probabilities: number[] } | null;
  prosody: Prosody;
  normalisation: string;
  ms: number;
}

const toProsody = (p: ReturnType<typeof prosodySummary>): Prosody => ({ ...p, voicedRatio: p.voicedRatio ?? 0 });

serveThread({
  async load() {
    runner = await Emotion2vecRunner.load(modelDir, { provider, intraOpThreads: intraOpThreads || undefined });
    return modelInfo(modelDir, provider);
  },
  async analyze(audioPath: string): Promise<AudioAnalysis> {
    if (!runner) throw new Error('emotion2vec not loaded');
    const { sampleRate, samples } = readWavMono(audioPath);
    if (sampleRate !== 16000) throw new Error(`audio must be 16 kHz (got ${sampleRate})`);
    // Shorter than one frame (25 ms, e.g. an empty or truncated track): no segments, so the stage skips
    // the audio modality instead of failing the video.
    if (samples.length < MIN_AUDIO_SAMPLES || emotion2vecFrameCount(samples.length) === 0) {
      return {
        segments: new Float32Array(0),
        dim: knownDim,
        items: [],
        utterance: new Float32Array(knownDim),
        emotion: null,
        prosody: toProsody(prosodySummary(samples, sampleRate, 0, 0)),
        normalisation: runner.normalisation,
        ms: 0,
      };
    }
    const duration = samples.length / sampleRate;
    // Long recordings get longer segments so the fusion sequence stays bounded.
    const segmentSeconds = Math.max(1, Math.ceil(duration / maxSegments));
    const t0 = performance.now();
    const r = await runner.analyze(samples, { segmentSeconds, sampleRate });
    const ms = performance.now() - t0;
    const dim = r.frames.dim;
    knownDim = dim;
    const segments = new Float32Array(r.segments.length * dim);
    r.segments.forEach((s, i) => segments.set(s.embedding, i * dim));
    const items: SegmentItem[] = r.segments.map((s) => ({
      start: s.start,
      end: s.end,
      prosody: toProsody(prosodySummary(samples, sampleRate, s.start, s.end)),
    }));
    return {
      segments,
      dim,
      items,
      utterance: r.utterance,
      emotion: r.emotion ?? null,
      prosody: toProsody(prosodySummary(samples, sampleRate)),
      normalisation: r.normalisation,
      ms,
    };
  },
});
