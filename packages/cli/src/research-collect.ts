import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { clipSource, DATASET_LANGUAGE, type ClipFailure, type FeatureCache, type MmsaDataset, type MmsaSample, type TranscriptsMode } from '@omniaffect/eval';
import type { GatewayClient } from './client';

export interface CollectOptions {
  /** a client, or a function making one: it is only called when some clip is not cached yet */
  client: GatewayClient | (() => GatewayClient);
  dataset: MmsaDataset;
  cache: FeatureCache;
  transcripts: TranscriptsMode;
  /** clips in flight at once (each is one video in the pipeline) */
  concurrency?: number;
  /** per-clip limit from submission to a terminal state */
  clipTimeoutMs?: number;
  /** called after every clip, finished or not */
  onClip?(event: { id: string; outcome: 'cached' | 'done' | 'failed'; done: number; total: number; wallMs?: number; reason?: string }): void;
}

export interface CollectSummary {
  /** clips with media, i.e. the ones that were attempted */
  total: number;
  /** already in the cache from an earlier run */
  cached: number;
  /** sent through the pipeline by this run */
  processed: number;
  failed: ClipFailure[];
  /** label-file rows whose Raw/<video_id>/<clip_id>.mp4 does not exist */
  missingMedia: string[];
  /** wall time per processed clip (submit → features fetched) */
  clipWallMs: number[];
  wallMs: number;
}

/**
 * Sends every clip of a dataset with media through the real pipeline as a gateway client and caches the features
 * the workers pushed. Clips already cached from the same media and transcript are skipped, failures are recorded
 * (and retried by the next run), and nothing is dropped silently: missing media and failures come back listed.
 */
export async function collectFeatures(o: CollectOptions): Promise<CollectSummary> {
  const t0 = Date.now();
  const withMedia = o.dataset.samples.filter((s) => s.exists);
  const missingMedia = o.dataset.samples.filter((s) => !s.exists).map((s) => s.id);
  const failed: ClipFailure[] = [];
  const clipWallMs: number[] = [];
  let cached = 0;
  let processed = 0;
  let done = 0;
  const transcriptOf = (s: MmsaSample) => (o.transcripts === 'dataset' ? s.text.trim() : '');
  const mediaOf = (s: MmsaSample) => path.join(o.dataset.root, ...s.mediaPath.split('/'));

  const attempts = new Map(o.cache.failures().map((f) => [f.id, f.attempts]));
  const todo: MmsaSample[] = [];
  for (const s of withMedia) {
    if (o.cache.has(s.id, clipSource(mediaOf(s), transcriptOf(s)))) {
      cached++;
      done++;
      o.onClip?.({ id: s.id, outcome: 'cached', done, total: withMedia.length });
    } else {
      todo.push(s);
    }
  }

  let client: GatewayClient | null = null;
  const one = async (s: MmsaSample) => {
    const started = Date.now();
    const file = mediaOf(s);
    const transcript = transcriptOf(s);
    const source = clipSource(file, transcript);
    try {
      const sub = await client!.submitFile(file, {
        language: DATASET_LANGUAGE[o.dataset.dataset],
        ...(transcript ? { transcript } : {}),
        // One submission per (cache, dataset, clip, transcripts, media version, attempt): a repeated request is
        // deduplicated by the gateway, while a clip that failed last time gets a fresh video.
        idempotencyKey: `eval-${createHash('sha256')
          .update(JSON.stringify([o.cache.dir, o.dataset.dataset, o.transcripts, s.id, source, attempts.get(s.id) ?? 0]))
          .digest('hex')
          .slice(0, 40)}`,
        metadata: { dataset: o.dataset.dataset, clip: s.id, mode: s.mode },
      });
      const doc = await client!.waitForTerminal(sub.id, o.clipTimeoutMs ?? 600_000);
      if (doc.status !== 'succeeded') {
        const err = doc.error as { type?: string; detail?: string } | null | undefined;
        throw new Error(`video ${sub.id} ${doc.status}${err ? `: ${err.detail ?? err.type ?? ''}` : ''}`);
      }
      const tensors = await client!.features(sub.id);
      const result = await client!.result(sub.id).catch(() => undefined);
      const wallMs = Date.now() - started;
      o.cache.put({ id: s.id, sample: s, source, videoId: sub.id, tensors, result, wallMs });
      processed++;
      clipWallMs.push(wallMs);
      done++;
      o.onClip?.({ id: s.id, outcome: 'done', done, total: withMedia.length, wallMs });
    } catch (err) {
      const reason = (err as Error).message;
      failed.push(o.cache.recordFailure(s.id, reason));
      done++;
      o.onClip?.({ id: s.id, outcome: 'failed', done, total: withMedia.length, reason });
    }
  };

  if (todo.length) client = typeof o.client === 'function' ? o.client() : o.client;
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 4, todo.length)) }, async () => {
    while (next < todo.length) await one(todo[next++]!);
  });
  await Promise.all(workers);
  return { total: withMedia.length, cached, processed, failed, missingMedia, clipWallMs, wallMs: Date.now() - t0 };
}
