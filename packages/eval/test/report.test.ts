import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { SENTIMENT_LABELS } from '@omniaffect/core';
import { classificationMetrics } from '../src/classification-metrics';
import { crossLingualReport } from '../src/cross-lingual';
import { mmsaMetrics } from '../src/mmsa-metrics';
import { confusionMatrixSpec, renderSvg } from '../src/plots';
import { PERCEIVED_DISCLAIMER, writeEvalReport } from '../src/report';
import { tempDir } from './helpers';

/** Every http(s) URL in the text except the SVG/XLink namespace names, which are identifiers, not fetches. */
function externalUrls(s: string): string[] {
  return (s.match(/https?:\/\/[^\s"'<>)]+/g) ?? []).filter((u) => !/^http:\/\/www\.w3\.org\/(2000\/svg|1999\/xlink)$/.test(u));
}

test('renderSvg draws a confusion heatmap with its counts', async () => {
  const svg = await renderSvg(
    confusionMatrixSpec(
      'c',
      ['neg', 'neu', 'pos'],
      [
        [5, 1, 0],
        [2, 7, 1],
        [0, 3, 11],
      ],
    ),
  );
  assert.match(svg, /^<svg/);
  for (const n of ['11', '7', '5']) assert.match(svg, new RegExp(`>${n}</text>`));
  assert.match(svg, />neu</);
});

test('writeEvalReport writes JSON, self-contained escaped HTML and SVG plots', async () => {
  const dir = tempDir('report');
  const cls = classificationMetrics([0, 1, 2, 2, 1, 0], [0, 1, 2, 1, 1, 2], SENTIMENT_LABELS);
  const written = await writeEvalReport(dir, {
    title: 'Eval <script>alert(1)</script>',
    generatedAt: '2025-01-01T00:00:00Z',
    mmsa: [{ name: 'sims2 test', dataset: 'sims2', n: 3, metrics: { ...mmsaMetrics([0.3, 0.3, 0.3], [0.2, 0, -0.2], 'sims2') } }],
    classification: [{ name: 'sims2 <b>test</b>', metrics: cls }],
    crossLingual: [crossLingualReport({ direction: 'zh→en', inLanguage: { war: 0.6, uar: 0.5 }, cross: { war: 0.45, uar: 0.4 } })],
    modalityContributions: [
      { language: 'zh', text: 0.5, audio: 0.3, vision: 0.2 },
      { language: 'en', text: 0.6, audio: 0.2, vision: 0.2 },
    ],
    faithfulness: [{ scope: 'modality', comprehensiveness: 0.31, sufficiency: 0.08 }],
    training: [1, 2, 3].map((step) => ({ step, rewards: { accuracy: 0.3 * step, attribution: 0.1 * step }, kl: 0.01 * step, accuracy: 0.2 * step })),
    problems: [{ source: 'sims2 label.csv', count: 2, examples: [{ row: 7, reason: 'label "<img src=x>" is not a number' }] }],
    skipped: [{ source: 'sims2 test', count: 4, reason: 'media missing' }],
  });
  const html = readFileSync(written.html, 'utf8');
  const json = JSON.parse(readFileSync(written.json, 'utf8'));
  assert.equal(json.disclaimer, PERCEIVED_DISCLAIMER);
  assert.equal(json.mmsa[0].metrics.Corr, null); // constant predictor: NaN → null
  assert.equal(json.plots.length, 6);
  assert.equal(written.svgs.length, 6);
  for (const f of written.svgs) assert.ok(existsSync(f) && readFileSync(f, 'utf8').startsWith('<svg'));
  assert.ok(written.svgs.some((f) => path.basename(f) === 'training-kl.svg'));
  assert.match(html, /Expressions as perceived, not felt/);
  assert.equal((html.match(/<svg/g) ?? []).length, 6);
  assert.doesNotMatch(html, /<script|<img|<b>/i);
  assert.match(html, /Eval &lt;script&gt;/);
  assert.match(html, /line 7: label &quot;&lt;img src=x&gt;&quot;/);
  assert.match(html, /75\.00%/); // retention 0.45 / 0.6
  assert.match(html, /media missing/);
  assert.deepEqual(externalUrls(html), []);
  assert.doesNotMatch(html, /<link|@import|<iframe|<object|<embed/i);
});

test('an empty report still says there were no problems and carries the disclaimer', async () => {
  const dir = tempDir('report-empty');
  const written = await writeEvalReport(dir, {});
  const html = readFileSync(written.html, 'utf8');
  assert.match(html, /No malformed rows and no skipped clips/);
  assert.match(html, /not felt/);
  assert.deepEqual(written.svgs, []);
});

test('the ratings section tabulates each fusion model version’s scores, escaped', async () => {
  const dir = tempDir('report-ratings');
  const written = await writeEvalReport(dir, {
    ratings: [
      {
        fusionModel: 'policy@<2>',
        count: 3,
        clarity: { mean: 7 / 3, median: 2, histogram: [1, 1, 0, 1, 0] },
        relevance: { mean: 3, median: 2, histogram: [0, 2, 0, 0, 1] },
      },
    ],
  });
  const html = readFileSync(written.html, 'utf8');
  assert.match(html, /<h2>Reviewer ratings of the explanations<\/h2>/);
  assert.match(
    html,
    /<td>policy@&lt;2&gt;<\/td><td>3<\/td><td>2\.33<\/td><td>2\.0<\/td><td>1 \/ 1 \/ 0 \/ 1 \/ 0<\/td><td>3\.00<\/td><td>2\.0<\/td><td>0 \/ 2 \/ 0 \/ 0 \/ 1<\/td>/,
  );
  assert.equal(JSON.parse(readFileSync(written.json, 'utf8')).ratings[0].count, 3);
  const none = readFileSync((await writeEvalReport(tempDir('report-no-ratings'), { ratings: [] })).html, 'utf8');
  assert.doesNotMatch(none, /Reviewer ratings/, 'no section without ratings');
});
