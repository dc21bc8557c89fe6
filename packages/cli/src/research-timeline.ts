import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { validateResult, type AnalysisResult } from '@omniaffect/core';
import { runBounded, scoreTimeline, writeEvalReport, type SyntheticTimelineVideo, type TimelineScore } from '@omniaffect/eval';
import { GatewayClient } from './client';
import { clientTarget } from './local-env';
import type { UiOptions } from './research-eval';

/**
 * `omniaffect eval timeline`: the planted-timeline videos (`dataset synth --timeline`) through the
 * running stack, each with its timed transcript, scored against what was planted (boundaries, segment
 * labels, planted item = top verified evidence, ERASER faithfulness), with each result's size.
 */
export interface TimelineEvalOptions {
  /** a directory written by `dataset synth --timeline` (timeline.json, the videos and their .vtt) */
  root: string;
  out: string;
  client?: GatewayClient;
  concurrency?: number;
  /** seconds a planted change may be off (default 1) */
  toleranceSec?: number;
}

export interface TimelineEvalResult {
  score: TimelineScore;
  results: { video: SyntheticTimelineVideo; result: AnalysisResult; bytes: number }[];
  report: { html: string; json: string };
}

export async function runTimelineEval(o: TimelineEvalOptions, ui: UiOptions = {}): Promise<TimelineEvalResult> {
  const root = path.resolve(o.root);
  const manifest = JSON.parse(readFileSync(path.join(root, 'timeline.json'), 'utf8')) as { kind?: string; videos: SyntheticTimelineVideo[] };
  if (manifest.kind !== 'omniaffect-synthetic-timeline') throw new Error(`${root}/timeline.json was not written by \`omniaffect dataset synth --timeline\``);
  const client =
    o.client ??
    (() => {
      const t = clientTarget();
      return new GatewayClient(t.url, t.key);
    })();
  const out = path.resolve(o.out);
  mkdirSync(path.join(out, 'results'), { recursive: true });
  const results: TimelineEvalResult['results'] = [];
  await runBounded(manifest.videos, o.concurrency ?? 2, async (video) => {
    const sub = await client.submitFile(path.join(root, video.mediaPath), {
      language: video.language,
      transcript: readFileSync(path.join(root, video.transcriptPath), 'utf8'),
    });
    const doc = await client.waitForTerminal(sub.id, 600_000);
    if (doc.status !== 'succeeded') throw new Error(`${video.id}: ${doc.status} ${JSON.stringify(doc.error)}`);
    const result = await client.result<AnalysisResult>(sub.id);
    const v = validateResult(result);
    if (!v.ok) throw new Error(`${video.id}: the served result fails its schema: ${v.errors.join('; ')}`);
    const json = JSON.stringify(result);
    writeFileSync(path.join(out, 'results', `${video.id}.json`), json);
    results.push({ video, result, bytes: Buffer.byteLength(json) });
    ui.log?.(`${video.id}: ${result.timeline.length} segments, ${result.sentiment.label}`);
  });
  results.sort((a, b) => a.video.id.localeCompare(b.video.id));
  const score = scoreTimeline(results, o.toleranceSec ?? 1);
  writeFileSync(path.join(out, 'timeline-score.json'), JSON.stringify(score, null, 2));
  const { details: _d, ...figures } = score;
  const report = await writeEvalReport(out, {
    title: 'OmniAffect emotion timeline on planted videos',
    timeline: { ...figures, cost: results.map((r) => ({ resultBytes: r.bytes, durationSec: r.video.durationSec })) },
  });
  return { score, results, report };
}
