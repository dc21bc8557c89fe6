import {
  AsrArtifactSchema,
  artifactPaths,
  parseContract,
  standInOf,
  type Logger,
  type ModelWorkerContext,
  type StageHandler,
  type TextOutput,
  type TokenItem,
} from '@omniaffect/core';
import type { LanguageTextEmbedding } from '@omniaffect/models';
import { tokenTimes } from './token-times';

/**
 * The drift record says where the tokenizers parted (piece index, both ids, piece count) and never
 * what the text was: logs are kept and read outside the tenant's reach, transcripts are the tenant's.
 * The ids map back to vocabulary entries, which is enough to reproduce the disagreement offline.
 */
export function logTokenizerDrift(log: Pick<Logger, 'warn'>, e: Pick<LanguageTextEmbedding, 'tokenizerDriftAt' | 'model' | 'slot'>): void {
  if (!e.tokenizerDriftAt) return;
  log.warn(
    { drift: e.tokenizerDriftAt, model: e.model, slot: e.slot },
    'the tokenizer library and the reference algorithm disagreed; the reference ids were used',
  );
}

/** Transcript → WordPiece token embeddings (encoder picked by language) → fusion. */
export function textStage(ctx: ModelWorkerContext<unknown>, opts: { maxTokens: number } = { maxTokens: 16_384 }): StageHandler {
  return async (job, { log }) => {
    const asr = parseContract(
      AsrArtifactSchema,
      await ctx.store.readJson<unknown>(job.inputs.asr ?? artifactPaths.stageOutput(job.videoId, 'asr')),
      'asr.json',
    );
    if (!asr.text.trim()) return { outcome: 'skipped', problem: { type: 'validation', detail: 'empty transcript' } };
    // asr.json always names a supported language (its contract), so the job's requested one is not needed
    const language = asr.language;
    const { embedding: e, ms, model } = await ctx.thread.call<{ embedding: LanguageTextEmbedding; ms: number; model: string }>('embed', [asr.text, language]);
    logTokenizerDrift(log, e);
    ctx.metrics.inferenceSeconds.observe({ model: `text-${e.slot}` }, ms / 1000);
    ctx.metrics.batchSize.observe({ model: `text-${e.slot}` }, e.windows);
    const { kept: tokens, dropped } = capTokens(e.tokens, opts.maxTokens);
    if (dropped > 0)
      log.warn(
        { tokens: e.tokens.length, dropped, maxTokens: opts.maxTokens },
        'transcript longer than TEXT_MAX_TOKENS word pieces: the pushed sequence was cut',
      );
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
    const output: TextOutput = {
      tokens: tokens.length,
      ...(dropped > 0 ? { tokensDropped: dropped } : {}),
      windows: e.windows,
      model: {
        name: model,
        provider: String(ctx.loaded.provider),
        ...standInOf(ctx.loaded),
        language,
        slot: e.slot,
        ...(e.fallbackReason ? { fallbackReason: e.fallbackReason } : {}),
        ...(e.tokenizerDriftAt ? { tokenizerDrift: e.tokenizerDriftAt } : {}),
      },
    };
    return { outcome: 'done', output };
  };
}

/**
 * The token sequence one video may push: the first `max` word pieces. A transcript is bounded by the
 * media duration, but its features are not bounded by the gRPC message limit fusion reads them with.
 */
export function capTokens<T>(tokens: T[], max: number): { kept: T[]; dropped: number } {
  return tokens.length <= max ? { kept: tokens, dropped: 0 } : { kept: tokens.slice(0, max), dropped: tokens.length - max };
}
