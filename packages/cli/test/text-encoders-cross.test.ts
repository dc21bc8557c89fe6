import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '@omniaffect/core';
import { clipSource, FeatureCache, LABEL_SCALE, type CachedTensor, type MmsaDatasetName } from '@omniaffect/eval';
import { Rng } from '@omniaffect/policy';
import { GatewayClient } from '../src/client';
import { runCross, trainFromFeatures } from '../src/research-eval';

const run = promisify(execFile);
const CLI = path.join(repoRoot(), 'packages', 'cli', 'dist', 'src', 'main.js');
const tmp = (prefix: string) => mkdtempSync(path.join(os.tmpdir(), `oa-cli-text-${prefix}-`));
const DIMS = { text: 6, audio: 4, vision: 4 };
const N = { train: 80, valid: 16, test: 16 } as const;
const TRAIN = { grpoSteps: 2, warmStartEpochs: 25, hidden: 8, batchSize: 10, patience: 25 };

/**
 * A dataset root (label.csv + placeholder media) whose feature cache is already full, so runCross never needs a
 * gateway. Sentiment is planted in text only (channel 0 = polarity, the same channel in both languages) and audio
 * and vision are noise: a policy can only beat chance through text, so whether text was used shows in the figures.
 */
function writeCachedDataset(base: string, cacheBase: string, dataset: MmsaDatasetName, textModel: string, seed: number): string {
  const root = path.join(base, dataset);
  mkdirSync(root, { recursive: true });
  const rng = new Rng(seed);
  const rows = ['video_id,clip_id,text,label,mode'];
  const cache = FeatureCache.open(cacheBase, dataset, 'dataset', root);
  const seq = (len: number, dim: number, f: (t: number, d: number) => number) =>
    Float32Array.from({ length: len * dim }, (_, i) => f(Math.floor(i / dim), i % dim));
  let k = 0;
  for (const mode of ['train', 'valid', 'test'] as const) {
    for (let i = 0; i < N[mode]; i++, k++) {
      const polarity = k % 2 === 0 ? 1 : -1;
      const label = polarity * LABEL_SCALE[dataset] * (0.4 + 0.5 * rng.uniform(0, 1));
      const videoId = `v${k}`;
      const text = dataset === 'sims2' ? '今天' : 'today';
      rows.push(`${videoId},00000,${text},${label.toFixed(3)},${mode}`);
      const media = path.join(root, 'Raw', videoId, '00000.mp4');
      mkdirSync(path.dirname(media), { recursive: true });
      writeFileSync(media, 'placeholder');
      const tensors: CachedTensor[] = [
        {
          modality: 'text',
          kind: 'tokens',
          shape: [3, DIMS.text],
          data: seq(3, DIMS.text, (_t, d) => (d === 0 ? polarity : 0.1 * rng.normal())),
          items: [{}, {}, {}],
          model: textModel,
        },
        {
          modality: 'audio',
          kind: 'segments',
          shape: [2, DIMS.audio],
          data: seq(2, DIMS.audio, () => 0.2 * rng.normal()),
          items: [{}, {}],
          model: 'emotion2vec',
        },
        { modality: 'vision', kind: 'frames', shape: [2, DIMS.vision], data: seq(2, DIMS.vision, () => 0.2 * rng.normal()), items: [{}, {}], model: 'siglip' },
      ];
      const id = `${videoId}/00000`;
      cache.put({
        id,
        sample: { id, videoId, clipId: '00000', text, label: Number(label.toFixed(3)), mode, mediaPath: `Raw/${videoId}/00000.mp4`, exists: true },
        source: clipSource(media, text),
        videoId: `vid-${id}`,
        tensors,
        wallMs: 1,
      });
    }
  }
  writeFileSync(path.join(root, 'label.csv'), `${rows.join('\n')}\n`);
  return root;
}

interface Setup {
  sims: string;
  mosei: string;
  cacheDir: string;
  base: string;
}

function setup(name: string, models: { zh: string; en: string }): Setup {
  const base = tmp(name);
  const cacheDir = path.join(base, 'features');
  return {
    base,
    cacheDir,
    sims: writeCachedDataset(base, cacheDir, 'sims2', models.zh, 11),
    mosei: writeCachedDataset(base, cacheDir, 'mosei', models.en, 12),
  };
}

