import { workerData } from 'node:worker_threads';
import { modelInfo, serveThread, type LanguageOption } from '@omniaffect/core';
import { WhisperRunner, type TranscriptionResult } from '@omniaffect/models';
import { WavFileSource } from './wav-file-source';

const { modelDir, provider, intraOpThreads } = workerData as { modelDir: string; provider: string; intraOpThreads?: number };
let runner: WhisperRunner | null = null;

serveThread({
  async load() {
    runner = await WhisperRunner.load(modelDir, { provider, intraOpThreads: intraOpThreads || undefined });
    return modelInfo(modelDir, provider);
  },
  async transcribe(
    audioPath: string,
    language: LanguageOption,
  ): Promise<{ result: Omit<TranscriptionResult, 'windows'> & { windows: number }; ms: number; decoderSteps: number }> {
    if (!runner) throw new Error('whisper not loaded');
    const source = new WavFileSource(audioPath);
    try {
      if (source.sampleRate !== 16000) throw new Error(`audio must be 16 kHz (got ${source.sampleRate})`);
      const t0 = performance.now();
      const result = await runner.transcribe(source, { language });
      const { windows, ...rest } = result;
      return {
        result: { ...rest, windows: windows.length },
        ms: performance.now() - t0,
        decoderSteps: (runner.stats as { decoderSteps?: number }).decoderSteps ?? 0,
      };
    } finally {
      source.close();
    }
  },
});
