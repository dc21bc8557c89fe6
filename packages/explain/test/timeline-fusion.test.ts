import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  MODALITIES,
  SENTIMENT_LABELS,
  planTimeline,
  validateResult,
  type FrameItem,
  type FusionManifest,
  type Modality,
  type PlannedSegment,
  type SegmentItem,
  type TokenItem,
} from '@omniaffect/core';
import { TINY_PACK_DIRS, buildTinyPack, modelFile, runFloatTensors } from '@omniaffect/models';

import { explain, voiceContour } from '../src/explain';
import type { Feeds, ModalitySequence } from '../src/fusion-feeds';
import { EVIDENCE_LIMITS, fuseTimeline, groupWords, voicedFraction, type Outputs, type TimelineFusionOutput } from '../src/timeline-fusion';

const dir = mkdtempSync(path.join(tmpdir(), 'oa-fusion-'));
let session: ort.InferenceSession;
let manifest: FusionManifest;
let runs: number[] = [];

before(async () => {
  buildTinyPack(dir);
  session = await ort.InferenceSession.create(modelFile('fusion', path.join(dir, TINY_PACK_DIRS.fusion), 'model'));
  manifest = JSON.parse(readFileSync(modelFile('fusion', path.join(dir, TINY_PACK_DIRS.fusion), 'manifest'), 'utf8')) as FusionManifest;
});
after(async () => {
  await session?.release();
  rmSync(dir, { recursive: true, force: true });
});

async function run(feeds: Feeds, rows: number): Promise<Outputs> {
  runs.push(rows);
  return runFloatTensors(session, feeds);
}

const softmax = (xs: number[]) => {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};

/**
 * The model run by hand, independently of buildRowFeeds: `items[m]` lists which rows of the stored
 * sequence are fed (null = modality absent). Returns the sentiment probabilities.
 */
async function direct(seqs: Record<Modality, ModalitySequence>, items: Record<Modality, number[] | null>): Promise<number[]> {
  const feeds: Record<string, ort.Tensor> = {};
  const mm: number[] = [];
  for (const m of MODALITIES) {
    const s = seqs[m];
    const idx = items[m] ?? [];
    const L = Math.max(1, idx.length);
    const data = new Float32Array(L * s.dim);
    idx.forEach((i, j) => data.set(s.data.subarray(i * s.dim, (i + 1) * s.dim), j * s.dim));
    const mask = Float32Array.from({ length: L }, (_, j) => (j < idx.length ? 1 : 0));
    feeds[`${m}_features`] = new ort.Tensor('float32', data, [1, L, s.dim]);
    feeds[`${m}_mask`] = new ort.Tensor('float32', mask, [1, L]);
    mm.push(idx.length ? 1 : 0);
  }
  feeds.modality_mask = new ort.Tensor('float32', Float32Array.from(mm), [1, 3]);
  const res = await session.run(feeds);
  return softmax(Array.from(res.sentiment_logits!.data as Float32Array));
}

/** What a worker pushes for one modality (the fusion service keeps these in its store). */
interface Stored {
  modality: Modality;
  shape: number[];
  data: Float32Array;
  items: unknown[];
}

function collectSequences(stored: Stored[]): Record<Modality, ModalitySequence> {
  const out = {} as Record<Modality, ModalitySequence>;
  for (const m of MODALITIES) {
    const t = stored.find((x) => x.modality === m);
    out[m] = t
      ? { present: true, length: t.shape[0]!, dim: t.shape[1]!, data: t.data, items: t.items, model: m }
      : { present: false, length: 1, dim: manifest.dims[m], data: new Float32Array(manifest.dims[m]), items: [], model: null };
  }
  return out;
}

const PROSODY = { f0MeanHz: 180, f0StdHz: 12, f0MinHz: 150, f0MaxHz: 220, energyDb: -18, voicedRatio: 0.7, rateProxy: 4 };

function seeded(n: number, dim: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n * dim }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
}

