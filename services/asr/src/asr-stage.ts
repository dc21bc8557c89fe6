import {
  AsrArtifactSchema,
  MediaArtifactSchema,
  ProvidedTranscriptSchema,
  SUPPORTED_LANGUAGES,
  artifactPaths,
  isSupportedLanguage,
  parseContract,
  parseTimedTranscript,
  standInOf,
  type AsrArtifact,
  type AsrOutput,
  type Language,
  type LanguageOption,
  type ModelWorkerContext,
  type SpeechActivity,
  type StageHandler,
  requiredInput,
} from '@omniaffect/core';
import type { Transcription } from './asr-thread';

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
      provided = artifact.topLanguage.code === 'provided';
    } else if (job.inputs.transcript) {
      const { activity, ms } = await ctx.thread.call<{ activity: SpeechActivity; ms: number }>('speech', [ctx.store.resolve(requiredInput(job, 'audio'))]);
      ctx.metrics.inferenceSeconds.observe({ model: 'silero-vad' }, ms / 1000);
      artifact = await providedTranscript(ctx, job.inputs.transcript, job.inputs.media, job.language, activity);
      provided = true;
      await ctx.store.writeJson(outRel, artifact);
    } else {
      const language: LanguageOption = isSupportedLanguage(job.language) ? job.language : 'auto';
      const { result, activity, ms, vadMs, encoderBatches } = await ctx.thread.call<{
        result: Transcription | null;
        activity: SpeechActivity;
        ms: number;
        vadMs: number;
        encoderBatches: number[];
      }>('transcribe', [ctx.store.resolve(requiredInput(job, 'audio')), language]);
      ctx.metrics.inferenceSeconds.observe({ model: 'silero-vad' }, vadMs / 1000);
      if (result) {
        ctx.metrics.inferenceSeconds.observe({ model: 'whisper' }, ms / 1000);
        // whisper's batch: windows per encoder run
        for (const b of encoderBatches) ctx.metrics.batchSize.observe({ model: 'whisper' }, b);
      }
      artifact = result
        ? {
            language: result.language,
            languageProbability: result.languageProbability,
            topLanguage: result.topLanguage,
            languageOutOfScope: !!result.languageOutOfScope,
            noSpeechProbability: result.noSpeechProbability,
            ...assembleTranscript(result.segments, result.language),
            speech: activity,
          }
        : // no voice anywhere: Whisper is not run (it would invent text on silence)
          {
            language: isSupportedLanguage(job.language) ? job.language : 'en',
            languageProbability: 0,
            topLanguage: { id: -1, code: 'none' },
            languageOutOfScope: false,
            noSpeechProbability: 1,
            text: '',
            segments: [],
            speech: activity,
          };
      await ctx.store.writeJson(outRel, artifact);
    }
    const hasSpeech = artifact.text.trim().length > 0;
    const output: AsrOutput = {
      hasSpeech,
      ...(artifact.speech ? { voiceSeconds: round3(artifact.speech.regions.reduce((a, r) => a + (r.end - r.start), 0)) } : {}),
      language: artifact.language,
      languageProbability: artifact.languageProbability,
      segments: artifact.segments.length,
      ...(artifact.languageOutOfScope
        ? { skipText: `detected language "${artifact.topLanguage.code}" is not supported (${SUPPORTED_LANGUAGES.join(' and ')} only); text was not analysed` }
        : {}),
      model: provided
        ? { name: 'provided-transcript', note: 'transcript supplied with the submission; Whisper was not run', ...vadEntry(ctx) }
        : { name: String(ctx.loaded.name), provider: String(ctx.loaded.provider), ...vadEntry(ctx), ...standInOf(ctx.loaded) },
    };
    return { outcome: 'done', output };
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const vadEntry = (ctx: ModelWorkerContext<unknown>) => (typeof ctx.loaded.vad === 'string' ? { vad: ctx.loaded.vad } : {});

const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;

/**
 * A transcript supplied with the submission (research datasets and call-centre systems ship one). A
 * timed one (WebVTT / SubRip) keeps its cue times. Plain text has none: it is laid over the voiced
 * stretches the VAD found, in order and in proportion to their length (the whole media when there is
 * no voice), so each word lands near where it was said rather than smeared over the whole file.
 * Language: the submitted one or, for `auto`, by script.
 */
async function providedTranscript(
  ctx: ModelWorkerContext<{ MODEL_DIR: string }>,
  rel: string,
  mediaRel: string | undefined,
  requested: string,
  speech: SpeechActivity,
): Promise<AsrArtifact> {
  const given = parseContract(ProvidedTranscriptSchema, await ctx.store.readJson<unknown>(rel), 'the provided transcript');
  const media =
    mediaRel && (await ctx.store.exists(mediaRel))
      ? parseContract(MediaArtifactSchema, await ctx.store.readJson<unknown>(mediaRel), 'media.json')
      : { durationSec: 0 };
  const cues = parseTimedTranscript(given.text);
  const spoken = cues ? cues.map((c) => c.text).join(' ') : given.text;
  const lang: Language = isSupportedLanguage(given.language) ? given.language : isSupportedLanguage(requested) ? requested : CJK.test(spoken) ? 'zh' : 'en';
  const duration = media.durationSec !== null && Number.isFinite(media.durationSec) ? media.durationSec : speech.durationSec;
  const segments =
    cues ?? (given.text.trim() ? spreadOverVoice(given.text.trim(), speech.regions.length ? speech.regions : [{ start: 0, end: duration }], lang) : []);
  return {
    language: lang,
    languageProbability: 1,
    topLanguage: { id: -1, code: 'provided' },
    languageOutOfScope: false,
    noSpeechProbability: 0,
    ...assembleTranscript(segments, lang),
    speech,
  };
}

/**
 * Cuts `text` into one piece per region, each piece's share of the characters matching its region's
 * share of the voiced time. English is cut at spaces only (never inside a word); Chinese anywhere.
 * Regions that would get no text are dropped.
 */
export function spreadOverVoice(
  text: string,
  regions: readonly { start: number; end: number }[],
  lang: Language,
): { start: number; end: number; text: string }[] {
  const total = regions.reduce((a, r) => a + Math.max(0, r.end - r.start), 0);
  if (total <= 0 || regions.length === 1) return [{ start: regions[0]?.start ?? 0, end: regions[regions.length - 1]?.end ?? 0, text }];
  const chars = [...text];
  const out: { start: number; end: number; text: string }[] = [];
  let from = 0;
  let voiced = 0;
  regions.forEach((r, i) => {
    voiced += Math.max(0, r.end - r.start);
    let to = i === regions.length - 1 ? chars.length : Math.round((voiced / total) * chars.length);
    if (lang !== 'zh' && to < chars.length) {
      // move the cut to the nearest space
      let back = to;
      let fwd = to;
      while (back > from && chars[back] !== ' ') back--;
      while (fwd < chars.length && chars[fwd] !== ' ') fwd++;
      to = to - back <= fwd - to && back > from ? back : fwd;
    }
    to = Math.max(from, Math.min(chars.length, to));
    const piece = chars.slice(from, to).join('').trim();
    if (piece) out.push({ start: r.start, end: r.end, text: piece });
    from = to;
  });
  return out;
}
