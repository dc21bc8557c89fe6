import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { MODALITIES, SENTIMENT_LABELS, type FrameItem, type Modality, type SegmentItem, type TokenItem } from '@omniaffect/core';
import { fuseTimeline, verifiedDrop, type ModalitySequence, type Outputs, type RunRows, type SegmentFusion } from '@omniaffect/explain';
import {
  classificationMetrics,
  perturbMedia,
  perturbationLabel,
  perturbationSlug,
  readMmsaDataset,
  runBounded,
  writeEvalReport,
  type MmsaDatasetName,
  type Perturbation,
  type RobustnessRow,
  type TranscriptsMode,
} from '@omniaffect/eval';
import { forward, type FusionBatch, type PolicyParams } from '@omniaffect/policy';
import type { GatewayClient } from './client';
import { collectDataset, obtainPolicy, splitsOf, type UiOptions } from './research-eval';
import type { ResearchSample } from './research-samples';
import type { ResearchTrainOptions } from './research-train';

/**
 * `omniaffect eval robustness`: how the reading and its explanation hold up when the media degrade.
 * The test clips are re-made with each perturbation (perturbations.ts), sent through the real pipeline
 * again, and read by the policy with the same timeline fusion and deletion checks the fusion service
 * runs (@omniaffect/explain). Per perturbation and level: WAR/UAR, the shift in modality contributions,
 * and attribution stability (does the verified evidence stay the same items as on the clean clip).
 * With `augment`, a second policy is trained on clean plus perturbed copies of the training clips
 * (same labels), and both are reported side by side.
 */
export interface RobustnessOptions {
  dataset: MmsaDatasetName;
  root: string;
  out: string;
  perturbations: Perturbation[];
  /** train a second policy with these perturbations applied to copies of the training clips */
  augment?: Perturbation[];
  /** evaluate this policy (a `train` / `eval run` output) instead of training one on the clean clips */
  policyDir?: string;
  transcripts?: TranscriptsMode;
  cacheDir?: string;
  concurrency?: number;
  seed?: number;
  client?: GatewayClient;
  train?: Omit<ResearchTrainOptions, 'seed'>;
}

export interface RobustnessResult {
  out: string;
  rows: RobustnessRow[];
  report: { html: string; json: string };
}

/** A research sample's features as the fusion service would hold them, one segment spanning the clip. */
function sequencesOf(s: ResearchSample, dims: Record<Modality, number>): Record<Modality, ModalitySequence> {
  const out = {} as Record<Modality, ModalitySequence>;
  for (const m of MODALITIES) {
    const f = s.features[m];
    out[m] =
      f && f.len > 0
        ? { present: true, length: f.len, dim: dims[m], data: f.data, items: s.items[m] ?? [], model: null }
        : { present: false, length: 1, dim: dims[m], data: new Float32Array(dims[m]), items: [], model: null };
  }
  return out;
}

/** The policy's forward pass as the fusion model's runner: feeds in the ONNX contract, outputs by its names. */
export function policyRunner(params: PolicyParams): RunRows {
  return async (feeds, rows) => {
    const mb = (m: Modality) => ({
      features: feeds[`${m}_features`]!.data,
      mask: feeds[`${m}_mask`]!.data,
      len: feeds[`${m}_features`]!.dims[1]!,
      dim: feeds[`${m}_features`]!.dims[2]!,
    });
    const batch: FusionBatch = { size: rows, text: mb('text'), audio: mb('audio'), vision: mb('vision'), modalityMask: feeds.modality_mask!.data };
    const o = forward(params, batch);
    const f32 = (x: Float64Array, dims: number[]) => ({ data: Float32Array.from(x), dims });
    const out: Outputs = {
      sentiment_logits: f32(o.sentimentLogits, [rows, 3]),
      emotion_logits: f32(o.emotionLogits, [rows, 7]),
      intensity: f32(o.intensity, [rows]),
      modality_weights: f32(o.modalityWeights, [rows, 3]),
      value: f32(o.value, [rows]),
    };
    for (const m of MODALITIES) out[`${m}_importance`] = f32(o.importance[m], [rows, batch[m].len]);
    return out;
  };
}

interface Reading {
  pred: number;
  weights: number[];
  /** verified evidence items by identity (modality + place), ranked by drop */
  verified: string[];
}