/** A video of `seconds`: a word every 0.5 s (every third a ## continuation), 1 s audio segments, a frame every 2 s. */
function video(seconds: number, present: Modality[] = ['text', 'audio', 'vision'], seed = 1): Stored[] {
  const D = manifest.dims;
  const out: Stored[] = [];
  if (present.includes('text')) {
    const items: TokenItem[] = [];
    let c = 0;
    for (let t = 0; t + 0.5 <= seconds; t += 0.5) {
      const cont = items.length % 3 === 2;
      const text = cont ? 'ly' : `w${items.length}`;
      if (!cont && items.length) c += 1;
      items.push({ text, ...(cont ? { piece: '##ly' } : {}), charStart: c, charEnd: c + text.length, start: t, end: t + 0.5 });
      c += text.length;
    }
    out.push({ modality: 'text', shape: [items.length, D.text], data: seeded(items.length, D.text, seed), items });
  }
  if (present.includes('audio')) {
    const items: SegmentItem[] = Array.from({ length: Math.ceil(seconds) }, (_, i) => ({ start: i, end: Math.min(seconds, i + 1), prosody: PROSODY }));
    out.push({ modality: 'audio', shape: [items.length, D.audio], data: seeded(items.length, D.audio, seed + 1), items });
  }
  if (present.includes('vision')) {
    const items: FrameItem[] = Array.from({ length: Math.floor(seconds / 2) + 1 }, (_, i) => ({ time: 2 * i })).filter((f) => f.time < seconds);
    out.push({ modality: 'vision', shape: [items.length, D.vision], data: seeded(items.length, D.vision, seed + 2), items });
  }
  return out;
}

async function fuse(stored: Stored[], plan: PlannedSegment[], opts: { absent?: Record<string, string>; voice?: { start: number; end: number }[] | null } = {}) {
  runs = [];
  const seqs = collectSequences(stored);
  const fused = await fuseTimeline({ seqs, plan, absent: opts.absent ?? {}, unweighed: {}, run, voice: opts.voice ?? null });
  const part = explain({ fused, seqs, manifest, unweighed: {} }, opts.absent ?? {});
  return { seqs, fused, part };
}

const whole = (end: number): PlannedSegment => ({ start: 0, end, speech: true, voiceSeconds: null });
const segmentItems = (f: TimelineFusionOutput, i: number) => f.segments[i]!.slice;

test('groupWords joins ## continuations that touch the previous word', () => {
  const tok = (text: string, charStart: number, piece?: string): TokenItem => ({
    text,
    ...(piece ? { piece } : {}),
    charStart,
    charEnd: charStart + text.length,
    start: charStart,
    end: charStart + 1,
  });
  const words = groupWords([tok('great', 0), tok('ly', 5, '##ly'), tok('ok', 8), tok('ay', 11, '##ay')]);
  assert.deepEqual(
    words.map((w) => [w.text, w.charStart, w.charEnd, w.tokens]),
    [
      ['greatly', 0, 7, [0, 1]],
      ['ok', 8, 10, [2]],
      ['ay', 11, 13, [3]],
    ],
  );
});

