import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unfinishedStages } from '../src/client';

const stage = (state: string, startedAt: string | null = null, attempts = 1) => ({ state, reason: null, attempts, startedAt, finishedAt: null }) as never;

test('a wait that times out names the stages still open, with their start and attempt', () => {
  const msg = unfinishedStages({
    stages: {
      media: stage('done', '2026-12-06T10:00:00.000Z'),
      asr: stage('running', '2026-12-06T10:00:01.000Z', 2),
      vision: stage('skipped'),
      fusion: stage('pending'),
    },
  });
  assert.equal(msg, 'waiting on asr running since 2026-12-06T10:00:01.000Z, attempt 2; fusion pending');
});

test('every stage finished but the video still open says so', () => {
  assert.equal(unfinishedStages({ stages: { media: stage('done'), fusion: stage('failed') } }), 'every stage finished; the video was not closed');
});