function itemKey(seg: SegmentFusion, s: ResearchSample, e: SegmentFusion['evidence'][Modality][number]): string {
  if (e.modality === 'text') {
    const toks = s.items.text as TokenItem[];
    const first = toks[seg.slice.text[e.positions[0]!]!]!;
    const last = toks[seg.slice.text[e.positions[e.positions.length - 1]!]!]!;
    return `text:${first.charStart}-${last.charEnd}`;
  }
  if (e.modality === 'audio') {
    const items = s.items.audio as SegmentItem[];
    return `audio:${e.refs.map((r) => items[r]!.start).join('+')}`;
  }
  return `vision:${(s.items.vision as FrameItem[])[e.refs[0]!]!.time}`;
}

/** Reads one clip as the fusion service would (one segment, deletion-checked evidence). */
async function read(s: ResearchSample, params: PolicyParams, run: RunRows): Promise<Reading> {
  const seqs = sequencesOf(s, params.dims);
  if (!MODALITIES.some((m) => seqs[m].present)) return { pred: SENTIMENT_LABELS.indexOf('neutral'), weights: [0, 0, 0], verified: [] };
  const ends = [
    ...(s.items.text as TokenItem[]).map((t) => t.end),
    ...(s.items.audio as SegmentItem[]).map((a) => a.end),
    ...(s.items.vision as FrameItem[]).map((f) => f.time),
  ];
  const plan = [{ start: 0, end: Math.max(0, ...ends), speech: seqs.text.present, voiceSeconds: null }];
  const fused = await fuseTimeline({ seqs, plan, absent: {}, unweighed: {}, run });
  const seg = fused.segments[0]!;
  const verified = MODALITIES.flatMap((m) => seg.evidence[m])
    .filter((e) => verifiedDrop(e.deletionDrop))
    .sort((a, b) => b.deletionDrop - a.deletionDrop)
    .map((e) => itemKey(seg, s, e));
  return { pred: seg.predicted, weights: seg.weights, verified };
}

function jaccard(a: readonly string[], b: readonly string[]): number {
  const A = new Set(a);
  const B = new Set(b);
  const union = new Set([...A, ...B]);
  if (union.size === 0) return 1;
  let inter = 0;
  for (const x of A) if (B.has(x)) inter++;
  return inter / union.size;
}

/** A copy of the dataset whose clips (those `pick` chooses) are perturbed; the label file is shared. */
async function perturbedRoot(o: RobustnessOptions, p: Perturbation, pick: (mode: string) => boolean, dir: string): Promise<string> {
  const root = path.join(dir, perturbationSlug(p));
  mkdirSync(root, { recursive: true });
  const ds = readMmsaDataset(o.root, { dataset: o.dataset });
  copyFileSync(path.join(o.root, 'label.csv'), path.join(root, 'label.csv'));
  const todo = ds.samples.filter((s) => s.exists && pick(s.mode)).map((s, i) => ({ s, i }));
  await runBounded(todo, o.concurrency ?? 2, async ({ s, i }) => {
    const out = path.join(root, s.mediaPath);
    if (existsSync(out)) return;
    mkdirSync(path.dirname(out), { recursive: true });
    // each clip its own noise, the same on every run
    await perturbMedia(path.join(o.root, s.mediaPath), out, p, { seed: (o.seed ?? 7) * 1000 + i });
  });
  return root;
}

