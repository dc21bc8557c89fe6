import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  AsrArtifactSchema,
  ContractError,
  MediaArtifactSchema,
  STAGE_OUTPUT_SCHEMAS,
  StageJobSchema,
  StageReportSchema,
  parseContract,
  parseStageOutput,
} from '../src/stage-contracts';
import {
  LANGUAGE_OPTIONS,
  MODALITY_STAGE,
  STAGES,
  STAGE_MODALITY,
  SUPPORTED_LANGUAGES,
  TERMINAL_VIDEO_STATUSES,
  VIDEO_STATUSES,
  isTerminalVideoStatus,
} from '../src/vocabulary';

test('every stage has an output contract', () => {
  assert.deepEqual(Object.keys(STAGE_OUTPUT_SCHEMAS).sort(), [...STAGES].sort());
});

test('the audio modality is made by the audio-emotion stage, and back', () => {
  assert.equal(MODALITY_STAGE.audio, 'audio-emotion');
  assert.equal(STAGE_MODALITY['audio-emotion'], 'audio');
  assert.equal(STAGE_MODALITY.media, undefined);
});

test('language options are the supported languages plus auto, which is never a supported language', () => {
  assert.deepEqual(
    LANGUAGE_OPTIONS.filter((l) => l !== 'auto'),
    [...SUPPORTED_LANGUAGES],
  );
  assert.ok(!(SUPPORTED_LANGUAGES as readonly string[]).includes('auto'));
});

test('terminal statuses are the last three, and only they are terminal', () => {
  assert.deepEqual(VIDEO_STATUSES.filter(isTerminalVideoStatus), [...TERMINAL_VIDEO_STATUSES]);
  assert.equal(isTerminalVideoStatus('processing'), false);
});

test('media.json as JSON writes it: a missing duration comes back as null and is accepted', () => {
  const written = { durationSec: null, formatName: 'wav', hasAudio: true, hasVideo: false, audio: 'videos/v/audio.wav', frames: [], probe: { streams: [] } };
  const parsed = parseContract(MediaArtifactSchema, JSON.parse(JSON.stringify(written)), 'media.json');
  assert.equal(parsed.durationSec, null);
});

test('a broken artifact names the fields, never their values', () => {
  const secret = 'the tenant said something private';
  assert.throws(
    () => parseContract(AsrArtifactSchema, { language: 'ja', text: 5, segments: [{ text: secret }] }, 'asr.json'),
    (err: unknown) => {
      assert.ok(err instanceof ContractError);
      assert.match(err.message, /^asr\.json does not match its contract: /);
      assert.match(err.message, /language: Invalid enum value/);
      assert.match(err.message, /segments\.0\.start: Required/);
      assert.ok(!err.message.includes(secret) && !err.message.includes("'ja'"), err.message);
      return true;
    },
  );
});

test('stage outputs are strict at the top level, open in their model entry', () => {
  const ok = { tokens: 3, windows: 1, model: { name: 'bert', provider: 'cpu', language: 'en', slot: 'en', anything: true } };
  assert.deepEqual(parseStageOutput('text', ok), ok);
  assert.throws(() => parseStageOutput('text', { ...ok, more: 1 }), /Unrecognized key/);
  assert.throws(() => parseStageOutput('media', { durationSec: NaN, hasAudio: true, hasVideo: false, frameCount: 0, formatName: 'x' }), /durationSec/);
});

test('the completions queue carries started reports and completions', () => {
  const base = { videoId: 'v1', stage: 'asr', startedAt: 1, attempts: 1 };
  assert.equal(StageReportSchema.parse({ ...base, outcome: 'started' }).outcome, 'started');
  assert.equal(StageReportSchema.parse({ ...base, outcome: 'done', finishedAt: 2, output: {} }).outcome, 'done');
  assert.equal(StageReportSchema.safeParse({ ...base, outcome: 'running', finishedAt: 2 }).success, false);
});

test('a stage job names its stage and a language option', () => {
  const job = { videoId: 'v1', stage: 'text', language: 'auto', inputs: { asr: 'videos/v1/asr.json', media: 'videos/v1/media.json' }, enqueuedAt: 1 };
  assert.deepEqual(StageJobSchema.parse(job), job);
  assert.equal(StageJobSchema.safeParse({ ...job, language: 'fr' }).success, false);
  assert.equal(StageJobSchema.safeParse({ ...job, stage: 'audio' }).success, false);
});
