import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { STAGES, type StageName } from '@omniaffect/core';
import {
  DEPENDENCIES,
  applyEvent,
  initialSnapshot,
  nextActions,
  progress,
  skipReason,
  withChanges,
  type StageEvent,
  type VideoSnapshot,
} from '../src/state-machine';

const apply = (snap: VideoSnapshot, ev: StageEvent): VideoSnapshot => withChanges(snap, applyEvent(snap, ev));
const run = (snap: VideoSnapshot, events: StageEvent[]) => events.reduce(apply, snap);
const done = (stage: StageName, output: Record<string, unknown> = {}): StageEvent => ({ kind: 'done', stage, output });
const MEDIA_AV = { hasAudio: true, hasVideo: true, frameCount: 3, durationSec: 5 };
const ASR_SPEECH = { hasSpeech: true, language: 'en' };
const enq = (snap: VideoSnapshot) =>
  nextActions(snap)
    .filter((a) => a.kind === 'enqueue')
    .map((a) => a.stage)
    .sort();
const skips = (snap: VideoSnapshot) =>
  nextActions(snap)
    .filter((a) => a.kind === 'skip')
    .map((a) => [a.stage, (a as { reason: string }).reason]);

test('initial snapshot: queued, every stage pending, only media to enqueue', () => {
  const s = initialSnapshot();
  assert.equal(s.status, 'queued');
  assert.deepEqual(Object.keys(s.stages).sort(), [...STAGES].sort());
  for (const st of Object.values(s.stages)) assert.deepEqual(st, { state: 'pending', reason: null, output: null, attempts: 0 });
  assert.deepEqual(nextActions(s), [{ kind: 'enqueue', stage: 'media' }]);
  assert.equal(progress(s), 0);
});

test('started: stage running, video processing, attempts never go down', () => {
  let s = apply(initialSnapshot(), { kind: 'started', stage: 'media', attempts: 2 });
  assert.equal(s.status, 'processing');
  assert.equal(s.stages.media.state, 'running');
  assert.equal(s.stages.media.attempts, 2);
  s = apply(s, { kind: 'started', stage: 'media', attempts: 1 });
  assert.equal(s.stages.media.attempts, 2);
  assert.deepEqual(nextActions(s), [], 'a running stage is not enqueued again and nothing downstream is ready');
});

test('the full graph with audio and video: media → {asr, audio-emotion, vision} → text → fusion → succeeded', () => {
  let s = apply(initialSnapshot(), done('media', MEDIA_AV));
  assert.deepEqual(enq(s), ['asr', 'audio-emotion', 'vision']);
  s = apply(s, done('asr', ASR_SPEECH));
  assert.deepEqual(enq(s), ['audio-emotion', 'text', 'vision']);
  s = run(s, [done('audio-emotion'), done('vision')]);
  assert.deepEqual(enq(s), ['text'], 'fusion waits for text');
  s = apply(s, done('text'));
  assert.deepEqual(enq(s), ['fusion']);
  const t = applyEvent(s, done('fusion'));
  assert.equal(t.status, 'succeeded');
  assert.equal(t.becameTerminal, true);
  s = withChanges(s, t);
  assert.deepEqual(nextActions(s), []);
  assert.equal(progress(s), 1);
});

test('no audio track: asr and audio-emotion skipped, then text skipped, vision and fusion run', () => {
  let s = apply(initialSnapshot(), done('media', { hasAudio: false, hasVideo: true, frameCount: 2 }));
  assert.deepEqual(enq(s), ['vision']);
  assert.deepEqual(skips(s).sort(), [
    ['asr', 'no audio track'],
    ['audio-emotion', 'no audio track'],
  ]);
  s = run(s, [
    { kind: 'skipped', stage: 'asr', reason: 'no audio track' },
    { kind: 'skipped', stage: 'audio-emotion', reason: 'no audio track' },
  ]);
  assert.deepEqual(skips(s), [['text', 'no transcript (no audio track)']]);
  s = run(s, [{ kind: 'skipped', stage: 'text', reason: 'no transcript (no audio track)' }, done('vision')]);
  assert.deepEqual(enq(s), ['fusion']);
});

test('audio only: vision skipped with "no video stream"', () => {
  const s = apply(initialSnapshot(), done('media', { hasAudio: true, hasVideo: false, frameCount: 0 }));
  assert.deepEqual(enq(s), ['asr', 'audio-emotion']);
  assert.deepEqual(skips(s), [['vision', 'no video stream']]);
});

test('no speech: text skipped with "no speech detected"', () => {
  const s = run(initialSnapshot(), [done('media', MEDIA_AV), done('asr', { hasSpeech: false, language: 'en' })]);
  assert.deepEqual(skips(s), [['text', 'no speech detected']]);
  assert.equal(skipReason('text', s), 'no speech detected');
});