test('one segment: every evidence item’s deletion drop is what a re-run with that item alone masked gives', async () => {
  const { seqs, fused, part } = await fuse(video(8), [whole(8)]);
  const seg = fused.segments[0]!;
  const full = await direct(seqs, { text: seg.slice.text, audio: seg.slice.audio, vision: seg.slice.vision });
  const k = full.indexOf(Math.max(...full));
  assert.equal(part.sentiment.label, SENTIMENT_LABELS[k]);
  assert.ok(Math.abs(part.sentiment.probabilities[SENTIMENT_LABELS[k]!] - full[k]!) < 1e-5);
  // words: mask every token of the word; audio and frames: the one item
  for (const w of part.evidence.words) {
    // a word, or a span of two adjacent words: every token inside it is masked
    const masked = fused.words.filter((x) => x.charStart >= w.charStart && x.charEnd <= w.charEnd).flatMap((x) => x.tokens);
    assert.ok(masked.length > 0);
    const p = await direct(seqs, { text: seg.slice.text.filter((t) => !masked.includes(t)), audio: seg.slice.audio, vision: seg.slice.vision });
    assert.ok(Math.abs(w.deletionDrop - (full[k]! - p[k]!)) < 2e-4, `${w.text}: ${w.deletionDrop} vs ${full[k]! - p[k]!}`);
    assert.equal(w.verified, w.deletionDrop > 0);
  }
  const audio = seqs.audio.items as SegmentItem[];
  for (const a of part.evidence.audioSegments) {
    const refs = audio.map((x, i) => (x.start >= a.start && x.end <= a.end ? i : -1)).filter((i) => i >= 0);
    const p = await direct(seqs, { text: seg.slice.text, audio: seg.slice.audio.filter((i) => !refs.includes(i)), vision: seg.slice.vision });
    assert.ok(Math.abs(a.deletionDrop - (full[k]! - p[k]!)) < 2e-4);
  }
  // reported items never overlap (a span and its halves are not both listed)
  for (const [i, a] of part.evidence.audioSegments.entries())
    for (const b of part.evidence.audioSegments.slice(i + 1)) assert.ok(a.end <= b.start || b.end <= a.start, 'overlapping audio evidence');
  for (const [i, a] of part.evidence.words.entries())
    for (const b of part.evidence.words.slice(i + 1)) assert.ok(a.charEnd <= b.charStart || b.charEnd <= a.charStart, 'overlapping words');
  // ranked by the drop, attention kept beside it
  for (const list of [part.evidence.words, part.evidence.audioSegments, part.evidence.frames]) {
    for (let i = 1; i < list.length; i++) assert.ok(list[i - 1]!.deletionDrop >= list[i]!.deletionDrop, JSON.stringify(list));
    for (const e of list) assert.ok(e.weight >= 0 && e.weight <= 1);
  }
  assert.ok(part.evidence.words.length > 0 && part.evidence.words.length <= 5);
  assert.ok(
    [...part.evidence.words, ...part.evidence.audioSegments, ...part.evidence.frames].some((e) => e.verified),
    'the tiny fusion reacts to some item',
  );
  // one segment: the verdict is that segment's, exactly
  assert.equal(part.timeline.length, 1);
  assert.deepEqual(part.sentiment, part.timeline[0]!.sentiment);
  assert.deepEqual(part.evidence, part.timeline[0]!.evidence);
  assert.equal(part.timeline[0]!.verdictWeight, 1);
});

test('faithfulness: comprehensiveness and sufficiency are the re-runs without, and with only, the verified items', async () => {
  const { seqs, fused, part } = await fuse(video(8), [whole(8)]);
  const seg = fused.segments[0]!;
  const verified = MODALITIES.flatMap((m) => seg.evidence[m].filter((e) => Math.round(e.deletionDrop * 1e4) > 0));
  assert.equal(part.faithfulness.items, verified.length);
  assert.ok(verified.length > 0);
  const R = (m: Modality) => new Set(verified.filter((e) => e.modality === m).flatMap((e) => e.positions.map((p) => seg.slice[m][p]!)));
  const full = await direct(seqs, { text: seg.slice.text, audio: seg.slice.audio, vision: seg.slice.vision });
  const k = full.indexOf(Math.max(...full));
  const without = await direct(seqs, {
    text: seg.slice.text.filter((i) => !R('text').has(i)),
    audio: seg.slice.audio.filter((i) => !R('audio').has(i)),
    vision: seg.slice.vision.filter((i) => !R('vision').has(i)),
  });
  const only = await direct(seqs, { text: [...R('text')], audio: [...R('audio')], vision: [...R('vision')] });
  assert.ok(Math.abs(part.faithfulness.comprehensiveness! - (full[k]! - without[k]!)) < 2e-4);
  assert.ok(Math.abs(part.faithfulness.sufficiency! - (full[k]! - only[k]!)) < 2e-4);
});

test('modality deletion drops in the decision path are the re-runs without each modality', async () => {
  const { seqs, fused, part } = await fuse(video(6), [whole(6)]);
  const seg = fused.segments[0]!;
  const full = await direct(seqs, { text: seg.slice.text, audio: seg.slice.audio, vision: seg.slice.vision });
  const k = full.indexOf(Math.max(...full));
  const del = part.decisionPath.find((s) => /^Deletion check/.test(s.description))!;
  const drops = del.deletionDrops as Record<string, number>;
  for (const m of MODALITIES) {
    const p = await direct(seqs, {
      text: m === 'text' ? null : seg.slice.text,
      audio: m === 'audio' ? null : seg.slice.audio,
      vision: m === 'vision' ? null : seg.slice.vision,
    });
    assert.ok(Math.abs(drops[m]! - (full[k]! - p[k]!)) < 1e-4, m);
  }
  const most = MODALITIES.map((m) => [m, drops[m]!] as const).sort((a, b) => b[1] - a[1])[0]![0];
  assert.equal(del.decisive, most);
});

