import {
  ArtifactStore,
  FUSION_SERVICE,
  artifactPaths,
  grpcClient,
  unary,
  type Db,
  type Logger,
  type StageJob,
} from '@omniaffect/core';
import type { Job } from 'bullmq';
import type { Orchestrator } from './orchestrator';
import { loadStages, loadVideo, toSnapshot } from './repository';
import { buildResult, type AsrArtifact, type FusionPart } from './result-builder';

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

const MODALITY_STAGE = { text: 'text', audio: 'audio-emotion', vision: 'vision' } as const;

/**
 * The fusion stage runs in the orchestrator: it asks the fusion service (any replica) to fuse the
 * stored embeddings, assembles the result, stores it, and completes the stage. Re-running it is
 * harmless (result upsert; Fuse is a pure read of stored embeddings).
 */
export class FusionStage {
  private readonly client;
  constructor(
    private readonly db: Db,
    private readonly store: ArtifactStore,
    private readonly orchestrator: Orchestrator,
    fusionAddress: string,
    private readonly log: Logger,
    private readonly deadlineMs = 60_000,
  ) {
    this.client = grpcClient(FUSION_SERVICE, fusionAddress);
  }

  async process(job: Job<StageJob>): Promise<void> {
    const videoId = job.data.videoId;
    await this.orchestrator.transition(videoId, { kind: 'started', stage: 'fusion', attempts: job.attemptsMade + 1 });
    const video = await loadVideo(this.db, videoId);
    if (!video || video.status !== 'processing') return;
    const stages = await loadStages(this.db, videoId);
    const snap = toSnapshot(video, stages);
    const present: string[] = [];
    const absent: Record<string, string> = {};
    for (const [modality, stage] of Object.entries(MODALITY_STAGE)) {
      const s = snap.stages[stage];
      if (s.state === 'done') present.push(modality);
      else absent[modality] = s.reason ?? `${stage} ${s.state}`;
    }
    const asrPath = artifactPaths.stageOutput(videoId, 'asr');
    const asr = snap.stages.asr.state === 'done' && (await this.store.exists(asrPath)) ? await this.store.readJson<AsrArtifact>(asrPath) : null;
    try {
      const res = await unary<object, { fusionJson: string }>(
        this.client,
        'Fuse',
        { videoId, present, absent, language: asr?.language ?? '' },
        { deadlineMs: this.deadlineMs, idempotent: true },
      );
      const fusion = JSON.parse(res.fusionJson) as FusionPart;
      const result = buildResult(video, stages, fusion, asr);
      // Only while the video is still processing: a DELETE that landed meanwhile must not be undone.
      await this.db.query(
        `INSERT INTO results (video_id, result) SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM videos WHERE id = $1 AND status = 'processing')
         ON CONFLICT (video_id) DO UPDATE SET result = EXCLUDED.result`,
        [videoId, JSON.stringify(result)],
      );
      await this.orchestrator.transition(videoId, { kind: 'done', stage: 'fusion', output: { present, model: fusion.models.fusion } });
    } catch (err) {
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      this.log.error({ err, videoId, last }, 'fusion failed');
      if (last) {
        await this.orchestrator.transition(videoId, { kind: 'failed', stage: 'fusion', problemType: 'model-error', detail: `fusion failed: ${fusionDetail(err)}` });
        return;
      }
      throw err;
    }
  }

  close(): void {
    this.client.close();
  }
}
