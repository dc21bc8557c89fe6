import { workerData } from 'node:worker_threads';
import { modelInfo, serveThread, type Prosody, type SegmentItem } from '@omniaffect/core';
import { ProsodyTracker, WavFileReader, layerNormStats, type ProsodySummary } from '@omniaffect/features';
import { Emotion2vecRunner, emotion2vecFrameCount } from '@omniaffect/models';

const { modelDir, provider, intraOpThreads, maxSegments } = workerData as { modelDir: string; provider: string; intraOpThreads?: number; maxSegments: number };
let runner: Emotion2vecRunner | null = null;
/** The embedding width, once one analysis has run (emotion2vec does not expose it before). */
let knownDim = 0;

/** emotion2vec's receptive field: fewer samples than this give no frame (analyze() throws RangeError). */
export const MIN_AUDIO_SAMPLES = 400;

/** Samples read from audio.wav at a time: 10 s, so memory stays flat whatever the recording's length. */
const READ_SAMPLES = 160_000;

export interface AudioAnalysis {
  segments: Float32Array;
  dim: number;
  items: SegmentItem[];
  utterance: Float32Array;
  emotion: { labels: string[]; probabilities: number[] } | null;
  prosody: Prosody;
  normalisation: string;
  /** time inside ONNX Runtime (emotion2vec's own compute), ms */
  ms: number;
}

const toProsody = (p: ProsodySummary): Prosody => ({ ...p, voicedRatio: p.voicedRatio ?? 0 });

serveThread({
  async load() {
    runner = await Emotion2vecRunner.load(modelDir, { provider, intraOpThreads: intraOpThreads || undefined });
    return modelInfo(modelDir, provider);
  },
  /**
   * One pass over audio.wav in 10 s reads: each read feeds emotion2vec (which runs a 30 s chunk
   * whenever one is complete) and the prosody tracker. Memory does not grow with the recording but for
   * the frame tracks (~4 MB per hour) and the pooled segment sums (at most AUDIO_MAX_SEGMENTS).
   */
  async analyze(audioPath: string): Promise<AudioAnalysis> {
    if (!runner) throw new Error('emotion2vec not loaded');
    const wav = new WavFileReader(audioPath);
    try {
      const { sampleRate, length } = wav;
      if (sampleRate !== 16000) throw new Error(`audio must be 16 kHz (got ${sampleRate})`);
      const tracker = new ProsodyTracker(sampleRate, length);
      // Shorter than one frame (25 ms, e.g. an empty or truncated track): no segments, so the stage skips
      // the audio modality instead of failing the video.
      if (length < MIN_AUDIO_SAMPLES || emotion2vecFrameCount(length) === 0) {
        tracker.push(wav.read(0, length));
        return {
          segments: new Float32Array(0),
          dim: knownDim,
          items: [],
          utterance: new Float32Array(knownDim),
          emotion: null,
          prosody: toProsody(tracker.finish().summary(0, 0)),
          normalisation: runner.normalisation,
          ms: 0,
        };
      }
      const duration = length / sampleRate;
      // Long recordings get longer segments so the fusion sequence stays bounded.
      const segmentSeconds = Math.max(1, Math.ceil(duration / maxSegments));
      // An export that does not normalise in its graph needs the whole utterance's statistics first.
      const norm = runner.normalisation === 'code' ? layerNormStats((s, n) => wav.read(s, n), length) : undefined;
      const stream = runner.stream({ totalSamples: length, segmentSeconds, sampleRate, norm });
      for (let s = 0; s < length; s += READ_SAMPLES) {
        const x = wav.read(s, READ_SAMPLES);
        tracker.push(x);
        await stream.push(x);
      }
      const r = await stream.finish();
      const track = tracker.finish();
      const dim = r.frames.dim;
      knownDim = dim;
      const segments = new Float32Array(r.segments.length * dim);
      r.segments.forEach((s, i) => segments.set(s.embedding, i * dim));
      const items: SegmentItem[] = r.segments.map((s) => ({ start: s.start, end: s.end, prosody: toProsody(track.summary(s.start, s.end)) }));
      return {
        segments,
        dim,
        items,
        utterance: r.utterance,
        emotion: r.emotion ?? null,
        prosody: toProsody(track.summary()),
        normalisation: r.normalisation,
        ms: r.inferenceMs,
      };
    } finally {
      wav.close();
    }
  },
});