test('several segments: each is fused from its own items alone, padding changes nothing, and the verdict is the stated weighted mean', async () => {
  const plan: PlannedSegment[] = [
    { start: 0, end: 3, speech: true, voiceSeconds: null },
    { start: 3, end: 10, speech: true, voiceSeconds: null },
    { start: 10, end: 12, speech: false, voiceSeconds: null },
  ];
  const { seqs, fused, part } = await fuse(video(12), plan);
  // items by time: the 3 s segment holds audio 0-2, frames 0 and 2; the last holds frame 10 and audio 10-11
  assert.deepEqual(segmentItems(fused, 0).audio, [0, 1, 2]);
  assert.deepEqual(segmentItems(fused, 0).vision, [0, 1]);
  assert.deepEqual(segmentItems(fused, 2).vision, [5]);
  for (let i = 0; i < plan.length; i++) {
    const s = fused.segments[i]!;
    // fused together with longer segments, yet equal to the segment fed alone (masked padding is inert)
    const alone = await direct(seqs, { text: s.slice.text.length ? s.slice.text : null, audio: s.slice.audio, vision: s.slice.vision });
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(alone[c]! - s.sentiment[c]!) < 1e-5, `segment ${i}`);
    for (const w of part.timeline[i]!.evidence.words) assert.ok(w.start >= plan[i]!.start - 1e-9 && w.start < plan[i]!.end, `${w.text} in segment ${i}`);
    for (const w of part.timeline[i]!.evidence.words) assert.equal(w.segment, i);
  }
  // weights: duration × confidence, normalised
  const raw = fused.segments.map((s) => (s.plan.end - s.plan.start) * Math.max(...s.sentiment));
  const total = raw.reduce((a, b) => a + b, 0);
  part.timeline.forEach((t, i) => assert.ok(Math.abs(t.verdictWeight - raw[i]! / total) < 1e-5));
  for (const l of SENTIMENT_LABELS) {
    const expected = fused.segments.reduce((a, s, i) => a + (raw[i]! / total) * s.sentiment[SENTIMENT_LABELS.indexOf(l)]!, 0);
    assert.ok(Math.abs(part.sentiment.probabilities[l] - expected) < 1e-5, l);
  }
  assert.match(part.decisionPath[1]!.description, /^Verdict rule: each segment weighs its duration × its confidence/);
  assert.equal(part.decisionPath[1]!.rule, 'duration-confidence-weighted-mean');
  // every video-level evidence item comes from a segment that reads as the verdict does
  for (const e of [...part.evidence.words, ...part.evidence.audioSegments, ...part.evidence.frames])
    assert.equal(part.timeline[e.segment!]!.sentiment.label, part.sentiment.label);
  // all segments and their deletion rows went through the model in one run per pass
  assert.equal(fused.rows.runs, 3);
  assert.deepEqual(runs, [fused.rows.pass1, fused.rows.pass2, fused.rows.pass3]);
  assert.equal(fused.rows.pass1, 3 * (1 + 3), 'each segment as it is, and without each of its three modalities');
});

test('audio outside the voice is not fused; a stretch without voice masks audio there and says why', async () => {
  const plan: PlannedSegment[] = [
    { start: 0, end: 4, speech: true, voiceSeconds: 3.5 },
    { start: 4, end: 8, speech: false, voiceSeconds: 0 },
  ];
  const voice = [{ start: 0.2, end: 3.7 }];
  const { fused, part } = await fuse(video(8, ['audio', 'vision']), plan, { voice });
  // 1 s segments: 0-1, 1-2, 2-3 are voiced; 3-4 is 70 % voiced; 4-8 none
  assert.deepEqual(segmentItems(fused, 0).audio, [0, 1, 2, 3]);
  assert.deepEqual(segmentItems(fused, 1).audio, []);
  assert.deepEqual(part.timeline[1]!.modalities.audio, { present: false, contribution: 0, reason: 'no voice in this stretch' });
  assert.equal(part.timeline[1]!.modalities.vision.present, true);
  assert.equal(voicedFraction({ start: 3, end: 4 }, voice), 0.7000000000000002);
  assert.deepEqual(validateResult(resultAround(part)).errors, []);
});