test('skipText from asr (language out of scope) skips text with that reason', () => {
  const s = run(initialSnapshot(), [
    done('media', MEDIA_AV),
    done('asr', { hasSpeech: true, language: 'en', skipText: 'detected language "fr" is not supported' }),
  ]);
  assert.deepEqual(skips(s), [['text', 'detected language "fr" is not supported']]);
});

test('skipReason is null before media is known and for stages that always run', () => {
  const s = initialSnapshot();
  for (const stage of STAGES) assert.equal(skipReason(stage, s), null, stage);
});

test('late and duplicate events for a finished stage change nothing', () => {
  const s = run(initialSnapshot(), [done('media', MEDIA_AV), done('asr', ASR_SPEECH)]);
  for (const ev of [
    done('media', { hasAudio: false }),
    { kind: 'started', stage: 'media', attempts: 9 } as StageEvent,
    { kind: 'failed', stage: 'asr', problemType: 'model-error', detail: 'late' } as StageEvent,
    { kind: 'skipped', stage: 'asr', reason: 'late' } as StageEvent,
  ]) {
    const t = applyEvent(s, ev);
    assert.deepEqual(t.stageChanges, [], JSON.stringify(ev));
    assert.equal(t.status, 'processing');
    assert.equal(t.becameTerminal, false);
  }
  assert.deepEqual(apply(s, done('media', { hasAudio: false })), s);
});

test('a stage failure fails the video and skips every unfinished stage', () => {
  const s = run(initialSnapshot(), [done('media', MEDIA_AV), { kind: 'started', stage: 'asr', attempts: 1 }, done('vision')]);
  const t = applyEvent(s, { kind: 'failed', stage: 'asr', problemType: 'model-error', detail: 'asr failed after 3 attempts' });
  assert.equal(t.status, 'failed');
  assert.equal(t.becameTerminal, true);
  assert.deepEqual(t.error, { type: 'model-error', detail: 'asr failed after 3 attempts', stage: 'asr' });
  const after = withChanges(s, t);
  assert.equal(after.stages.asr.state, 'failed');
  assert.equal(after.stages.asr.reason, 'asr failed after 3 attempts');
  assert.equal(after.stages.media.state, 'done');
  assert.equal(after.stages.vision.state, 'done');
  for (const st of ['audio-emotion', 'text', 'fusion'] as StageName[]) {
    assert.equal(after.stages[st].state, 'skipped', st);
    assert.equal(after.stages[st].reason, 'video failed at asr');
  }
  assert.deepEqual(nextActions(after), []);
});

test('cancel skips unfinished stages and makes the video canceled', () => {
  const s = run(initialSnapshot(), [done('media', MEDIA_AV), { kind: 'started', stage: 'vision', attempts: 1 }]);
  const t = applyEvent(s, { kind: 'cancel' });
  assert.equal(t.status, 'canceled');
  assert.equal(t.becameTerminal, true);
  assert.deepEqual(t.stageChanges.map((c) => c.stage).sort(), ['asr', 'audio-emotion', 'fusion', 'text', 'vision']);
  assert.ok(t.stageChanges.every((c) => c.state === 'skipped' && c.reason === 'canceled'));
  assert.equal(withChanges(s, t).stages.media.state, 'done');
});

test('terminal states stick: no event changes a succeeded, failed or canceled video', () => {
  const base = run(initialSnapshot(), [done('media', MEDIA_AV)]);
  const terminals: VideoSnapshot[] = [
    apply(base, { kind: 'cancel' }),
    apply(base, { kind: 'failed', stage: 'vision', problemType: 'x', detail: 'y' }),
    { ...base, status: 'succeeded' as const },
  ];
  assert.deepEqual(
    terminals.map((s) => s.status),
    ['canceled', 'failed', 'succeeded'],
  );
  for (const s of terminals) {
    for (const ev of [
      done('asr', ASR_SPEECH),
      { kind: 'cancel' } as StageEvent,
      { kind: 'started', stage: 'vision', attempts: 1 } as StageEvent,
      done('fusion'),
    ]) {
      const t = applyEvent(s, ev);
      assert.equal(t.status, s.status);
      assert.deepEqual(t.stageChanges, []);
      assert.equal(t.becameTerminal, false);
    }
    assert.deepEqual(nextActions(s), []);
  }
});

test('dependencies form the documented graph', () => {
  assert.deepEqual(DEPENDENCIES.text, ['asr']);
  assert.deepEqual([...DEPENDENCIES.fusion].sort(), ['asr', 'audio-emotion', 'text', 'vision']);
  for (const s of ['asr', 'audio-emotion', 'vision'] as StageName[]) assert.deepEqual(DEPENDENCIES[s], ['media']);
});
