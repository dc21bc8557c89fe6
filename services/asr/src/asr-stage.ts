import {
  AsrArtifactSchema,
  MediaArtifactSchema,
  ProvidedTranscriptSchema,
  SUPPORTED_LANGUAGES,
  artifactPaths,
  isSupportedLanguage,
  parseContract,
  standInOf,
  type AsrArtifact,
  type AsrOutput,
  type Language,
  type LanguageOption,
  type ModelWorkerContext,
  type StageHandler,
  requiredInput,
} from '@omniaffect/core';
import type { TranscriptionResult } from '@omniaffect/models';

/** asr.json's shape is declared once, in core's stage-contracts (text and the orchestrator read it). */
export type { AsrArtifact };

/** Joins Whisper's segments into one transcript while remembering where each segment sits in it. */
export function assembleTranscript(segments: { start: number; end: number; text: string }[], language: string): Pick<AsrArtifact, 'text' | 'segments'> {
  let text = '';
  const out: AsrArtifact['segments'] = [];
  for (const s of segments) {
    let piece = language === 'zh' ? s.text.trim() : s.text;
    if (text === '') piece = piece.trimStart();
    else if (language !== 'zh' && !/^\s/.test(piece)) piece = ` ${piece}`;
    const charStart = text.length + (piece.length - piece.trimStart().length);
    text += piece;
    out.push({ start: s.start, end: s.end, text: piece.trim(), charStart, charEnd: text.length - (piece.length - piece.trimEnd().length) });
  }
  return { text, segments: out };
}

export function asrStage(ctx: ModelWorkerContext<{ MODEL_DIR: string }>): StageHandler {
  return async (job) => {
    const outRel = artifactPaths.stageOutput(job.videoId, 'asr');
    let artifact: AsrArtifact;
    let provided = false;
    if (await ctx.store.exists(outRel)) {
      artifact = parseContract(AsrArtifactSchema, await ctx.store.readJson<unknown>(outRel), 'asr.json');
    } else if (job.inputs.transcript) {
      artifact = await providedTranscript(ctx, job.inputs.transcript, job.inputs.media, job.language);
      provided = true;
      await ctx.store.writeJson(outRel, artifact);
    } else {
      const language: LanguageOption = isSupportedLanguage(job.language) ? job.language : 'auto';
      const { result, ms } = await ctx.thread.call<{ result: Omit<TranscriptionResult, 'windows'>; ms: number }>('transcribe', [
        ctx.store.resolve(requiredInput(job, 'audio')),
        language,
      ]);
      ctx.metrics.inferenceSeconds.observe({ model: 'whisper' }, ms / 1000);
      ctx.metrics.batchSize.observe({ model: 'whisper' }, 1);
      artifact = {
        language: result.language,
        languageProbability: result.languageProbability,
        topLanguage: result.topLanguage,
        languageOutOfScope: !!result.languageOutOfScope,
        noSpeechProbability: result.noSpeechProbability,
        ...assembleTranscript(result.segments, result.language),
      };
      await ctx.store.writeJson(outRel, artifact);
    }
    const hasSpeech = artifact.text.trim().length > 0;
    const output: AsrOutput = {
      hasSpeech,
      language: artifact.language,
      languageProbability: artifact.languageProbability,
      segments: artifact.segments.length,
      ...(artifact.languageOutOfScope
        ? { skipText: `detected language "${artifact.topLanguage.code}" is not supported (${SUPPORTED_LANGUAGES.join(' and ')} only); text was not analysed` }
        : {}),
      model:
        provided || artifact.topLanguage.code === 'provided'
          ? { name: 'provided-transcript', note: 'transcript supplied with the submission; Whisper was not run' }
          : { name: String(ctx.loaded.name), provider: String(ctx.loaded.provider), ...standInOf(ctx.loaded) },
    };
    return { outcome: 'done', output };
  };
}

const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;

/**
 * A transcript supplied with the submission (research datasets ship one): it becomes the ASR output
 * as one segment spanning the media, in the submitted language or, for `auto`, by script.
 */
async function providedTranscript(
  ctx: ModelWorkerContext<{ MODEL_DIR: string }>,
  rel: string,
  mediaRel: string | undefined,
  requested: string,
): Promise<AsrArtifact> {
  const given = parseContract(ProvidedTranscriptSchema, await ctx.store.readJson<unknown>(rel), 'the provided transcript');
  const media =
    mediaRel && (await ctx.store.exists(mediaRel))
      ? parseContract(MediaArtifactSchema, await ctx.store.readJson<unknown>(mediaRel), 'media.json')
      : { durationSec: 0 };
  const lang: Language = isSupportedLanguage(given.language) ? given.language : isSupportedLanguage(requested) ? requested : CJK.test(given.text) ? 'zh' : 'en';
  const duration = media.durationSec !== null && Number.isFinite(media.durationSec) ? media.durationSec : 0;
  return {
    language: lang,
    languageProbability: 1,
    topLanguage: { id: -1, code: 'provided' },
    languageOutOfScope: false,
    noSpeechProbability: 0,
    ...assembleTranscript(given.text.trim() ? [{ start: 0, end: duration, text: given.text }] : [], lang),
  };
}
