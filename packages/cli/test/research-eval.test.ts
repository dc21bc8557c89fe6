import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '@omniaffect/core';
import { clipSource, FeatureCache, mmsaMetrics, type MmsaSample } from '@omniaffect/eval';
import { problemRows } from '../src/research-eval';
import { splitsFromCache } from '../src/research-samples';

const run = promisify(execFile);
const CLI = path.join(repoRoot(), 'packages', 'cli', 'dist', 'src', 'main.js');
const tmp = (prefix: string) => mkdtempSync(path.join(os.tmpdir(), `oa-cli-${prefix}-`));

test('clips with no modality after the pipeline are counted in the report skipped rows', () => {
  const base = tmp('empty');
  const media = path.join(base, 'a.mp4');
  writeFileSync(media, 'x');
  const cache = FeatureCache.open(base, 'sims2', 'dataset', base);
  const sample = (id: string): MmsaSample => ({
    id,
    videoId: id.split('/')[0]!,
    clipId: id.split('/')[1]!,
    text: '好',
    label: 0.6,
    mode: 'train',
    mediaPath: `Raw/${id}.mp4`,
    exists: true,
  });
  const put = (id: string, withText: boolean) =>
    cache.put({
      id,
      sample: sample(id),
      source: clipSource(media, '好'),
      videoId: `vid-${id}`,
      tensors: withText ? [{ modality: 'text', kind: 'tokens', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]), items: [{}, {}], model: 'm' }] : [],
      wallMs: 1,
    });
  put('v_1/00001', true);
  put('v_2/00001', false);
  put('v_3/00001', false);
  const splits = splitsFromCache(cache);
  assert.deepEqual(splits.empty.sort(), ['v_2/00001', 'v_3/00001']);
  assert.equal(splits.train.length, 1);

  const step = { dataset: { dataset: 'sims2' as const, labelFile: 'label.csv', problems: [] }, collect: { missingMedia: ['v_9/00001'], failed: [] } };
  const rows = problemRows(step, splits.empty);
  assert.equal(rows.skipped!.length, 2);
  const empty = rows.skipped!.find((r) => /no modality/.test(r.reason))!;
  assert.equal(empty.count, 2);
  assert.equal(empty.source, 'sims2 label.csv');
  assert.match(empty.reason, /v_2\/00001, v_3\/00001/);
  // with nothing empty there is no such row
  assert.deepEqual(
    problemRows(step, []).skipped!.map((r) => r.count),
    [1],
  );
});

test('omniaffect eval metrics --dataset mosei prints MMSA metrics of the scorable rows and reports the malformed one', async () => {
  const file = path.join(tmp('metrics'), 'preds.csv');
  // float32-exact values so the hand-computed figures below are exact
  writeFileSync(file, 'id,prediction,label\na,1.25,1.5\nb,-0.5,-2\ne,abc,1\nc,0,0.5\nd,2.75,3\nf,-1,0\n');
  const { stdout } = await run(process.execPath, [CLI, 'eval', 'metrics', '--dataset', 'mosei', '--predictions', file], { timeout: 60_000 });
  const out = JSON.parse(stdout) as {
    n: number;
    dataset: string;
    mmsa: Record<string, number>;
    sign3: { war: number; uar: number; confusion: number[][] };
    problems: { row: number; reason: string }[];
  };
  assert.equal(out.dataset, 'mosei');
  assert.equal(out.n, 5);
  assert.deepEqual(out.mmsa, mmsaMetrics([1.25, -0.5, 0, 2.75, -1], [1.5, -2, 0.5, 3, 0], 'mosei'));
  // |p − y| = .25, 1.5, .5, .25, 1
  assert.equal(out.mmsa.MAE, 0.7);
  // ≥ 0 vs ≥ 0: only f (−1 vs 0) disagrees; ≠ 0 labels, > 0 vs > 0: c (0 vs 0.5) disagrees
  assert.equal(out.mmsa.Has0_acc_2, 0.8);
  assert.equal(out.mmsa.Non0_acc_2, 0.75);
  // rounded half-even after clipping to ±3 (±2): only c and d match
  assert.equal(out.mmsa.Mult_acc_7, 0.4);
  assert.equal(out.mmsa.Mult_acc_5, 0.4);
  // sign-3 gold neg {b}, neutral {f}, pos {a, c, d}; predicted b neg, f neg, a pos, c neutral, d pos
  assert.deepEqual(out.sign3.confusion, [
    [1, 0, 0],
    [1, 0, 0],
    [0, 1, 2],
  ]);
  assert.equal(out.sign3.war, 0.6);
  assert.ok(Math.abs(out.sign3.uar - (1 + 0 + 2 / 3) / 3) < 1e-12, String(out.sign3.uar));
  assert.deepEqual(
    out.problems.map((p) => p.row),
    [4],
  );
  assert.match(out.problems[0]!.reason, /prediction "abc" is not a number/);
});
