import assert from 'node:assert/strict';
import { readdirSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { clipCacheKey, clipSource, FeatureCache } from '../src/feature-cache';
import type { MmsaSample } from '../src/mmsa-dataset';
import { tempDir } from './helpers';

function sample(id: string): MmsaSample {
  const [videoId, clipId] = id.split('/') as [string, string];
  return { id, videoId, clipId, text: '好', label: 0.6, mode: 'train', mediaPath: `Raw/${id}.mp4`, exists: true };
}

test('feature cache: entries round-trip bit for bit, keyed by dataset, transcripts mode and id', () => {
  const base = tempDir('cache');
  const media = path.join(base, 'a.mp4');
  writeFileSync(media, 'x');
  const src = clipSource(media, '好');
  const c = FeatureCache.open(base, 'sims2', 'dataset', base);
  const data = Float32Array.from([0.1, -2.5, Math.PI, 1e-30, -0, 7]);
  c.put({
    id: 'v_1/00011_0',
    sample: sample('v_1/00011_0'),
    source: src,
    videoId: 'vid',
    tensors: [{ modality: 'text', kind: 'tokens', shape: [2, 3], data, items: [{ text: '好' }], model: 'm' }],
    wallMs: 5,
  });

  const again = FeatureCache.open(base, 'sims2', 'dataset');
  const got = again.get('v_1/00011_0', src)!;
  assert.deepEqual([...got.tensors[0]!.data], [...data]);
  assert.equal(Object.is(got.tensors[0]!.data[4], -0), true);
  assert.deepEqual(got.tensors[0]!.items, [{ text: '好' }]);
  assert.equal(got.sample.label, 0.6);
  assert.deepEqual(again.ids(), ['v_1/00011_0']);

  // the other transcripts mode is another cache; the key differs per mode and dataset
  assert.equal(FeatureCache.open(base, 'sims2', 'asr').has('v_1/00011_0'), false);
  assert.notEqual(clipCacheKey('sims2', 'dataset', 'a/b'), clipCacheKey('sims2', 'asr', 'a/b'));
  assert.notEqual(clipCacheKey('sims2', 'dataset', 'a/b'), clipCacheKey('mosei', 'dataset', 'a/b'));
  assert.deepEqual(
    FeatureCache.find(base).map((x) => path.basename(x.dir)),
    ['sims2-asr', 'sims2-dataset'],
  );
});

test('feature cache: a changed media file or transcript makes the entry stale', () => {
  const base = tempDir('cache-stale');
  const media = path.join(base, 'a.mp4');
  writeFileSync(media, 'x');
  const c = FeatureCache.open(base, 'mosei', 'dataset');
  const src = clipSource(media, 'great');
  c.put({ id: 'v/1', sample: sample('v/1'), source: src, videoId: 'vid', tensors: [], wallMs: 1 });
  assert.equal(c.has('v/1', src), true);
  assert.equal(c.has('v/1', clipSource(media, 'awful')), false);
  utimesSync(media, new Date(), new Date(Date.now() + 60_000));
  assert.equal(c.has('v/1', clipSource(media, 'great')), false);
  assert.equal(c.has('v/1'), true, 'without a source the entry is still readable');
});

test('feature cache: failures are counted per clip and cleared when the clip finishes', () => {
  const base = tempDir('cache-fail');
  const c = FeatureCache.open(base, 'sims2', 'asr');
  c.recordFailure('v/1', 'boom');
  c.recordFailure('v/1', 'boom again');
  c.recordFailure('v/2', 'other');
  assert.deepEqual(
    c.failures().map((f) => [f.id, f.attempts, f.reason]),
    [
      ['v/1', 2, 'boom again'],
      ['v/2', 1, 'other'],
    ],
  );
  const media = path.join(base, 'a.mp4');
  writeFileSync(media, 'x');
  c.put({ id: 'v/1', sample: sample('v/1'), source: clipSource(media, ''), videoId: 'vid', tensors: [], wallMs: 1 });
  assert.deepEqual(
    c.failures().map((f) => f.id),
    ['v/2'],
  );
  // no temporary files are left behind by the atomic writes
  assert.deepEqual(
    readdirSync(c.dir).filter((f) => f.endsWith('.tmp')),
    [],
  );
});

test('feature cache: opening a directory that holds another dataset is refused', () => {
  const base = tempDir('cache-mismatch');
  const dir = FeatureCache.dirFor(base, 'sims2', 'dataset');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'cache.json'),
    JSON.stringify({ format: 'omniaffect-feature-cache', version: 1, dataset: 'mosei', transcripts: 'dataset', createdAt: '' }),
  );
  assert.throws(() => FeatureCache.open(base, 'sims2', 'dataset'), /holds mosei\/dataset/);
  assert.throws(() => FeatureCache.load(base), /not a feature cache/);
});