export async function runRobustness(o: RobustnessOptions, ui: UiOptions = {}): Promise<RobustnessResult> {
  const out = path.resolve(o.out);
  mkdirSync(out, { recursive: true });
  const transcripts = o.transcripts ?? 'dataset';
  const cacheBase = o.cacheDir ?? path.join(out, 'features');
  const collect = (root: string, base: string) =>
    collectDataset({ dataset: o.dataset, root, transcripts, cacheBase: base, concurrency: o.concurrency, client: o.client }, { ...ui, progress: false });
  const seed = o.seed ?? 7;

  const clean = splitsOf(await collect(o.root, cacheBase), 'mmsa3');
  if (clean.test.length === 0) throw new Error('no test clips finished the pipeline: nothing to evaluate');
  const policies: { name: string; params: PolicyParams }[] = [];
  const baseline = obtainPolicy(clean, o.policyDir, { seed, ...o.train }, ui);
  policies.push({ name: o.policyDir ? 'given policy' : 'trained on clean clips', params: baseline.params });

  if (o.augment?.length) {
    const copies: ResearchSample[] = [];
    for (const p of o.augment) {
      ui.log?.(`augmentation: ${perturbationLabel(p)} on the training clips`);
      const root = await perturbedRoot(o, p, (mode) => mode === 'train', path.join(out, 'augment'));
      const step = splitsOf(await collect(root, path.join(out, 'augment-features', perturbationSlug(p))), 'mmsa3');
      copies.push(...step.train.map((s) => ({ ...s, id: `${s.id}~${perturbationSlug(p)}` })));
    }
    const augmented = obtainPolicy({ train: [...clean.train, ...copies], valid: clean.valid }, undefined, { seed, ...o.train }, ui);
    policies.push({ name: 'trained with perturbation augmentation', params: augmented.params });
  }

  const runners = policies.map((p) => ({ ...p, run: policyRunner(p.params) }));
  const readAll = async (samples: readonly ResearchSample[]) =>
    Promise.all(runners.map(async (p) => new Map(await Promise.all(samples.map(async (s) => [s.id, await read(s, p.params, p.run)] as const)))));
  const cleanReadings = await readAll(clean.test);
  const rows: RobustnessRow[] = [];
  const score = (label: string, p: Perturbation | null, samples: readonly ResearchSample[], readings: Map<string, Reading>[]) => {
    runners.forEach((pol, k) => {
      const preds = samples.map((s) => readings[k]!.get(s.id)!.pred);
      const gold = samples.map((s) => s.sentiment);
      const m = classificationMetrics(preds, gold, SENTIMENT_LABELS);
      const mean = (f: (s: ResearchSample) => number) => samples.reduce((a, s) => a + f(s), 0) / samples.length;
      const w = (s: ResearchSample, i: number) => readings[k]!.get(s.id)!.weights[i]!;
      const cw = (s: ResearchSample, i: number) => cleanReadings[k]!.get(s.id)?.weights[i] ?? 0;
      const both = samples.filter((s) => cleanReadings[k]!.has(s.id));
      const cleanTop = (s: ResearchSample) => cleanReadings[k]!.get(s.id)!.verified;
      const withTop = both.filter((s) => cleanTop(s).length > 0);
      rows.push({
        policy: pol.name,
        perturbation: label,
        kind: p?.kind ?? 'none',
        level: p?.level ?? null,
        n: samples.length,
        war: m.war,
        uar: m.uar,
        contributions: Object.fromEntries(MODALITIES.map((mm, i) => [mm, mean((s) => w(s, i))])) as Record<Modality, number>,
        contributionShift: Object.fromEntries(
          MODALITIES.map((mm, i) => [mm, both.length ? both.reduce((a, s) => a + w(s, i) - cw(s, i), 0) / both.length : 0]),
        ) as Record<Modality, number>,
        top1Agreement: withTop.length ? withTop.filter((s) => readings[k]!.get(s.id)!.verified[0] === cleanTop(s)[0]).length / withTop.length : null,
        verifiedJaccard: both.length ? both.reduce((a, s) => a + jaccard(readings[k]!.get(s.id)!.verified, cleanTop(s)), 0) / both.length : null,
      });
    });
  };
  score('clean', null, clean.test, cleanReadings);
  for (const p of o.perturbations) {
    ui.log?.(`perturbation: ${perturbationLabel(p)}`);
    const root = await perturbedRoot(o, p, (mode) => mode === 'test', path.join(out, 'perturbed'));
    const splits = splitsOf(await collect(root, path.join(out, 'perturbed-features', perturbationSlug(p))), 'mmsa3');
    // a clip the pipeline could not read at all under the perturbation is scored as read neutral
    const byId = new Map(splits.test.map((s) => [s.id, s]));
    const samples = clean.test.map(
      (s) => byId.get(s.id) ?? { ...s, features: { text: null, audio: null, vision: null }, items: { text: [], audio: [], vision: [] } },
    );
    score(perturbationLabel(p), p, samples, await readAll(samples));
  }

  const report = await writeEvalReport(out, {
    title: `OmniAffect robustness: ${o.dataset}`,
    notes: [
      `Test clips: ${clean.test.length}. Each perturbed copy went through the whole pipeline again; the readings use the fusion service's own timeline fusion and deletion checks.`,
      'Attribution stability: top-1 = share of clips whose strongest verified item is the same item as on the clean clip; Jaccard = overlap of the verified item sets.',
      ...(o.augment?.length ? [`Augmentation: ${o.augment.map(perturbationLabel).join(', ')} applied to copies of the training clips, same labels.`] : []),
    ],
    robustness: rows,
  });
  return { out, rows, report };
}
