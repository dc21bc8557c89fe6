import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MmsaSample } from '../src/mmsa-dataset';
import { clipTargets, DATASET_LANGUAGE, LABEL_SCALE } from '../src/pipeline-labels';

function row(label: number, extra: Partial<MmsaSample> = {}): MmsaSample {
  return { id: 'v/1', videoId: 'v', clipId: '1', text: '', label, mode: 'test', mediaPath: 'Raw/v/1.mp4', exists: true, ...extra };
}

test('clip targets: MMSA 3-class, sign-3 and intensity scaled to [-1, 1]', () => {
  assert.deepEqual(DATASET_LANGUAGE, { sims2: 'zh', mosei: 'en' });
  assert.deepEqual(LABEL_SCALE, { sims2: 1, mosei: 3 });
  // sims2: -0.1 is negative under MMSA's edges and under sign-3
  assert.deepEqual(clipTargets(row(-0.1), 'sims2'), { sentiment: 0, sign3: 0, intensity: -0.1 });
  assert.deepEqual(clipTargets(row(0.2), 'sims2'), { sentiment: 2, sign3: 2, intensity: 0.2 });
  // mosei: 0.3333 is neutral for MMSA's round(clip(x, ±1)) but positive for sign-3
  const m = clipTargets(row(0.3333), 'mosei');
  assert.equal(m.sentiment, 1);
  assert.equal(m.sign3, 2);
  assert.ok(Math.abs(m.intensity - 0.1111) < 1e-9);
  assert.equal(clipTargets(row(0.3333), 'mosei', 'sign3').sentiment, 2);
  assert.equal(clipTargets(row(-3), 'mosei').intensity, -1);
});

test('clip targets: the planted modality is kept only where a deletion test could check it', () => {
  const planted = (label: number, uni: [number, number, number] | null, cell = 'vision') =>
    clipTargets(row(label, { extra: { planted_modality: cell }, ...(uni ? { labelT: uni[0], labelA: uni[1], labelV: uni[2] } : {}) }), 'sims2');
  assert.equal(planted(0.8, [0, 0, 0.8]).plantedModality, 'vision');
  // neutral: every modality carries the same neutral cue
  const neutral = planted(0, [0, 0, 0]);
  assert.equal(neutral.plantedModality, undefined);
  assert.equal(neutral.plantedClaim, 'vision');
  // unimodal labels that contradict the claim
  assert.equal(planted(0.8, [0.8, 0, 0.8]).plantedModality, undefined);
  // no unimodal labels (MOSEI): the claim stands for a non-zero label
  assert.equal(planted(0.8, null).plantedModality, 'vision');
  assert.equal(planted(0.8, null, 'smell').plantedClaim, undefined);
  assert.equal(planted(0.8, [0, 0.8, 0], 'Audio').plantedModality, 'audio');
});

test('clip targets: an emotion column is mapped onto EMOTION_LABELS when it names one', () => {
  assert.equal(clipTargets(row(0.8, { extra: { emotion: '开心' } }), 'sims2').emotion, 0);
  assert.equal(clipTargets(row(0.8, { extra: { emotion: 'other' } }), 'sims2').emotion, undefined);
});
