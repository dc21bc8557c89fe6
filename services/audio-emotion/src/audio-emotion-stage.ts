import { artifactPaths, type ModelWorkerContext, type StageHandler } from '@omniaffect/core';
import type { AudioAnalysis } from './audio-emotion-thread';

/** emotion2vec segments (+ prosody) → fusion; the utterance-level view → audio-emotion.json. */
export function audioEmotionStage(ctx: ModelWorkerContext<unknown>): StageHandler {
  const model = `${String(ctx.loaded.name)}`;
  return async (job) => {
    const a = await ctx.thread.call<AudioAnalysis>('analyze', [ctx.store.resolve(job.inputs.audio)]);
    ctx.metrics.inferenceSeconds.observe({ model: 'emotion2vec' }, a.ms / 1000);
    ctx.metrics.batchSize.observe({ model: 'emotion2vec' }, 1);
    if (a.items.length === 0) return { outcome: 'skipped', problem: { type: 'no-audio-track', detail: 'the audio track is empty' } };
    await ctx.fusion.pushWithRetry({ videoId: job.videoId, modality: 'audio', kind: 'segments', shape: [a.items.length, a.dim], data: a.segments, items: a.items, model });
    await ctx.fusion.pushWithRetry({ videoId: job.videoId, modality: 'audio', kind: 'utterance', shape: [a.dim], data: a.utterance, items: [], model });
    const top = a.emotion ? a.emotion.labels[a.emotion.probabilities.indexOf(Math.max(...a.emotion.probabilities))] : null;
    await ctx.store.writeJson(artifactPaths.stageOutput(job.videoId, 'audio-emotion'), {
      segments: a.items,
      emotion: a.emotion,
      prosody: a.prosody,
      normalisation: a.normalisation,
    });
    return {
      outcome: 'done',
      output: {
        segments: a.items.length,
        dim: a.dim,
        speechEmotion: top,
        model: { name: model, provider: String(ctx.loaded.provider), normalisation: a.normalisation },
      },
    };
  };
}
