import {
  DISCLAIMER,
  STAGES,
  STAND_IN_NOTICE,
  isSupportedLanguage,
  validateResult,
  type AnalysisResult,
  type AsrArtifact,
  type StageName,
} from '@omniaffect/core';
import type { StageRow, VideoRow } from './repository';

/** What the fusion service returns (Fuse → fusion_json). */
export type FusionPart = Pick<AnalysisResult, 'sentiment' | 'emotion' | 'modalities' | 'evidence' | 'faithfulness' | 'timeline' | 'voice' | 'decisionPath'> & {
  models: AnalysisResult['models'];
};

/** Assembles the published result from fusion's part plus what the orchestrator knows (transcript, timings, models). */
export function buildResult(video: VideoRow, stages: StageRow[], fusion: FusionPart, asr: AsrArtifact | null, fusionStartedAt?: Date): AnalysisResult {
  const models: AnalysisResult['models'] = { ...fusion.models };
  for (const s of stages) {
    const model = (s.output as { model?: AnalysisResult['models'][string] } | null)?.model;
    if (model && s.name !== 'fusion') models[s.name] = model;
  }
  const timings = {} as AnalysisResult['timings'];
  for (const name of STAGES as readonly StageName[]) {
    const s = stages.find((x) => x.name === name);
    // fusion is still running while its own result is assembled: time it up to now
    const end = s?.finished_at ?? (name === 'fusion' ? new Date() : null);
    const start = s?.started_at ?? (name === 'fusion' ? (fusionStartedAt ?? null) : null);
    // never negative: a clock step between the two stamps must not fail the whole result's schema
    if (start && end) timings[name] = { seconds: Math.max(0, (end.getTime() - start.getTime()) / 1000) };
  }
  timings.totalSeconds = Math.max(0, (Date.now() - video.created_at.getTime()) / 1000);
  // A prediction from generated models must never pass for a real one, in the JSON or the report.
  const standIn = Object.entries(models)
    .filter(([, m]) => m.standIn !== undefined || (m.provenance as { kind?: string } | undefined)?.kind === 'tiny-generated')
    .map(([stage]) => stage);
  const language = asr?.language ?? (isSupportedLanguage(video.language) ? video.language : null);
  const result: AnalysisResult = {
    id: video.id,
    status: 'succeeded',
    language,
    sentiment: fusion.sentiment,
    emotion: fusion.emotion,
    modalities: fusion.modalities,
    evidence: fusion.evidence,
    faithfulness: fusion.faithfulness,
    timeline: fusion.timeline,
    // a fusion service older than the voice contour sends none
    voice: fusion.voice ?? null,
    decisionPath: fusion.decisionPath,
    transcript: {
      language,
      ...(asr?.languageProbability !== undefined ? { languageProbability: asr.languageProbability } : {}),
      text: asr?.text ?? '',
      segments: (asr?.segments ?? []).map((s) => ({ start: s.start, end: s.end, text: s.text })),
    },
    models,
    timings,
    disclaimer: standIn.length > 0 ? `${STAND_IN_NOTICE} (${standIn.join(', ')}) ${DISCLAIMER}` : DISCLAIMER,
  };
  const v = validateResult(result);
  if (!v.ok) throw new Error(`result failed its schema: ${v.errors.join('; ')}`);
  return result;
}
