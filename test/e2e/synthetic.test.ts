import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AnalysisResult } from '@omniaffect/core';
import {
  collectDataset,
  FeatureCache,
  generateSyntheticMmsa,
  loadPolicyDir,
  onnxParity,
  predictClips,
  readMmsaDataset,
  runCross,
  runEval,
  scorePredictionsCsv,
  toResearchSample,
  type CrossRunResult,
  type EvalRunResult,
} from '@omniaffect/cli';
import { startTestStack, startTestStackWhile, stopwatch, type TestStack } from '../support/stack-fixture';

/**
 * The research workflow end to end on a synthetic MMSA dataset whose sentiment is planted in one known modality
 * per clip: real mp4 clips → gateway → media/text/audio/vision workers on the tiny pack → pushed features → feature
 * cache → warm start + GRPO → test metrics, attribution and faithfulness checks → report + exported fusion.onnx,
 * which the fusion service then serves. Uses the same functions as `omniaffect eval run` / `eval cross`.
 */
describe('research workflow on a synthetic dataset', { timeout: 1_200_000 }, () => {
  let s: TestStack;
  const work = mkdtempSync(path.join(os.tmpdir(), 'oa-synth-'));
  const sims = path.join(work, 'sims2');
  const mosei = path.join(work, 'mosei');
  const cacheDir = path.join(work, 'features');
  const out = path.join(work, 'eval');
  let run: EvalRunResult;
  let cross: CrossRunResult;
  const { ms, timed } = stopwatch();

  before(async () => {
    // ffmpeg writes the clips while the services start
    const generate = timed('generate', async () => {
      await generateSyntheticMmsa({ root: sims, dataset: 'sims2', clipsPerSplit: { train: 48, valid: 12, test: 30 }, seed: 7, durationSec: 2 });
      await generateSyntheticMmsa({ root: mosei, dataset: 'mosei', clipsPerSplit: { train: 24, valid: 6, test: 9 }, seed: 8, durationSec: 2 });
      // Three rows that must be reported rather than dropped: a corrupt video (the pipeline fails it), a row whose
      // media is missing, and a malformed row (label outside [-1, 1]).
      mkdirSync(path.join(sims, 'Raw', 'broken_0001'), { recursive: true });
      writeFileSync(path.join(sims, 'Raw', 'broken_0001', '00000.mp4'), Buffer.from('this is not a video'.repeat(64)));
      appendFileSync(
        path.join(sims, 'label.csv'),
        'broken_0001,00000,今天天气。,0.6,0,0.6,0,Positive,test,audio\r\n' +
          'missing_0001,00000,今天天气。,0.6,0,0.6,0,Positive,test,audio\r\n' +
          'bad_0001,00000,今天天气。,7,0,0,0,Positive,test,audio\r\n',
      );
    });
    s = await timed('stack', () => startTestStackWhile(generate));
  });

  after(async () => {
    console.log(`synthetic e2e timings (ms): ${JSON.stringify(ms)}`);
    if (process.env.E2E_SHOW_LOGS) console.log(s?.logs());
    await s?.teardown();
  });

  test('eval run: the pipeline features train a policy that finds the planted modality', async () => {
    run = await timed('evalRun', () =>
      runEval(
        { dataset: 'sims2', root: sims, out, cacheDir, client: s.client, concurrency: 4, seed: 7 },
        { progress: false, log: (l) => !/^(warm epoch|GRPO step)/.test(l) && console.log(l) },
      ),
    );
    const { collect, test: t, warmTest } = run;

    // nothing dropped silently
    assert.equal(collect.total, 91, 'clips with media');
    assert.deepEqual(collect.missingMedia, ['missing_0001/00000']);
    assert.deepEqual(
      collect.failed.map((f) => f.id),
      ['broken_0001/00000'],
    );
    assert.equal(collect.processed, 90);
    assert.deepEqual([run.splits.train.length, run.splits.valid.length, run.splits.test.length], [48, 12, 30]);
    const perClip = [...collect.clipWallMs].sort((a, b) => a - b);
    console.log(
      `pipeline: ${collect.processed} clips in ${(collect.wallMs / 1000).toFixed(1)} s (concurrency 4), per clip median ${perClip[perClip.length >> 1]} ms, max ${perClip[perClip.length - 1]} ms`,
    );

    const warm = warmTest!;
    const a = t.attribution;
    console.log(`held-out WAR ${t.sentiment3.war.toFixed(4)} UAR ${t.sentiment3.uar.toFixed(4)} (warm start ${warm.sentiment3.war.toFixed(4)})`);
    console.log(
      `decisive = planted on ${a.decisivePlanted.n} checkable clips: warm start ${warm.attribution.decisivePlanted.rate} → GRPO ${a.decisivePlanted.rate}`,
    );
    console.log(`deletion-decisive = planted: warm start ${warm.attribution.deletionPlanted.rate} → GRPO ${a.deletionPlanted.rate}`);
    console.log(
      `masking the top-weighted modality hurts more than masking the lowest: rate ${a.topBeatsLowest.rate} over ${a.topBeatsLowest.n} multi-modality clips (warm start ${warm.attribution.topBeatsLowest.rate})`,
    );
    console.log(`faithfulness: ${JSON.stringify(t.faithfulness)}`);

    assert.ok(t.sentiment3.war >= 0.9, `held-out accuracy ${t.sentiment3.war}`);
    // Neutral clips carry the same neutral cue in every modality, so only the 20 non-neutral ones can be checked.
    assert.equal(a.decisivePlanted.n, 20);
    assert.ok(a.decisivePlanted.rate! >= 0.8, `decisive = planted ${a.decisivePlanted.rate}`);
    // GRPO must raise the rate; only a warm start that is already perfect may stay put
    const warmRate = warm.attribution.decisivePlanted.rate!;
    assert.ok(
      warmRate < 1 ? a.decisivePlanted.rate! > warmRate : a.decisivePlanted.rate === 1,
      `decisive = planted: warm start ${warmRate} → GRPO ${a.decisivePlanted.rate}`,
    );
    assert.equal(a.topBeatsLowest.n, 30);
    assert.ok(a.topBeatsLowest.rate! >= 0.8, `top-vs-lowest deletion ${a.topBeatsLowest.rate}`);
    // ERASER: removing the cited modality must cost more than keeping only it
    const mod = t.faithfulness.find((r) => r.scope.startsWith('modality'))!;
    assert.ok(mod.comprehensiveness > mod.sufficiency, JSON.stringify(mod));
  });

  test('the report, the predictions file and the exported model', async () => {
    assert.ok(run, 'eval run finished');
    const report = JSON.parse(readFileSync(run.report.json, 'utf8')) as Record<string, unknown> & {
      classification: { name: string; metrics: { war: number; uar: number; confusion: number[][] } }[];
      mmsa: { dataset: string; metrics: Record<string, number> }[];
      faithfulness: { scope: string }[];
      modalityContributions: { language: string; text: number; audio: number; vision: number }[];
      training: { step: number; kl?: number }[];
      plots: string[];
      skipped: { count: number; reason: string }[];
      problems: { count: number }[];
    };
    assert.match(String(report.disclaimer), /perceived/);
    const c3 = report.classification.find((c) => c.name.endsWith('3-class sentiment'))!;
    assert.equal(c3.metrics.war, run.test.sentiment3.war);
    assert.equal(
      c3.metrics.confusion.flat().reduce((x, y) => x + y, 0),
      30,
    );
    assert.deepEqual(Object.keys(report.mmsa[0]!.metrics).sort(), ['Corr', 'F1_score', 'MAE', 'Mult_acc_2', 'Mult_acc_3', 'Mult_acc_5']);
    for (const scope of ['modality', 'words', 'segments', 'frames'])
      assert.ok(
        report.faithfulness.some((r) => r.scope.startsWith(scope)),
        scope,
      );
    const zh = report.modalityContributions.find((r) => r.language === 'zh · GRPO')!;
    assert.ok(Math.abs(zh.text + zh.audio + zh.vision - 1) < 1e-6);
    assert.ok(report.training.filter((x) => x.kl !== undefined).length > 10, 'GRPO curve');
    assert.equal(report.problems[0]!.count, 1, 'the malformed row');
    assert.ok(report.skipped.some((x) => /broken_0001/.test(x.reason)) && report.skipped.some((x) => /missing_0001/.test(x.reason)));
    for (const p of report.plots) assert.ok(existsSync(path.join(run.out, p)), p);
    assert.ok(report.plots.length >= 6);
    const html = readFileSync(run.report.html, 'utf8');
    assert.ok(html.includes('<svg') && html.includes('Training curves') && html.includes('Faithfulness'));

    // `omniaffect eval metrics` on the written predictions reproduces the report's MMSA numbers
    const scored = scorePredictionsCsv(run.predictionsCsv, 'sims2');
    assert.deepEqual(scored.mmsa, run.test.mmsa[0]!.metrics);

    // the exported fusion.onnx, run by onnxruntime-node, equals the trainer's forward on a cached clip
    const manifest = JSON.parse(readFileSync(path.join(run.modelDir, 'fusion.json'), 'utf8')) as { dims: object; provenance: { kind: string; seed: number } };
    assert.deepEqual(manifest.dims, { text: 32, audio: 32, vision: 32 });
    assert.equal(manifest.provenance.kind, 'trained-policy');
    const cache = FeatureCache.load(path.join(cacheDir, 'sims2-dataset'));
    const clip = cache.get(run.splits.test[0]!.id.slice('sims2:'.length))!;
    const { params } = loadPolicyDir(out);
    const parity = await onnxParity(run.modelDir, params, [toResearchSample(clip)]);
    console.log(`ONNX vs trainer: max |Δ| ${parity.maxAbsDiff.toExponential(2)} ${JSON.stringify(parity.perOutput)}`);
    assert.ok(parity.maxAbsDiff < 1e-5, String(parity.maxAbsDiff));
  });

  test('a re-run skips the finished clips and retries only the failed one', async () => {
    const again = await collectDataset({ dataset: 'sims2', root: sims, transcripts: 'dataset', cacheBase: cacheDir, client: s.client }, { progress: false });
    assert.equal(again.collect.cached, 90);
    assert.equal(again.collect.processed, 0);
    assert.deepEqual(
      again.collect.failed.map((f) => [f.id, f.attempts]),
      [['broken_0001/00000', 2]],
    );
  });

  test('eval cross: train on CH-SIMS v2 (zh), test on CMU-MOSEI (en)', async () => {
    cross = await timed('cross', () =>
      // The tiny pack's text-en and text-zh are two encoders (the split setting, which cross-lingual
      // runs mask by default); they put polarity in the same channels by construction, so keeping
      // text is what this test of the plumbing wants.
      runCross(
        {
          train: { dataset: 'sims2', root: sims },
          test: { dataset: 'mosei', root: mosei },
          out: path.join(work, 'cross'),
          cacheDir,
          client: s.client,
          seed: 7,
          textEncoders: 'split',
        },
        { progress: false },
      ),
    );
    const x = cross.retention;
    console.log(
      `zh→en: in-language WAR ${x.inLanguage.war.toFixed(4)} UAR ${x.inLanguage.uar.toFixed(4)}; cross WAR ${x.cross.war.toFixed(4)} UAR ${x.cross.uar.toFixed(4)}; retention ${x.retention?.toFixed(4)}`,
    );
    assert.equal(x.direction, 'zh→en');
    assert.equal(cross.cross.n, 9);
    assert.equal(cross.textEncoders.setting, 'split');
    const fj = JSON.parse(readFileSync(path.join(cross.modelDir, 'fusion.json'), 'utf8')) as { provenance: { textEncoders: { setting: string } } };
    assert.equal(fj.provenance.textEncoders.setting, 'split', 'fusion.json records the text-encoder setting');
    assert.ok(x.inLanguage.war >= 0.9);
    assert.equal(x.retention, x.cross.war / x.inLanguage.war);
    const report = JSON.parse(readFileSync(cross.report.json, 'utf8')) as { crossLingual: { retention: number }[] };
    assert.equal(report.crossLingual[0]!.retention, x.retention);
  });

  test('eval cross, the reverse: train on CMU-MOSEI (en), test on CH-SIMS v2 (zh)', async () => {
    // both datasets' features are cached by now: this is training and scoring only
    const reverse = await runCross(
      {
        train: { dataset: 'mosei', root: mosei },
        test: { dataset: 'sims2', root: sims },
        out: path.join(work, 'cross-reverse'),
        cacheDir,
        client: s.client,
        seed: 7,
        textEncoders: 'split',
      },
      { progress: false },
    );
    const x = reverse.retention;
    console.log(
      `en→zh: in-language WAR ${x.inLanguage.war.toFixed(4)} UAR ${x.inLanguage.uar.toFixed(4)}; cross WAR ${x.cross.war.toFixed(4)} UAR ${x.cross.uar.toFixed(4)}; retention ${x.retention?.toFixed(4)}`,
    );
    assert.equal(x.direction, 'en→zh');
    assert.equal(reverse.cross.n, run.splits.test.length);
    assert.equal(reverse.collect.processed, 0, 'the MOSEI clips come from the cache, not the pipeline again');
    assert.ok(x.inLanguage.war >= 0.66, `in-language WAR ${x.inLanguage.war} (9 clips; chance is 1/3)`);
    assert.equal(x.retention, x.cross.war / x.inLanguage.war);
  });

  test("the fusion service serves the exported model (FUSION_MODEL_DIR) with the trainer's prediction", async () => {
    await s.teardown();
    s = await timed('stack2', () => startTestStack({ FUSION_MODEL_DIR: run.modelDir }));
    const sample = run.splits.test.find((x) => x.plantedModality === 'vision')!;
    const clipId = sample.id.slice('sims2:'.length);
    const text = readMmsaDataset(sims, { dataset: 'sims2' }).samples.find((x) => x.id === clipId)!.text;
    const sub = await s.client.submitFile(path.join(sims, 'Raw', ...clipId.split('/')) + '.mp4', { language: 'zh', transcript: text });
    const doc = await s.client.waitForTerminal(sub.id, 120_000);
    assert.equal(doc.status, 'succeeded', JSON.stringify(doc.error));
    const served = await s.client.result<AnalysisResult>(sub.id);
    const offline = predictClips(loadPolicyDir(out).params, [sample])[0]!;
    const labels = ['negative', 'neutral', 'positive'];
    assert.equal(served.sentiment.label, labels[offline.pred]);
    assert.ok(Math.abs(served.sentiment.intensity - offline.intensity) < 1e-3, `${served.sentiment.intensity} vs ${offline.intensity}`);
    assert.ok(Math.abs(served.modalities.vision.contribution - offline.weights.vision) < 1e-3);
    // the result names the trained policy, with the provenance written at export (fusion.json)
    const manifest = JSON.parse(readFileSync(path.join(run.modelDir, 'fusion.json'), 'utf8')) as {
      name: string;
      version: string;
      provenance: Record<string, unknown>;
    };
    const fusionModel = served.models.fusion as { name: string; version?: string; provenance?: Record<string, unknown> };
    assert.equal(fusionModel.name, 'omniaffect-fusion-policy');
    assert.equal(fusionModel.version, manifest.version);
    assert.deepEqual(fusionModel.provenance, manifest.provenance);
    assert.equal(fusionModel.provenance?.kind, 'trained-policy');
  });
});