type Manifest = {
  provenance: {
    textEncoders: { setting: string; en: string | null; zh: string | null };
    maskedModalities?: string[];
    modalityReasons?: Record<string, string>;
  };
};
type Report = {
  textEncoders: { setting: string; en: string | null; zh: string | null };
  crossLingual: { textEncoders: string; inLanguage: { war: number } }[];
  notes: string[];
};

async function cross(s: Setup, out: string, textEncoders?: 'shared' | 'split') {
  const logs: string[] = [];
  const r = await runCross(
    {
      train: { dataset: 'sims2', root: s.sims },
      test: { dataset: 'mosei', root: s.mosei },
      out: path.join(s.base, out),
      cacheDir: s.cacheDir,
      seed: 3,
      trainOptions: TRAIN,
      ...(textEncoders ? { textEncoders } : {}),
    },
    { progress: false, log: (l) => logs.push(l) },
  );
  const manifest = JSON.parse(readFileSync(path.join(r.modelDir, 'fusion.json'), 'utf8')) as Manifest;
  const report = JSON.parse(readFileSync(r.report.json, 'utf8')) as Report;
  const html = readFileSync(r.report.html, 'utf8');
  const wText = readFileSync(r.predictionsCsv, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => Number(l.split(',')[5]));
  return { r, manifest, report, html, wText, logs };
}

test('eval cross on split text encoders masks text by default; fusion.json and the report say masked', async () => {
  const s = setup('split', { zh: 'bert-base-chinese', en: 'bert-base-uncased' });
  const { r, manifest, report, html, wText, logs } = await cross(s, 'masked');
  assert.equal(r.collect.processed, 0, 'everything came from the cache');
  assert.deepEqual(manifest.provenance.textEncoders.setting, 'masked');
  assert.equal(manifest.provenance.textEncoders.zh, 'bert-base-chinese');
  assert.equal(manifest.provenance.textEncoders.en, 'bert-base-uncased');
  assert.deepEqual(manifest.provenance.maskedModalities, ['text']);
  assert.match(manifest.provenance.modalityReasons!.text!, /different encoders/);
  assert.equal(report.textEncoders.setting, 'masked');
  assert.equal(report.crossLingual[0]!.textEncoders, 'masked');
  assert.ok(report.notes.some((n) => n.startsWith('Text encoders: masked')));
  assert.match(html, /Text encoders: masked<\/strong>/);
  assert.ok(
    logs.some((l) => /^WARNING: text modality MASKED/.test(l)),
    logs.join('\n'),
  );
  // text carried the label and was not seen: every test clip has text weight 0 and the WAR is near chance
  assert.ok(wText.length === N.test && wText.every((w) => w === 0), wText.join(' '));
  assert.ok(r.retention.inLanguage.war < 0.8, `in-language WAR ${r.retention.inLanguage.war} without the only informative modality`);
  assert.ok(r.onnx.maxAbsDiff < 1e-4);
  // the weights saved for --policy remember the mask
  assert.deepEqual((JSON.parse(readFileSync(path.join(r.modelDir, 'policy.json'), 'utf8')) as { maskedModalities: string[] }).maskedModalities, ['text']);

  const kept = await cross(s, 'kept', 'split');
  assert.equal(kept.manifest.provenance.textEncoders.setting, 'split');
  assert.equal(kept.manifest.provenance.maskedModalities, undefined);
  assert.equal(kept.manifest.provenance.modalityReasons, undefined);
  assert.equal(kept.report.textEncoders.setting, 'split');
  assert.equal(kept.report.crossLingual[0]!.textEncoders, 'split');
  assert.match(kept.html, /Text encoders: split<\/strong>/);
  assert.ok(kept.logs.some((l) => /^WARNING: text encoders split/.test(l)));
  assert.ok(kept.wText.some((w) => w > 0));
});

