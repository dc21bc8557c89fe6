import {
  AudioEmotionArtifactSchema,
  artifactPaths,
  parseContract,
  standInOf,
  type AudioEmotionArtifact,
  type AudioEmotionOutput,
  type ModelEntry,
  type ModelWorkerContext,
  type StageHandler,
  requiredInput,
} from '@omniaffect/core';
import type { AudioAnalysis } from './audio-emotion-thread';

/** audio-emotion.json's shape is declared once, in core's stage-contracts. */
export type { AudioEmotionArtifact };

const topEmotion = (e: AudioEmotionArtifact['emotion']): string | null =>
  e && e.probabilities.length ? (e.labels[e.probabilities.indexOf(Math.max(...e.probabilities))] ?? null) : null;

function summary(a: AudioEmotionArtifact, fallbackModel: ModelEntry): AudioEmotionOutput {
  return {
    segments: a.segments.length,
    dim: a.dim ?? null,
    speechEmotion: topEmotion(a.emotion),
    model: a.model ?? fallbackModel,
  };
}

/** emotion2vec segments (+ prosody) → fusion; the utterance-level view → audio-emotion.json. */
export function audioEmotionStage(ctx: ModelWorkerContext<unknown>): StageHandler {
  const model = `${String(ctx.loaded.name)}`;
  const provider = String(ctx.loaded.provider);
  return async (job) => {
    const outRel = artifactPaths.stageOutput(job.videoId, 'audio-emotion');
    // A re-run after a lost completion: the file is written only after both fusion pushes
    // succeeded (below), so its presence means fusion already has this video's audio embeddings.
    if (await ctx.store.exists(outRel)) {
      const prev = parseContract(AudioEmotionArtifactSchema, await ctx.store.readJson<unknown>(outRel), 'audio-emotion.json');
      return { outcome: 'done', output: summary(prev, { name: model, provider, normalisation: prev.normalisation, ...standInOf(ctx.loaded) }) };
    }
    const a = await ctx.thread.call<AudioAnalysis>('analyze', [ctx.store.resolve(requiredInput(job, 'audio'))]);
    ctx.metrics.inferenceSeconds.observe({ model: 'emotion2vec' }, a.ms / 1000);
    ctx.metrics.batchSize.observe({ model: 'emotion2vec' }, 1);
    if (a.items.length === 0) {
      return {
        outcome: 'skipped',
        problem: { type: 'no-audio-track', detail: 'audio track shorter than 25 ms (one emotion2vec frame): the audio modality is skipped' },
      };
    }
    // Order matters: push to fusion first, write the artifact last (the re-run shortcut above relies on it).
    await ctx.fusion.pushWithRetry({
      videoId: job.videoId,
      modality: 'audio',
      kind: 'segments',
      shape: [a.items.length, a.dim],
      data: a.segments,
      items: a.items,
      model,
    });
    await ctx.fusion.pushWithRetry({ videoId: job.videoId, modality: 'audio', kind: 'utterance', shape: [a.dim], data: a.utterance, items: [], model });
    const entry: ModelEntry = { name: model, provider, normalisation: a.normalisation, ...standInOf(ctx.loaded) };
    const artifact: AudioEmotionArtifact = {
      segments: a.items,
      emotion: a.emotion,
      prosody: a.prosody,
      normalisation: a.normalisation,
      dim: a.dim,
      model: entry,
    };
    await ctx.store.writeJson(outRel, artifact);
    return { outcome: 'done', output: summary(artifact, entry) };
  };
}
