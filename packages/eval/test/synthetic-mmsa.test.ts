import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseCsvTable } from '../src/csv';
import { readMmsaDataset } from '../src/mmsa-dataset';
import { sentimentSign3 } from '../src/sentiment-labels';
import { ffmpegAvailable, generateSyntheticMmsa } from '../src';
import { tempDir } from './helpers';

const ffmpeg = ffmpegAvailable();
const ffprobeOk = !spawnSync('ffprobe', ['-version']).error;
const skip = ffmpeg !== true ? `SKIPPED: ${ffmpeg}` : !ffprobeOk ? 'SKIPPED: ffprobe not runnable' : false;

function probe(file: string): { codec_type: string; codec_name: string; width?: number; height?: number }[] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height', '-of', 'json', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).streams;
}

/** Mean RGB of one decoded frame, scaled down to a single pixel by ffmpeg. */
function frameColour(file: string): number[] {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-frames:v', '1', '-vf', 'scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    maxBuffer: 1 << 20,
  });
  assert.equal(r.status, 0);
  return [...r.stdout.subarray(0, 3)];
}

for (const dataset of ['sims2', 'mosei'] as const) {
  test(`synthetic ${dataset} dataset reads back cleanly and plants one modality per clip`, { skip }, async () => {
    const root = tempDir(`synth-${dataset}`);
    const result = await generateSyntheticMmsa({ root, dataset, clipsPerSplit: { train: 3, valid: 3, test: 3 }, seed: 11, durationSec: 2 });
    assert.equal(result.clips.length, 9);

    const table = parseCsvTable(readFileSync(path.join(root, 'label.csv'), 'utf8'));
    assert.ok(table.columns.has('planted_modality'));
    for (const c of ['video_id', 'clip_id', 'text', 'label', 'label_t', 'label_a', 'label_v', 'annotation', 'mode']) assert.ok(table.columns.has(c), c);

    const d = readMmsaDataset(root, { dataset });
    assert.deepEqual(d.problems, []);
    assert.equal(d.counts.accepted, 9);
    assert.deepEqual(d.counts.byMode, { train: 3, valid: 3, test: 3 });
    assert.deepEqual(d.counts.bySentiment, { negative: 3, neutral: 3, positive: 3 });
    assert.equal(d.counts.missingMedia, 0);
    // Nine clips cover all nine (sentiment, planted modality) pairs.
    const pairs = new Set(d.samples.map((s) => `${sentimentSign3(s.label)}:${s.extra?.planted_modality}`));
    assert.equal(pairs.size, 9);
    if (dataset === 'mosei') assert.ok(d.samples.some((s) => s.videoId.startsWith('-')));
    if (dataset === 'sims2') assert.ok(d.samples.every((s) => /^\d{5}$/.test(s.clipId)));

    for (const s of d.samples) {
      const planted = s.extra!.planted_modality;
      const sentiment = sentimentSign3(s.label);
      const streams = probe(path.join(root, s.mediaPath));
      const video = streams.find((x) => x.codec_type === 'video');
      const audio = streams.find((x) => x.codec_type === 'audio');
      assert.equal(video?.codec_name, 'h264');
      assert.equal(audio?.codec_name, 'aac');
      assert.equal(video?.width, 320);
      assert.equal(video?.height, 240);
      // The unimodal label is the planted one only on the planted modality.
      const uni = { text: s.labelT, audio: s.labelA, vision: s.labelV };
      for (const [m, v] of Object.entries(uni)) assert.equal(v, m === planted ? s.label : 0, `${s.id} label_${m}`);
      // Vision cue: green-yellow / dark blue-purple / grey, grey when another modality carries the label.
      const [r, g, b] = frameColour(path.join(root, s.mediaPath)) as [number, number, number];
      const cue = planted === 'vision' ? sentiment : 'neutral';
      if (cue === 'positive') assert.ok(g > 180 && r > 140 && b < 90, `${s.id} ${[r, g, b]}`);
      else if (cue === 'negative') assert.ok(b > r && b > g && r + g + b < 250, `${s.id} ${[r, g, b]}`);
      else assert.ok(Math.max(r, g, b) - Math.min(r, g, b) < 30 && r > 100 && r < 160, `${s.id} ${[r, g, b]}`);
    }
  });
}

test('the generator is deterministic for a seed', { skip }, async () => {
  const a = await generateSyntheticMmsa({ root: tempDir('det-a'), dataset: 'mosei', clipsPerSplit: { train: 2, valid: 1, test: 1 }, seed: 5, durationSec: 1 });
  const b = await generateSyntheticMmsa({ root: tempDir('det-b'), dataset: 'mosei', clipsPerSplit: { train: 2, valid: 1, test: 1 }, seed: 5, durationSec: 1 });
  assert.equal(readFileSync(a.labelFile, 'utf8'), readFileSync(b.labelFile, 'utf8'));
});