test('eval cross on one shared encoder uses text; fusion.json and the report say shared', async () => {
  const s = setup('shared', { zh: 'bert-base-multilingual-cased', en: 'bert-base-multilingual-cased' });
  const { r, manifest, report, html, wText, logs } = await cross(s, 'shared');
  assert.equal(manifest.provenance.textEncoders.setting, 'shared');
  assert.equal(manifest.provenance.textEncoders.en, 'bert-base-multilingual-cased');
  assert.equal(manifest.provenance.textEncoders.zh, 'bert-base-multilingual-cased');
  assert.equal(manifest.provenance.maskedModalities, undefined);
  assert.equal(report.textEncoders.setting, 'shared');
  assert.equal(report.crossLingual[0]!.textEncoders, 'shared');
  assert.match(html, /Text encoders: shared<\/strong>/);
  // text is the informative modality: it is weighed and the planted polarity is found, in and across languages
  assert.ok(wText.some((w) => w > 0));
  assert.ok(r.retention.inLanguage.war >= 0.9, `in-language WAR ${r.retention.inLanguage.war} (${logs.join(' | ')})`);
  assert.ok(r.cross.sign3!.war >= 0.9, `cross WAR ${r.cross.sign3!.war}`);
});

test('train on a mixed-language feature set masks split text too, and the CLI flag keeps it', async () => {
  const s = setup('train', { zh: 'bert-base-chinese', en: 'bert-base-uncased' });
  const r = await trainFromFeatures({ features: s.cacheDir, out: path.join(s.base, 'train-masked'), seed: 3, train: TRAIN }, { progress: false });
  assert.equal(r.textEncoders.setting, 'masked');
  const m = JSON.parse(readFileSync(path.join(r.modelDir, 'fusion.json'), 'utf8')) as Manifest;
  assert.equal(m.provenance.textEncoders.setting, 'masked');
  assert.deepEqual(m.provenance.maskedModalities, ['text']);
  assert.deepEqual(r.summary.params.dims, DIMS, 'the export keeps the text width for serving');

  const args = [
    'train',
    '--features',
    s.cacheDir,
    '--out',
    path.join(s.base, 'train-split'),
    '--seed',
    '3',
    '--grpo-steps',
    '1',
    '--warm-epochs',
    '3',
    '--hidden',
    '8',
    '--text-encoders',
    'split',
  ];
  const { stdout } = await run(process.execPath, [CLI, ...args], { timeout: 120_000 });
  assert.match(stdout, /text encoders: split \(zh bert-base-chinese, en bert-base-uncased\)/);
  const ms = JSON.parse(readFileSync(path.join(s.base, 'train-split', 'model', 'fusion.json'), 'utf8')) as Manifest;
  assert.equal(ms.provenance.textEncoders.setting, 'split');

  await assert.rejects(run(process.execPath, [CLI, ...args.slice(0, -1), 'bogus'], { timeout: 60_000 }), /use shared or split/);
});

test("eval cross puts the evaluating key's reviewer ratings in the report, read from the gateway it was given", async () => {
  const s = setup('ratings', { zh: 'bert-base-multilingual-cased', en: 'bert-base-multilingual-cased' });
  const summary = {
    models: [
      {
        fusionModel: 'policy@7',
        count: 4,
        clarity: { mean: 3.5, median: 3.5, histogram: [0, 1, 1, 1, 1] },
        relevance: { mean: 4, median: 4, histogram: [0, 0, 1, 2, 1] },
      },
    ],
  };
  // a stand-in gateway: every clip is cached, so the summary is the only thing the run asks it for
  const asked: string[] = [];
  const srv = http.createServer((req, res) => {
    asked.push(`${req.method} ${req.url} ${req.headers.authorization}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(summary));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const client = new GatewayClient(`http://127.0.0.1:${(srv.address() as AddressInfo).port}`, 'oa_eval');
    const r = await runCross(
      {
        train: { dataset: 'sims2', root: s.sims },
        test: { dataset: 'mosei', root: s.mosei },
        out: path.join(s.base, 'out'),
        cacheDir: s.cacheDir,
        seed: 3,
        trainOptions: TRAIN,
        client,
      },
      { progress: false },
    );
    assert.deepEqual(asked, ['GET /v1/ratings/summary Bearer oa_eval']);
    assert.deepEqual((JSON.parse(readFileSync(r.report.json, 'utf8')) as { ratings: unknown }).ratings, summary.models);
    assert.match(readFileSync(r.report.html, 'utf8'), /Reviewer ratings of the explanations[\s\S]*policy@7/);
  } finally {
    srv.close();
  }
});
