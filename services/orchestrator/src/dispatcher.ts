import { ArtifactStore, STAGE_QUEUES, artifactPaths, isSupportedLanguage, stageJobId, type Queues, type StageJob, type StageName } from '@omniaffect/core';
import type { VideoRow } from './repository';
import { stageOutput, type VideoSnapshot } from './state-machine';

/**
 * Puts stage jobs on their queues and takes waiting ones off. Job ids are deterministic
 * (stageJobId), so enqueueing a stage that is already queued is a no-op: every caller may dispatch
 * again whenever it is unsure (restart, reconciler, a replayed event).
 */
export class Dispatcher {
  constructor(
    private readonly queues: Queues,
    private readonly store: ArtifactStore,
  ) {}

  /** The job for `stage` of `video`, built from the row and the snapshot of its stages. */
  async enqueue(video: VideoRow, stage: StageName, snap: VideoSnapshot): Promise<void> {
    const inputs: Record<string, string> = {};
    if (stage === 'media') {
      // derived, never the stored source_path: rows written before Submit derived it carry whatever
      // the caller sent
      if (video.source_kind === 'upload') inputs.source = artifactPaths.source(video.id);
      if (video.source_url) inputs.url = video.source_url;
    } else {
      inputs.media = artifactPaths.stageOutput(video.id, 'media');
      inputs.audio = artifactPaths.audio(video.id);
      if (stage === 'text') inputs.asr = artifactPaths.stageOutput(video.id, 'asr');
      if (stage === 'asr' && video.transcript) {
        // Written from the row here, not by Submit: nothing reads it before asr, and a file written
        // before Submit's checks would be left behind whenever they refused (or matched an earlier
        // video by idempotency key). Rewriting it on a re-dispatch is harmless (atomic, same content).
        inputs.transcript = artifactPaths.providedTranscript(video.id);
        await this.store.writeJson(inputs.transcript, { text: video.transcript, language: video.language });
      }
    }
    const asrLang = stageOutput(snap, 'asr')?.language;
    const job: StageJob = {
      videoId: video.id,
      stage,
      language: (stage === 'text' && isSupportedLanguage(asrLang) ? asrLang : video.language) as StageJob['language'],
      inputs,
      enqueuedAt: Date.now(),
    };
    await this.queues.get(STAGE_QUEUES[stage]).add(stage, job, { jobId: stageJobId(video.id, stage) });
  }

  /** Waiting stage jobs of a finished video are dropped; an active one finishes and is ignored. */
  async removeWaitingJobs(id: string, stages = Object.keys(STAGE_QUEUES) as StageName[]): Promise<void> {
    for (const stage of stages) {
      await this.queues
        .get(STAGE_QUEUES[stage])
        .remove(stageJobId(id, stage))
        .catch(() => undefined);
    }
  }
}