test('a stretch where nothing can be read reports the prior, carries no weight and says so', async () => {
  const plan: PlannedSegment[] = [
    { start: 0, end: 4, speech: true, voiceSeconds: null },
    { start: 4, end: 9, speech: false, voiceSeconds: null },
  ];
  // audio only, and only over the first 4 s
  const stored = video(4, ['audio']);
  const { part } = await fuse(stored, plan, { absent: { text: 'no speech detected', vision: 'no video stream' } });
  const empty = part.timeline[1]!;
  assert.equal(empty.verdictWeight, 0);
  assert.equal(part.timeline[0]!.verdictWeight, 1);
  assert.match(empty.decisionPath[1]!.description, /Nothing in this stretch could be read/);
  assert.equal(empty.faithfulness.comprehensiveness, null);
  assert.deepEqual(part.sentiment, part.timeline[0]!.sentiment, 'the verdict is the one readable segment');
  assert.deepEqual(part.modalities.vision, { present: false, contribution: 0, reason: 'no video stream' });
  assert.equal(part.modalities.audio.contribution, 1);
  assert.deepEqual(validateResult(resultAround(part)).errors, []);
});

test('bounded for a 2-hour video: 1000 segments at most, few model runs, a result under 5 MB', async () => {
  const seconds = 7200;
  // Whisper-like segments of 3–6 s with short pauses
  const transcript: { start: number; end: number }[] = [];
  for (let t = 0.5; t < seconds - 6;) {
    const len = 3 + ((t * 7) % 3);
    transcript.push({ start: t, end: t + len });
    t += len + 0.4;
  }
  const plan = planTimeline({ durationSec: seconds, transcript, voice: transcript });
  assert.ok(plan.length <= 1000 && plan.length > 500, `${plan.length} segments`);
  const t0 = performance.now();
  const { fused, part } = await fuse(video(seconds), plan);
  const ms = performance.now() - t0;
  const bytes = Buffer.byteLength(JSON.stringify(part));
  console.log(
    `2 h: ${plan.length} segments, rows ${JSON.stringify(fused.rows)}, ${(ms / 1000).toFixed(1)} s with the tiny fusion, result part ${(bytes / 1e6).toFixed(2)} MB`,
  );
  assert.ok(bytes < 5e6, `${bytes} bytes`);
  const rows = fused.rows.pass1 + fused.rows.pass2 + fused.rows.pass3;
  // runs are full (512 rows) but for each window's last run of each pass
  const windows = Math.ceil(plan.length / EVIDENCE_LIMITS.windowSegments);
  assert.ok(
    fused.rows.runs <= Math.ceil(fused.rows.pass1 / 512) + Math.ceil(fused.rows.pass2 / 512) + Math.ceil(fused.rows.pass3 / 512) + 3 * windows,
    `${fused.rows.runs} runs for ${rows} rows in ${windows} windows`,
  );
  assert.deepEqual(validateResult(resultAround(part)).errors, []);
});

