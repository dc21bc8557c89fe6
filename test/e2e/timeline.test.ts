import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { validateResult } from '@omniaffect/core';
import { collectDataset, runRobustness, runTimelineEval, trainFromFeatures } from '@omniaffect/cli';
import { generateSyntheticMmsa, generateSyntheticTimeline, parsePerturbations } from '@omniaffect/eval';
import { startTestStack, type TestStack } from '../support/stack-fixture';

/**
 * The emotion timeline through the whole stack, on long videos whose answer is known: the sentiment
 * changes at every pause and each utterance's decisive evidence is planted in one word, one 2 s
 * stretch of the voice or the frames of 2 s (synthetic-timeline.ts). A policy is trained on localized
 * MMSA-layout clips in zh and en (the same cues, one per clip) through the real pipeline, then served,
 * and the planted videos are analysed with their timed (WebVTT) transcripts.
 */
describe('emotion timeline with verified evidence on planted videos', { timeout: 1_200_000 }, () => {
  let s: TestStack;
  const work = mkdtempSync(path.join(os.tmpdir(), 'oa-timeline-'));
  const cacheDir = path.join(work, 'features');
  let modelDir = '';
  const ms: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await f();
    } finally {
      ms[name] = Date.now() - t;
    }
  };

  before(async () => {
    const generate = timed('generate', async () => {
      // the zh set's 9 test clips are the robustness set
      await generateSyntheticMmsa({
        root: path.join(work, 'sims2'),
        dataset: 'sims2',
        clipsPerSplit: { train: 36, valid: 9, test: 9 },
        seed: 21,
        durationSec: 6,
        cue: 'localized',
      });
      await generateSyntheticMmsa({
        root: path.join(work, 'mosei'),
        dataset: 'mosei',
        clipsPerSplit: { train: 36, valid: 9, test: 0 },
        seed: 22,
        durationSec: 6,
        cue: 'localized',
      });
      await generateSyntheticTimeline({ root: path.join(work, 'timeline'), videos: 4, seed: 23 });
    });
    const stack = timed('stack', () => startTestStack());
    const [g, st] = await Promise.allSettled([generate, stack]);
    if (st.status === 'fulfilled') s = st.value;
    if (g.status === 'rejected') throw g.reason;
    if (st.status === 'rejected') throw st.reason;
  });

  after(async () => {
    console.log(`timeline e2e timings (ms): ${JSON.stringify(ms)}`);
    if (process.env.E2E_SHOW_LOGS) console.log(s?.logs());
    await s?.teardown();
  });

  test('a policy trained on localized zh and en clips through the pipeline', async () => {
    for (const dataset of ['sims2', 'mosei'] as const) {
      const step = await timed(`collect-${dataset}`, () =>
        collectDataset(
          { dataset, root: path.join(work, dataset), transcripts: 'dataset', cacheBase: cacheDir, client: s.client, concurrency: 4 },
          { progress: false },
        ),
      );
      assert.equal(step.collect.failed.length, 0, JSON.stringify(step.collect.failed));
      assert.equal(step.collect.processed, dataset === 'sims2' ? 54 : 45);
    }
    const r = await timed('train', () =>
      trainFromFeatures(
        { features: cacheDir, out: path.join(work, 'train'), seed: 7, textEncoders: 'split', train: { unimodalLabels: true } },
        { log: () => {} },
      ),
    );
    modelDir = r.modelDir;
    console.log(
      `trained on ${r.splits.train} clips; valid WAR ${r.summary.final.valid.accuracy.toFixed(3)} (warm start ${r.summary.warmStart.valid.accuracy.toFixed(3)})`,
    );
    assert.ok(r.summary.final.valid.accuracy >= 0.8, `valid accuracy ${r.summary.final.valid.accuracy}`);
  });

  test('served: the timeline follows the planted changes, and the verified evidence is the planted item', async () => {
    assert.ok(modelDir, 'trained');
    await s.teardown();
    s = await timed('stack2', () => startTestStack({ FUSION_MODEL_DIR: modelDir }));
    const t = await timed('analyse', () =>
      runTimelineEval({ root: path.join(work, 'timeline'), out: path.join(work, 'timeline-eval'), client: s.client, concurrency: 4 }),
    );
    const { details, ...figures } = t.score;
    const score = t.score;
    console.log(`planted timeline: ${JSON.stringify(figures)}`);
    for (const d of details) console.log(`  ${JSON.stringify(d)}`);
    for (const { video, result, bytes } of t.results) {
      assert.deepEqual(validateResult(result).errors, []);
      console.log(
        `${video.id} (${video.durationSec} s, result ${(bytes / 1024).toFixed(0)} KiB): planted ${video.utterances.map((u) => `${u.start}-${u.end} ${u.sentiment}/${u.planted}`).join(', ')}\n  timeline ${result.timeline
          .map((x) => `${x.start}-${x.end} ${x.sentiment.label}`)
          .join(', ')}`,
      );
    }
    // the figures are in the eval report too
    const report = JSON.parse(readFileSync(t.report.json, 'utf8')) as { timeline: { evidence: { rate: number } } };
    assert.equal(report.timeline.evidence.rate, score.evidence.rate);
    assert.ok(readFileSync(t.report.html, 'utf8').includes('Emotion timeline on planted videos'));
    assert.ok(score.boundaries.rate >= 0.9, `boundaries ${JSON.stringify(score.boundaries)}`);
    assert.ok(score.labels.accuracy >= 0.9, `labels ${JSON.stringify(score.labels)}`);
    assert.ok(score.evidence.rate >= 0.8, `evidence ${JSON.stringify(score.evidence)}`);
    assert.ok(score.faithfulness.comprehensiveness! >= 0.5, `faithfulness ${JSON.stringify(score.faithfulness)}`);
    assert.ok(score.faithfulness.sufficiency! <= 0.2, `faithfulness ${JSON.stringify(score.faithfulness)}`);
  });

  test('eval robustness: perturbed test clips through the pipeline, with and without perturbation augmentation', async () => {
    const r = await timed('robustness', () =>
      runRobustness(
        {
          dataset: 'sims2',
          root: path.join(work, 'sims2'),
          out: path.join(work, 'robustness'),
          cacheDir,
          client: s.client,
          perturbations: parsePerturbations('noise:20,0;blur:5;drop-audio;drop-video'),
          augment: parsePerturbations('noise:5;drop-audio'),
          seed: 7,
          train: { unimodalLabels: true },
        },
        { log: () => {} },
      ),
    );
    for (const row of r.rows)
      console.log(
        `robustness: ${row.policy.padEnd(40)} ${row.perturbation.padEnd(18)} WAR ${row.war.toFixed(3)} UAR ${row.uar.toFixed(3)} Δ(t,a,v) ${[row.contributionShift.text, row.contributionShift.audio, row.contributionShift.vision].map((x) => x.toFixed(3)).join(',')} top-1 ${row.top1Agreement?.toFixed(3)} jaccard ${row.verifiedJaccard?.toFixed(3)}`,
      );
    const policies = [...new Set(r.rows.map((x) => x.policy))];
    assert.deepEqual(policies, ['trained on clean clips', 'trained with perturbation augmentation']);
    assert.equal(r.rows.length, 2 * 6, 'clean + five perturbed variants, for each policy');
    for (const row of r.rows) assert.equal(row.n, 9);
    const at = (policy: string, perturbation: string) => r.rows.find((x) => x.policy === policy && x.perturbation === perturbation)!;
    const base = policies[0]!;
    assert.ok(at(base, 'clean').war >= 0.8, `clean WAR ${at(base, 'clean').war}`);
    // on the clean clips the evidence is the clean evidence
    assert.equal(at(base, 'clean').top1Agreement, 1);
    // a dropped stream takes its modalities out of every reading: no video → no vision; no audio → no voice and no words
    assert.equal(at(base, 'drop-video').contributions.vision, 0);
    assert.ok(at(base, 'drop-video').contributionShift.vision < 0);
    assert.equal(at(base, 'drop-audio').contributions.audio, 0);
    assert.equal(at(base, 'drop-audio').contributions.text, 0);
    // 0 dB of white noise costs accuracy or leaves it; it never helps more than chance would
    assert.ok(at(base, 'noise 0 dB SNR').war <= at(base, 'clean').war + 1e-9);
    const report = readFileSync(r.report.html, 'utf8');
    assert.ok(report.includes('Robustness to perturbed media'));
    const json = JSON.parse(readFileSync(r.report.json, 'utf8')) as { plots: string[]; robustness: unknown[] };
    assert.equal(json.robustness.length, r.rows.length);
    for (const p of json.plots) assert.ok(existsSync(path.join(work, 'robustness', p)), p);
  });
});
