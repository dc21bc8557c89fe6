import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { validateResult, type AnalysisResult } from '@omniaffect/core';
import { collectDataset, trainFromFeatures } from '@omniaffect/cli';
import { generateSyntheticMmsa, generateSyntheticTimeline, scoreTimeline, type SyntheticTimelineVideo, type TimelineScore } from '@omniaffect/eval';
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
  let videos: SyntheticTimelineVideo[] = [];
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
      const clips = { train: 36, valid: 9, test: 0 };
      await generateSyntheticMmsa({ root: path.join(work, 'sims2'), dataset: 'sims2', clipsPerSplit: clips, seed: 21, durationSec: 6, cue: 'localized' });
      await generateSyntheticMmsa({ root: path.join(work, 'mosei'), dataset: 'mosei', clipsPerSplit: clips, seed: 22, durationSec: 6, cue: 'localized' });
      videos = (await generateSyntheticTimeline({ root: path.join(work, 'timeline'), videos: 4, seed: 23 })).videos;
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
        collectDataset({ dataset, root: path.join(work, dataset), transcripts: 'dataset', cacheBase: cacheDir, client: s.client, concurrency: 4 }, { progress: false }),
      );
      assert.equal(step.collect.failed.length, 0, JSON.stringify(step.collect.failed));
      assert.equal(step.collect.processed, 45);
    }
    const r = await timed('train', () => trainFromFeatures({ features: cacheDir, out: path.join(work, 'train'), seed: 7, textEncoders: 'split', train: { unimodalLabels: true } }, { log: () => {} }));
    modelDir = r.modelDir;
    console.log(`trained on ${r.splits.train} clips; valid WAR ${r.summary.final.valid.accuracy.toFixed(3)} (warm start ${r.summary.warmStart.valid.accuracy.toFixed(3)})`);
    assert.ok(r.summary.final.valid.accuracy >= 0.8, `valid accuracy ${r.summary.final.valid.accuracy}`);
  });

  test('served: the timeline follows the planted changes, and the verified evidence is the planted item', async () => {
    assert.ok(modelDir, 'trained');
    await s.teardown();
    s = await timed('stack2', () => startTestStack({ FUSION_MODEL_DIR: modelDir }));
    const root = path.join(work, 'timeline');
    const pairs = await timed('analyse', () =>
      Promise.all(
        videos.map(async (video) => {
          const sub = await s.client.submitFile(path.join(root, video.mediaPath), {
            language: video.language,
            transcript: readFileSync(path.join(root, video.transcriptPath), 'utf8'),
          });
          const doc = await s.client.waitForTerminal(sub.id, 300_000);
          assert.equal(doc.status, 'succeeded', JSON.stringify(doc.error));
          const result = await s.client.result<AnalysisResult>(sub.id);
          assert.deepEqual(validateResult(result).errors, []);
          writeFileSync(path.join(work, `${video.id}.result.json`), JSON.stringify(result, null, 2));
          return { video, result };
        }),
      ),
    );
    const score: TimelineScore = scoreTimeline(pairs);
    writeFileSync(path.join(work, 'timeline-score.json'), JSON.stringify(score, null, 2));
    const { details, ...figures } = score;
    console.log(`planted timeline: ${JSON.stringify(figures)}`);
    for (const d of details) console.log(`  ${JSON.stringify(d)}`);
    for (const { video, result } of pairs) {
      console.log(
        `${video.id}: planted ${video.utterances.map((u) => `${u.start}-${u.end} ${u.sentiment}/${u.planted}`).join(', ')}\n  timeline ${result.timeline
          .map((t) => `${t.start}-${t.end} ${t.sentiment.label}`)
          .join(', ')}`,
      );
    }
    assert.ok(score.boundaries.rate >= 0.9, `boundaries ${JSON.stringify(score.boundaries)}`);
    assert.ok(score.labels.accuracy >= 0.9, `labels ${JSON.stringify(score.labels)}`);
    assert.ok(score.evidence.rate >= 0.8, `evidence ${JSON.stringify(score.evidence)}`);
    assert.ok(score.faithfulness.comprehensiveness! >= 0.5, `faithfulness ${JSON.stringify(score.faithfulness)}`);
    assert.ok(score.faithfulness.sufficiency! <= 0.2, `faithfulness ${JSON.stringify(score.faithfulness)}`);
  });
});
