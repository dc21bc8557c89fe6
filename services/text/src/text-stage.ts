import { standInOf, artifactPaths, type Logger, type ModelWorkerContext, type StageHandler, type TokenItem } from '@omniaffect/core';
import type { LanguageTextEmbedding } from '@omniaffect/models';
import { tokenTimes } from './token-times';

interface AsrArtifact {
  language: string;
  text: string;
  segments: { start: number; end: number; text: string; charStart: number; charEnd: number }[];
}

/**
 * The drift record says where the tokenizers parted (piece index, both ids, piece count) and never
 * what the text was: logs are kept and read outside the tenant's reach, transcripts are the tenant's.
 * The ids map back to vocabulary entries, which is enough to reproduce the disagreement offline.
 */
export function logTokenizerDrift(log: Pick<Logger, 'warn'>, e: Pick<LanguageTextEmbedding, 'tokenizerDriftAt' | 'model' | 'slot'>): void {
  if (!e.tokenizerDriftAt) return;
  log.warn({ drift: e.tokenizerDriftAt, model: e.model, slot: e.slot }, 'the tokenizer library and the reference algorithm disagreed; the reference ids were used');
}

/** Transcript → WordPiece token embeddings (encoder picked by language) → fusion. */
export function textStage(ctx: ModelWorkerContext<unknown>): StageHandler {
  return async (job, { log }) => {
    const asr = await ctx.store.readJson<AsrArtifact>(job.inputs.asr ?? artifactPaths.stageOutput(job.videoId, 'asr'));
    if (!asr.text.trim()) return { outcome: 'skipped', problem: { type: 'validation', detail: 'empty transcript' } };
    const language = asr.language || job.language;
    const { embedding: e, ms, model } = await ctx.thread.call<{ embedding: LanguageTextEmbedding; ms: number; model: string }>('embed', [asr.text, language]);
    logTokenizerDrift(log, e);
    ctx.metrics.inferenceSeconds.observe({ model: `text-${e.slot}` }, ms / 1000);
    ctx.metrics.batchSize.observe({ model: `text-${e.slot}` }, e.windows);
    const tokens = e.tokens;
    const data = new Float32Array(tokens.length * e.dim);
    tokens.forEach((t, i) => data.set(t.embedding, i * e.dim));
    const items: TokenItem[] = tokens.map((t) => ({
      text: t.text,
      ...(t.piece !== t.text ? { piece: t.piece } : {}),
      charStart: t.charStart,
      charEnd: t.charEnd,
      ...tokenTimes(asr.segments, t.charStart, t.charEnd),
    }));
    await ctx.fusion.pushWithRetry({ videoId: job.videoId, modality: 'text', kind: 'tokens', shape: [tokens.length, e.dim], data, items, model });
    await ctx.fusion.pushWithRetry({ videoId: job.videoId, modality: 'text', kind: 'pooled', shape: [e.dim], data: e.pooled, items: [], model });
    return {
      outcome: 'done',
      output: {
        tokens: tokens.length,
        windows: e.windows,
        model: { name: model, provider: String(ctx.loaded.provider), ...standInOf(ctx.loaded), language, slot: e.slot, ...(e.fallbackReason ? { fallbackReason: e.fallbackReason } : {}), ...(e.tokenizerDriftAt ? { tokenizerDrift: e.tokenizerDriftAt } : {}) },
      },
    };
  };
}
