import {
  ArtifactStore,
  AsrArtifactSchema,
  MODALITY_STAGE,
  MediaArtifactSchema,
  ProblemError,
  artifactPaths,
  parseContract,
  planTimeline,
  problemFromGrpc,
  type AsrArtifact,
  type Db,
  type FuseRequest,
  type MediaArtifact,
  type StageHandler,
} from '@omniaffect/core';
import { loadStages, loadVideo, storeResultWhileProcessing, toSnapshot } from './repository';
import { buildResult, type FusionPart } from './result-builder';

/**
 * The client-facing part of a fusion failure: fusion's own problem detail when it sent one, else the
 * gRPC status name. Never the raw message, which can carry transport internals (addresses, stacks).
 */
function fusionDetail(err: unknown): string {
  const e = err as { details?: string; code?: number };
  try {
    const p = JSON.parse(e.details ?? '') as { detail?: unknown };
    if (typeof p.detail === 'string') return p.detail;
  } catch {
    /* not a problem document */
  }
  return typeof e.code === 'number' ? `fusion service error (gRPC status ${e.code})` : 'the result could not be assembled';
}

/**
 * The timeline's cut for this video (planTimeline, docs/architecture.md §13): the transcript's segments
 * and the VAD's voiced stretches over the media's duration. Without a known duration there is no
 * timeline to cut: fusion then fuses everything as one segment.
 */
export function timelinePlan(media: MediaArtifact | null, asr: AsrArtifact | null): FuseRequest['segments'] {
  const duration = media?.durationSec ?? asr?.speech?.durationSec ?? null;
  if (duration === null || !Number.isFinite(duration) || duration <= 0) return [];
  return planTimeline({ durationSec: duration, transcript: asr?.segments ?? [], voice: asr?.speech?.regions ?? null });
}

/** What the fusion stage needs of fusion (FusionClient in production). */
export interface Fuser {
  fuse(req: FuseRequest, deadlineMs?: number): Promise<string>;
}

/**
 * The fusion stage's handler, run by runStageWorker on the fusion queue like every other stage: it
 * reports started/done/failed through the completions queue, and the orchestrator applies them as
 * it applies any stage's. It runs in the orchestrator process because assembling the result needs
 * the video's own rows (stage outputs, timings, models): it asks the fusion service (any replica) to
 * fuse the stored embeddings, assembles the result and stores it; the `done` it reports then makes
 * the video succeed. Re-running it is harmless (result upsert; Fuse is a pure read of stored embeddings).
 */
export function fusionStageHandler(deps: { db: Db; store: ArtifactStore; fusion: Fuser; deadlineMs?: number }): StageHandler {
  return async (job, { log, attempt, bullJob }) => {
    const videoId = job.videoId;
    const video = await loadVideo(deps.db, videoId);
    // Erased or already finished: nothing to fuse. The report is ignored (a finished video takes no
    // events; an erased one's late work is swept), like any late stage's.
    if (!video || video.status !== 'processing') return { outcome: 'skipped', problem: { type: 'gone', detail: 'the video is no longer processing' } };
    const stages = await loadStages(deps.db, videoId);
    const snap = toSnapshot(video, stages);
    const present: string[] = [];
    const absent: Record<string, string> = {};
    for (const [modality, stage] of Object.entries(MODALITY_STAGE)) {
      const s = snap.stages[stage];
      if (s.state === 'done') present.push(modality);
      else absent[modality] = s.reason ?? `${stage} ${s.state}`;
    }
    const asrPath = artifactPaths.stageOutput(videoId, 'asr');
    const mediaPath = artifactPaths.stageOutput(videoId, 'media');
    // Parsed at the boundary (stage-contracts.ts): a mismatch is the writer's bug, retried like any error here.
    const asr =
      snap.stages.asr.state === 'done' && (await deps.store.exists(asrPath))
        ? parseContract(AsrArtifactSchema, await deps.store.readJson<unknown>(asrPath), 'asr.json')
        : null;
    const media = (await deps.store.exists(mediaPath)) ? parseContract(MediaArtifactSchema, await deps.store.readJson<unknown>(mediaPath), 'media.json') : null;
    // A track in which the VAD found no voice carries no vocal expression: emotion2vec frames of
    // silence or music must not vote (the audio stage still ran; its features stay for research).
    if (asr?.speech && asr.speech.regions.length === 0 && present.includes('audio')) {
      present.splice(present.indexOf('audio'), 1);
      absent.audio = `no voice detected in the audio track (${asr.speech.model})`;
    }
    const segments = timelinePlan(media, asr);
    try {
      const fusion = JSON.parse(
        await deps.fusion.fuse(
          { videoId, present, absent, language: asr?.language ?? '', segments, voice: asr?.speech?.regions ?? null },
          deps.deadlineMs ?? 60_000,
        ),
      ) as FusionPart;
      // The stage's "started" report travels the completions queue and may not be applied yet: time
      // fusion from when this run began.
      const result = buildResult(video, stages, fusion, asr, new Date(bullJob.processedOn ?? Date.now()));
      await storeResultWhileProcessing(deps.db, videoId, result);
      return { outcome: 'done', output: { present, model: fusion.models.fusion } };
    } catch (err) {
      // the media's own verdict, not a failure to retry: nothing in it can be read
      const problem = problemFromGrpc(err);
      if (problem.slug === 'nothing-to-analyse') throw problem;
      const last = attempt >= (bullJob.opts.attempts ?? 1);
      log.error({ err, videoId, last }, 'fusion failed');
      // The last attempt fails the stage with a detail fit for the client (runStageWorker reports a
      // ProblemError as it is); earlier ones are retried with the queue's backoff.
      if (last) throw new ProblemError('model-error', `fusion failed: ${fusionDetail(err)}`);
      throw err;
    }
  };
}