test('a window of segments at a time, reading only the rows each window touches: the same timeline as all at once', async () => {
  const seconds = 1200;
  const stored = video(seconds);
  const plan: PlannedSegment[] = Array.from({ length: seconds / 10 }, (_, i) => ({ start: 10 * i, end: 10 * (i + 1), speech: true, voiceSeconds: null }));
  const whole = collectSequences(stored);
  const all = await fuseTimeline({ seqs: whole, plan, absent: {}, unweighed: {}, run, limits: { ...EVIDENCE_LIMITS, windowSegments: plan.length } });

  // the windowed run is never handed the whole sequences: only what readRows returns
  const reads: { m: Modality; from: number; to: number }[] = [];
  const seqs = Object.fromEntries(MODALITIES.map((m) => [m, { ...whole[m], data: new Float32Array(0) }])) as Record<Modality, ModalitySequence>;
  const readRows = async (m: Modality, from: number, to: number) => {
    reads.push({ m, from, to });
    return whole[m].data.slice(from * whole[m].dim, to * whole[m].dim);
  };
  const window = 16;
  const windowed = await fuseTimeline({ seqs, plan, absent: {}, unweighed: {}, run, readRows, limits: { ...EVIDENCE_LIMITS, windowSegments: window } });

  const windows = Math.ceil(plan.length / window);
  assert.equal(reads.length, 3 * windows, 'one read per modality and window');
  // 16 segments of 10 s: 160 s, i.e. 320 word pieces (and the continuation of a word that starts
  // in the window's last segment), 160 audio segments, 80 frames
  const most = { text: 322, audio: 160, vision: 80 };
  for (const r of reads) assert.ok(r.to - r.from <= most[r.m], `${r.m} read ${r.to - r.from} rows`);
  for (const m of MODALITIES) {
    const covered = reads.filter((r) => r.m === m).reduce((a, r) => a + r.to - r.from, 0);
    assert.equal(covered, whole[m].length, `${m}: every row read once`);
  }

  assert.deepEqual(windowed.rows, { ...all.rows, runs: windowed.rows.runs });
  assert.ok(windowed.rows.runs > all.rows.runs, 'runs are batched within a window');
  assert.equal(windowed.segments.length, all.segments.length);
  windowed.segments.forEach((s, i) => {
    const a = all.segments[i]!;
    assert.equal(s.predicted, a.predicted, `segment ${i}`);
    s.sentiment.forEach((p, k) => assert.ok(Math.abs(p - a.sentiment[k]!) < 1e-5, `segment ${i} sentiment`));
    for (const m of MODALITIES) {
      assert.deepEqual(
        s.evidence[m].map((e) => e.refs),
        a.evidence[m].map((e) => e.refs),
        `segment ${i} ${m} evidence`,
      );
      s.checked[m].forEach((e, k) => assert.ok(Math.abs(e.deletionDrop - a.checked[m][k]!.deletionDrop) < 1e-5, `segment ${i} ${m} drop`));
    }
    assert.ok(Math.abs((s.comprehensiveness ?? 0) - (a.comprehensiveness ?? 0)) < 1e-5 && (s.comprehensiveness === null) === (a.comprehensiveness === null));
    assert.ok(Math.abs((s.sufficiency ?? 0) - (a.sufficiency ?? 0)) < 1e-5 && (s.sufficiency === null) === (a.sufficiency === null));
  });
  assert.ok(
    all.segments.some((s) => s.rationale > 0),
    'some segment has verified evidence to compare',
  );
});

function resultAround(part: ReturnType<typeof explain>) {
  return {
    id: 'x',
    status: 'succeeded',
    language: 'en',
    ...part,
    transcript: { language: 'en', text: '', segments: [] },
    timings: {},
    disclaimer: 'Perceived expression only, not felt emotion.',
  };
}

test('the voice contour covers the whole track in at most 1200 points, with medians over the voiced segments', async () => {
  const items: SegmentItem[] = Array.from({ length: 3000 }, (_, i) => ({
    start: i,
    end: i + 1,
    // every third second silent; the voiced ones alternate 150 and 250 Hz
    prosody:
      i % 3 === 2
        ? { ...PROSODY, f0MeanHz: null, energyDb: -70, voicedRatio: 0 }
        : { ...PROSODY, f0MeanHz: i % 2 ? 250 : 150, energyDb: -20, voicedRatio: 0.8 },
  }));
  const seqs = collectSequences([{ modality: 'audio', shape: [items.length, manifest.dims.audio], data: seeded(items.length, manifest.dims.audio, 5), items }]);
  const v = voiceContour(seqs)!;
  assert.ok(v.contour.length <= 1200 && v.contour.length >= 1000, String(v.contour.length));
  assert.equal(v.contour[0]!.start, 0);
  assert.equal(v.contour[v.contour.length - 1]!.end, 3000);
  assert.equal(v.medianF0Hz, 200, 'median of 150s and 250s in equal numbers');
  assert.equal(v.medianEnergyDb, -20, 'silence does not drag the median down');
  assert.equal(voiceContour(collectSequences([])), null);
});
