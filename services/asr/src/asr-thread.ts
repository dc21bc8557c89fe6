import { workerData } from 'node:worker_threads';
import { modelInfo, serveThread, type LanguageOption, type SpeechActivity } from '@omniaffect/core';
import { WavFileReader } from '@omniaffect/features';
import { SileroVad, WhisperRunner, defaultSileroVadPath, type TranscriptionResult } from '@omniaffect/models';

const { modelDir, provider, intraOpThreads, vadModelPath } = workerData as {
  modelDir: string;
  provider: string;
  intraOpThreads?: number;
  vadModelPath?: string;
};
let runner: WhisperRunner | null = null;
let vad: SileroVad | null = null;

export type Transcription = Omit<TranscriptionResult, 'windows' | 'encoder'> & { windows: number };

/** Silero VAD over the whole file, read in chunks (memory bounded by the VAD's batch, not the file). */
async function detectSpeech(source: WavFileReader): Promise<{ activity: SpeechActivity; ms: number }> {
  if (!vad) throw new Error('VAD not loaded');
  if (source.sampleRate !== 16000) throw new Error(`audio must be 16 kHz (got ${source.sampleRate})`);
  const r = await vad.detect(source, source.length);
  return {
    activity: { regions: r.regions, speechRatio: Math.min(1, r.speechRatio), durationSec: r.durationSec, model: `silero-vad ${vad.version}` },
    ms: r.ms,
  };
}

serveThread({
  async load() {
    const opts = { provider, intraOpThreads: intraOpThreads || undefined };
    runner = await WhisperRunner.load(modelDir, opts);
    vad = await SileroVad.load(vadModelPath || defaultSileroVadPath(), opts);
    return { ...modelInfo(modelDir, provider), vad: `silero-vad ${vad.version}` };
  },
  /** Voice activity only (a provided transcript replaces Whisper, but the timeline still needs the pauses). */
  async speech(audioPath: string): Promise<{ activity: SpeechActivity; ms: number }> {
    const source = new WavFileReader(audioPath);
    try {
      return await detectSpeech(source);
    } finally {
      source.close();
    }
  },
  /** VAD, then Whisper on the voiced stretches alone; no voice at all means no Whisper run. */
  async transcribe(
    audioPath: string,
    language: LanguageOption,
  ): Promise<{
    result: Transcription | null;
    activity: SpeechActivity;
    ms: number;
    wallMs: number;
    vadMs: number;
    decoderSteps: number;
    encoderBatches: number[];
  }> {
    if (!runner) throw new Error('whisper not loaded');
    const source = new WavFileReader(audioPath);
    try {
      const { activity, ms: vadMs } = await detectSpeech(source);
      if (activity.regions.length === 0) return { result: null, activity, ms: 0, wallMs: 0, vadMs, decoderSteps: 0, encoderBatches: [] };
      const t0 = performance.now();
      const before = { steps: runner.stats.decoderSteps, sessionMs: runner.stats.sessionMs };
      const result = await runner.transcribe(source, { language, speech: activity.regions });
      const { windows, encoder, ...rest } = result;
      return {
        result: { ...rest, windows: windows.length },
        activity,
        // the model's own compute (ORT); the log-mel, the logits rules and the loop are the rest of wallMs
        ms: runner.stats.sessionMs - before.sessionMs,
        wallMs: performance.now() - t0,
        vadMs,
        decoderSteps: runner.stats.decoderSteps - before.steps,
        encoderBatches: encoder.batches,
      };
    } finally {
      source.close();
    }
  },
});
