import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decisionSvg } from '../src/report/charts';
import { rationale } from '../src/report/rationale';
import { sampleResult } from './harness';

const withFaithfulness = (comprehensiveness: number, sufficiency: number) => {
  const r = sampleResult('00000000-0000-4000-8000-000000000001');
  return { ...r, faithfulness: { ...r.faithfulness, comprehensiveness, sufficiency } };
};

test('the faithfulness sentence states each change by its direction, never "falls by" a negative number', () => {
  const rises = withFaithfulness(0.21, -0.24);
  assert.match(rationale(rises, 'en'), /Without the verified evidence P\(positive\) falls by 0\.21; with it alone it rises by 0\.24\./);
  assert.match(rationale(rises, 'zh'), /去掉全部已验证证据后概率下降 0\.21；只保留这些证据时反而上升 0\.24。/);
  const falls = withFaithfulness(0.5, 0.1);
  assert.match(rationale(falls, 'en'), /falls by 0\.50; with it alone it falls by 0\.10\./);
  assert.match(rationale(falls, 'zh'), /只保留这些证据时下降 0\.10。/);
  const same = withFaithfulness(0.5, -0.001);
  assert.match(rationale(same, 'en'), /with it alone it stays the same\./);
  assert.match(rationale(same, 'zh'), /只保留这些证据时不变。/);
  for (const lang of ['en', 'zh'] as const) assert.doesNotMatch(rationale(rises, lang), /-0\.24|−0\.24/);
});

test('the decision diagram shows a modality whose removal raised P with a plus sign, not "−-0.24"', () => {
  const r = sampleResult('00000000-0000-4000-8000-000000000002');
  const seg = r.timeline[0]!;
  const decisionPath = [
    ...seg.decisionPath,
    { step: seg.decisionPath.length + 1, description: 'Deletion check', deletionDrops: { text: 0.21, audio: -0.24, vision: 0 } },
  ];
  const svg = decisionSvg({ ...r, timeline: [{ ...seg, decisionPath }] }, 'en');
  assert.match(svg, /without it: −0\.21/);
  assert.match(svg, /without it: \+0\.24/);
  assert.doesNotMatch(svg, /−-|−\+/);
});
