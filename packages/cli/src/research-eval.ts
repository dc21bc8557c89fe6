import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { MultiBar, Presets } from 'cli-progress';
import type { Modality } from '@omniaffect/core';
import {
  crossLingualReport,
  DATASET_LANGUAGE,
  deriveTextEncoders,
  FeatureCache,
  MASKED_TEXT_REASON,
  readMmsaDataset,
  resolveTextEncoders,
  textEncodersProvenance,
  writeEvalReport,
  type EvalReportData,
  type MmsaDataset,
  type MmsaDatasetName,
  type SentimentMapping,
  type TextEncoderRequest,
  type TextEncodersRecord,
  type TextModelTally,
  type TranscriptsMode,
} from '@omniaffect/eval';
import { exportPolicyOnnx, maskSampleModalities, type PolicyParams, type TrainSummary } from '@omniaffect/policy';
import { GatewayClient } from './client';
import { clientTarget } from './local-env';
import { collectFeatures, type CollectSummary } from './research-collect';
import { evaluateSplit, type SplitEvaluation } from './research-evaluate';
import { onnxParity, type OnnxParity } from './research-onnx';
import { reportPaths, splitReportData, splitSummary, trainingCurves, warmVsGrpoNotes, writePredictionsCsv } from './research-report';
import { splitsFromCache, type ResearchSample, type SampleSplits } from './research-samples';
import { loadPolicyDir, savePolicyParams, trainResearchPolicy, type ResearchTrainOptions } from './research-train';

export interface UiOptions {
  /** progress bars on stderr (only drawn on a terminal) */
  progress?: boolean;
  log?: (line: string) => void;
}

const DATASET_TITLE: Record<MmsaDatasetName, string> = { sims2: 'CH-SIMS v2', mosei: 'CMU-MOSEI' };

export interface CollectStep {
  dataset: MmsaDataset;
  cache: FeatureCache;
  collect: CollectSummary;
}

/** Reads a dataset and pushes its clips through the gateway into the feature cache under `cacheBase`. */
export async function collectDataset(
  o: { dataset: MmsaDatasetName; root: string; transcripts: TranscriptsMode; cacheBase: string; concurrency?: number; client?: GatewayClient },
  ui: UiOptions = {},
): Promise<CollectStep> {
  const log = ui.log ?? (() => {});
  const dataset = readMmsaDataset(o.root, { dataset: o.dataset });
  log(
    `${DATASET_TITLE[o.dataset]} at ${o.root}: ${dataset.counts.accepted} clips (train ${dataset.counts.byMode.train} / valid ${dataset.counts.byMode.valid} / test ${dataset.counts.byMode.test}), ${dataset.problems.length} malformed rows, ${dataset.counts.missingMedia} without media`,
  );
  const client =
    o.client ??
    (() => {
      const t = clientTarget();
      return new GatewayClient(t.url, t.key);
    });
  const cache = FeatureCache.open(o.cacheBase, o.dataset, o.transcripts, o.root);
  const bars =
    ui.progress !== false && process.stderr.isTTY
      ? new MultiBar({ format: `${o.dataset} |{bar}| {value}/{total} clips  {info}`, stream: process.stderr, hideCursor: true }, Presets.shades_classic)
      : null;
  const bar = bars?.create(dataset.samples.filter((s) => s.exists).length, 0, { info: '' });
  let failedSoFar = 0;
  const collect = await collectFeatures({
    client,
    dataset,
    cache,
    transcripts: o.transcripts,
    concurrency: o.concurrency ?? 4,
    onClip: (e) => {
      if (e.outcome === 'failed') {
        failedSoFar++;
        if (!bars) log(`clip ${e.id} failed: ${e.reason}`);
      }
      bar?.update(e.done, { info: `${failedSoFar} failed` });
    },
  });
  bars?.stop();
  log(
    `pipeline: ${collect.processed} clips analysed, ${collect.cached} from the cache, ${collect.failed.length} failed, ${collect.missingMedia.length} without media (${(collect.wallMs / 1000).toFixed(1)} s)`,
  );
  return { dataset, cache, collect };
}

/** How long the report waits for the ratings summary: it is an extra, never worth holding up a finished evaluation. */
const RATINGS_TIMEOUT_MS = 10_000;

/**
 * The evaluating API key's reviewer ratings per fusion model version (GET /v1/ratings/summary), for the
 * report; undefined when there are none. A failure (no gateway running, no API key, an older gateway)
 * is logged and leaves the section out: the evaluation's own figures are already computed by then.
 */
export async function fetchRatingsSummary(client: GatewayClient | undefined, ui: UiOptions = {}): Promise<EvalReportData['ratings']> {
  try {
    const c =
      client ??
      (() => {
        const t = clientTarget();
        return new GatewayClient(t.url, t.key);
      })();
    const { models } = await c.ratingsSummary({ timeoutMs: RATINGS_TIMEOUT_MS });
    if (!Array.isArray(models)) throw new Error('the gateway answered no models list');
    if (models.length === 0) return undefined;
    ui.log?.(`reviewer ratings: ${models.reduce((n, m) => n + m.count, 0)} over ${models.length} fusion model version(s)`);
    return models;
  } catch (err) {
    ui.log?.(`reviewer ratings left out of the report: ${(err as Error).message}`);
    return undefined;
  }
}

/** The splits of the clips in the current label file that finished the pipeline. */
export function splitsOf(step: CollectStep, mapping: SentimentMapping): SampleSplits {
  return splitsFromCache(step.cache, mapping, new Set(step.dataset.samples.map((s) => s.id)));
}

/**
 * The report's malformed-row and skipped-clip rows. `empty` are the clips that finished the pipeline with no
 * modality (SampleSplits.empty): they are neither trained nor scored, so the report must say so.
 */
export function problemRows(
  step: { dataset: Pick<MmsaDataset, 'dataset' | 'labelFile' | 'problems'>; collect: Pick<CollectSummary, 'missingMedia' | 'failed'> },
  empty: readonly string[],
): Pick<EvalReportData, 'problems' | 'skipped'> {
  const src = `${step.dataset.dataset} ${step.dataset.labelFile}`;
  const skipped: NonNullable<EvalReportData['skipped']> = [];
  const some = (items: readonly string[], sep = ', ') => `${items.slice(0, 5).join(sep)}${items.length > 5 ? ' …' : ''}`;
  if (step.collect.missingMedia.length)
    skipped.push({ source: src, count: step.collect.missingMedia.length, reason: `no media file: ${some(step.collect.missingMedia)}` });
  if (step.collect.failed.length)
    skipped.push({
      source: src,
      count: step.collect.failed.length,
      reason: `pipeline failed: ${some(
        step.collect.failed.map((f) => `${f.id} (${f.reason})`),
        '; ',
      )}`,
    });
  if (empty.length) skipped.push({ source: src, count: empty.length, reason: `no modality after the pipeline (nothing to fuse): ${some(empty)}` });
  return {
    problems: [{ source: src, count: step.dataset.problems.length, examples: step.dataset.problems.slice(0, 20) }],
    skipped,
  };
}

export interface TrainedPolicy {
  params: PolicyParams;
  warmParams: PolicyParams | null;
  summary: TrainSummary | null;
  loadedFrom?: string;
  /** modalities the policy was trained without; evaluation and the exported graph treat them as absent */
  maskedModalities: Modality[];
}

export interface TextEncoderChoice {
  record: TextEncodersRecord;
  /** ['text'] when text is masked, else [] */
  mask: Modality[];
  /** for the checkpoint fingerprint: features from other encoders are other data */
  featureKey: string;
}

/**
 * Decides, from the text model names the cached clips recorded, whether the text features of a feature set can be
 * trained on together (see @omniaffect/eval text-encoders). Masking is said loudly: it changes what the figures mean.
 */
export function chooseTextEncoders(
  tallies: TextModelTally[],
  o: { crossLingual: boolean; request?: TextEncoderRequest },
  ui: UiOptions = {},
): TextEncoderChoice {
  const r = resolveTextEncoders(deriveTextEncoders(...tallies), o);
  const { maskText, ...record } = r;
  if (record.setting === 'masked') ui.log?.(`WARNING: text modality MASKED. ${record.note}`);
  else if (record.setting === 'split') ui.log?.(`WARNING: text encoders split. ${record.note}`);
  else ui.log?.(`text encoders: ${record.setting} (zh ${record.zh ?? 'none'}, en ${record.en ?? 'none'})`);
  return { record, mask: maskText ? ['text'] : [], featureKey: `text-encoders en=${record.en ?? '-'} zh=${record.zh ?? '-'}` };
}

/**
 * The splits with `mask` absent. A clip left with no modality at all (e.g. text only, text masked) is neither
 * trained nor scored, and is returned so the report can list it.
 */
export function maskSplits(splits: SampleSplits, mask: readonly Modality[]): { splits: SampleSplits; emptied: string[] } {
  if (!mask.length) return { splits, emptied: [] };
  const emptied: string[] = [];
  const keep = (list: ResearchSample[]) =>
    maskSampleModalities(list, mask).filter((s) => {
      const any = Object.values(s.features).some((f) => f !== null && f.len > 0);
      if (!any) emptied.push(s.id.slice(s.id.indexOf(':') + 1));
      return any;
    });
  return { splits: { ...splits, train: keep(splits.train), valid: keep(splits.valid), test: keep(splits.test) }, emptied };
}

function emptiedRow(dataset: MmsaDatasetName, emptied: string[]): NonNullable<EvalReportData['skipped']> {
  if (!emptied.length) return [];
  return [
    {
      source: `${dataset} (text masked)`,
      count: emptied.length,
      reason: `only text features, and text was masked: ${emptied.slice(0, 5).join(', ')}${emptied.length > 5 ? ' …' : ''}`,
    },
  ];
}

/** The policy to evaluate: loaded from `policyDir`, or trained on the splits. */
export function obtainPolicy(
  data: { train: ResearchSample[]; valid: ResearchSample[] },
  policyDir: string | undefined,
  train: ResearchTrainOptions,
  ui: UiOptions,
): TrainedPolicy {
  if (policyDir) {
    const p = loadPolicyDir(policyDir);
    ui.log?.(`policy loaded from ${p.from}${p.maskedModalities.length ? ` (trained with ${p.maskedModalities.join(', ')} masked)` : ''}`);
    return { params: p.params, warmParams: p.warmParams, summary: null, loadedFrom: p.from, maskedModalities: p.maskedModalities };
  }
  ui.log?.(`training on ${data.train.length} clips (valid ${data.valid.length})`);
  const r = trainResearchPolicy(data, train, ui);
  const s = r.summary;
  ui.log?.(
    `trained in ${(s.wallMs / 1000).toFixed(1)} s: warm start ${s.warmStart.epochs} epochs (valid acc ${s.warmStart.valid.accuracy.toFixed(3)}), GRPO ${s.grpo.steps} steps${s.grpo.stoppedEarly ? ' (stopped early)' : ''} (valid acc ${s.final.valid.accuracy.toFixed(3)})`,
  );
  return { params: s.params, warmParams: r.warmParams, summary: s, maskedModalities: [...(train.maskModalities ?? [])] };
}

export interface EvalRunOptions {
  dataset: MmsaDatasetName;
  root: string;
  transcripts?: TranscriptsMode;
  out: string;
  concurrency?: number;
  seed?: number;
  /** evaluate this policy instead of training one */
  policyDir?: string;
  /** feature cache location (default <out>/features) */
  cacheDir?: string;
  client?: GatewayClient;
  train?: Omit<ResearchTrainOptions, 'seed'>;
}

export interface EvalRunResult {
  out: string;
  report: { html: string; json: string };
  modelDir: string;
  predictionsCsv: string;
  collect: CollectSummary;
  splits: SampleSplits;
  policy: TrainedPolicy;
  test: SplitEvaluation;
  /** the warm-start policy on the same test clips (null when it is unknown, e.g. a loaded policy without it) */
  warmTest: SplitEvaluation | null;
  onnx: OnnxParity;
  /** which text encoder setting produced the figures */
  textEncoders: TextEncodersRecord;
}

/**
 * `omniaffect eval run`: dataset → pipeline (feature cache) → policy (trained or loaded) → test evaluation →
 * exported fusion model + report.html/report.json/plots.
 */
export async function runEval(o: EvalRunOptions, ui: UiOptions = {}): Promise<EvalRunResult> {
  const out = path.resolve(o.out);
  mkdirSync(out, { recursive: true });
  const transcripts = o.transcripts ?? 'dataset';
  const seed = o.seed ?? 7;
  const step = await collectDataset(
    { dataset: o.dataset, root: o.root, transcripts, cacheBase: o.cacheDir ?? path.join(out, 'features'), concurrency: o.concurrency, client: o.client },
    ui,
  );
  const mapping: SentimentMapping = 'mmsa3';
  const splits = splitsOf(step, mapping);
  if (splits.test.length === 0) throw new Error('no test clips finished the pipeline: nothing to evaluate');
  // one language: nothing crosses between encoders, so text is kept and its encoder recorded
  const text = chooseTextEncoders([splits.textModels], { crossLingual: false }, ui);
  const policy = obtainPolicy(
    splits,
    o.policyDir,
    {
      seed,
      checkpointDir: path.join(out, 'checkpoints'),
      dataDescription: {
        source: 'omniaffect eval run',
        dataset: o.dataset,
        root: path.resolve(o.root),
        transcripts,
        mapping,
        languages: [DATASET_LANGUAGE[o.dataset]],
        textEncoders: textEncodersProvenance(text.record),
      },
      featureKey: text.featureKey,
      ...o.train,
    },
    ui,
  );
  // a loaded policy trained with a modality masked is scored without it
  const masked = maskSplits(splits, policy.maskedModalities);
  return finishEvaluation(
    {
      out,
      name: `${DATASET_TITLE[o.dataset]} test`,
      step,
      splits: masked.splits,
      policy,
      mapping,
      seed,
      textEncoders: text.record,
      client: o.client,
      extraData: { skipped: emptiedRow(o.dataset, masked.emptied) },
    },
    ui,
  );
}

async function finishEvaluation(
  a: {
    out: string;
    name: string;
    step: CollectStep;
    splits: SampleSplits;
    policy: TrainedPolicy;
    mapping: SentimentMapping;
    seed: number;
    textEncoders: TextEncodersRecord;
    /** report sections of another evaluated split (the cross-lingual one), shown after this split's */
    more?: ReturnType<typeof splitReportData>;
    /** the gateway the ratings summary is read from (default: the local stack's, as collectDataset) */
    client?: GatewayClient;
    extraData: Partial<EvalReportData> & Record<string, unknown>;
  },
  ui: UiOptions,
): Promise<EvalRunResult> {
  const { out, step, splits, policy } = a;
  const textMasked = policy.maskedModalities.includes('text');
  const textEncoders: TextEncodersRecord =
    textMasked && a.textEncoders.setting !== 'masked'
      ? {
          ...a.textEncoders,
          setting: 'masked',
          note: `The policy was trained with text masked (${policy.loadedFrom ?? 'this run'}), so these figures come from audio and vision only. ${a.textEncoders.note}`,
        }
      : a.textEncoders;
  const paths = reportPaths(out);
  ui.log?.(`evaluating on ${splits.test.length} test clips`);
  const test = evaluateSplit(policy.params, splits.test, a.mapping);
  const warmTest = policy.warmParams ? evaluateSplit(policy.warmParams, splits.test, a.mapping) : null;
  writePredictionsCsv(paths.predictions, test);

  const evaluation = { test: splitSummary(test), warmStart: warmTest ? splitSummary(warmTest) : null };
  const exported = exportPolicyOnnx(
    policy.params,
    {
      provenance: {
        ...(policy.summary?.provenance ?? { loadedFrom: policy.loadedFrom }),
        textEncoders: textEncodersProvenance(textEncoders),
        // the fusion service shows a modality with weight 0 and a reason as "not weighed", with the reason
        ...(textMasked ? { modalityReasons: { text: MASKED_TEXT_REASON } } : {}),
        evaluation: { name: a.name, war3: test.sentiment3.war, uar3: test.sentiment3.uar, mmsa: test.mmsa, attribution: test.attribution },
      },
      maskedModalities: policy.maskedModalities,
    },
    paths.model,
  );
  savePolicyParams(paths.model, policy.params, policy.warmParams ?? undefined, policy.maskedModalities);
  const onnx = await onnxParity(paths.model, policy.params, splits.test.slice(0, 8));
  ui.log?.(
    `exported ${exported.onnxPath} (ORT vs trainer max |Δ| ${onnx.maxAbsDiff.toExponential(2)} on ${onnx.clips} clips); serve it with FUSION_MODEL_DIR=${paths.model}`,
  );

  const own = splitReportData(a.name, test, warmTest ?? undefined);
  const sections = a.more
    ? {
        classification: [...own.classification, ...a.more.classification],
        mmsa: [...own.mmsa, ...a.more.mmsa],
        faithfulness: [...own.faithfulness, ...a.more.faithfulness.map((r) => ({ ...r, scope: `${r.scope} · cross` }))],
        modalityContributions: [...own.modalityContributions, ...a.more.modalityContributions.map((r) => ({ ...r, language: `${r.language} · cross` }))],
      }
    : own;
  const notes = [
    `Clips: ${step.collect.total} with media; ${step.collect.processed} analysed by the pipeline in this run, ${step.collect.cached} from the feature cache, ${step.collect.failed.length} failed, ${splits.empty.length} with no modality; train ${splits.train.length} / valid ${splits.valid.length} / test ${splits.test.length}.`,
    policy.summary
      ? `Policy: warm start ${policy.summary.warmStart.epochs} epochs + GRPO ${policy.summary.grpo.steps} steps, seed ${a.seed}, ${(policy.summary.wallMs / 1000).toFixed(1)} s.`
      : `Policy loaded from ${policy.loadedFrom}.`,
    `Text encoders: ${textEncoders.setting} (zh: ${textEncoders.zh ?? 'none'}; en: ${textEncoders.en ?? 'none'}). ${textEncoders.note}`,
    `Labels: ${a.mapping === 'mmsa3' ? "MMSA's 3-class mapping" : 'sign-3 (<0 / =0 / >0)'}; intensity target = label / scale; MMSA metrics score intensity × scale.`,
    ...(warmTest ? warmVsGrpoNotes(a.name, warmTest, test) : []),
    `Exported model: ${path.relative(out, exported.onnxPath)} + fusion.json (ORT vs trainer max |Δ| ${onnx.maxAbsDiff.toExponential(2)}).`,
  ];
  const rows = problemRows(step, splits.empty);
  const ratings = await fetchRatingsSummary(a.client, ui);
  const data: EvalReportData & Record<string, unknown> = {
    title: `OmniAffect evaluation: ${a.name}`,
    notes,
    ...sections,
    ...(policy.summary ? { training: trainingCurves(policy.summary.history) } : {}),
    ...rows,
    ...(ratings ? { ratings } : {}),
    ...a.extraData,
    textEncoders,
    evaluation,
    pipeline: {
      clips: step.collect.total,
      processed: step.collect.processed,
      cached: step.collect.cached,
      failed: step.collect.failed,
      missingMedia: step.collect.missingMedia,
      clipWallMs: step.collect.clipWallMs,
    },
    trainingSummary: policy.summary
      ? {
          warmStart: policy.summary.warmStart,
          final: policy.summary.final,
          grpo: policy.summary.grpo,
          planted: policy.summary.planted,
          wallMs: policy.summary.wallMs,
          resumed: policy.summary.resumed,
        }
      : null,
    model: { dir: paths.model, onnx: exported.onnxPath, manifest: exported.manifestPath, parity: onnx },
  };
  if (a.extraData.skipped) data.skipped = [...(rows.skipped ?? []), ...a.extraData.skipped];
  const written = await writeEvalReport(out, data);
  ui.log?.(`report: ${written.html}`);
  return {
    out,
    report: { html: written.html, json: written.json },
    modelDir: paths.model,
    predictionsCsv: paths.predictions,
    collect: step.collect,
    splits,
    policy,
    test,
    warmTest,
    onnx,
    textEncoders,
  };
}

export interface CrossRunOptions {
  train: { dataset: MmsaDatasetName; root: string };
  test: { dataset: MmsaDatasetName; root: string };
  transcripts?: TranscriptsMode;
  out: string;
  concurrency?: number;
  seed?: number;
  cacheDir?: string;
  client?: GatewayClient;
  trainOptions?: Omit<ResearchTrainOptions, 'seed'>;
  /**
   * 'shared' (default): use text only when both languages' text features came from one encoder, else mask it;
   * 'split': keep text features from two encoders anyway.
   */
  textEncoders?: TextEncoderRequest;
}

export interface CrossRunResult extends EvalRunResult {
  /** the target dataset's test clips under the source-trained policy */
  cross: SplitEvaluation;
  retention: ReturnType<typeof crossLingualReport>;
}

/**
 * `omniaffect eval cross`: train on one dataset (its train/valid), test in-language on its test split and
 * cross-lingually on the other dataset's test split, both on sign-3; retention = cross WAR / in-language WAR.
 */
export async function runCross(o: CrossRunOptions, ui: UiOptions = {}): Promise<CrossRunResult> {
  if (o.train.dataset === o.test.dataset) throw new Error('eval cross needs two different datasets (sims2 and mosei)');
  const out = path.resolve(o.out);
  mkdirSync(out, { recursive: true });
  const transcripts = o.transcripts ?? 'dataset';
  const seed = o.seed ?? 7;
  const cacheBase = o.cacheDir ?? path.join(out, 'features');
  const src = await collectDataset({ ...o.train, transcripts, cacheBase, concurrency: o.concurrency, client: o.client }, ui);
  const dst = await collectDataset({ ...o.test, transcripts, cacheBase, concurrency: o.concurrency, client: o.client }, ui);
  const mapping: SentimentMapping = 'sign3';
  const srcAll = splitsOf(src, mapping);
  const dstAll = splitsOf(dst, mapping);
  const text = chooseTextEncoders(
    [srcAll.textModels, dstAll.textModels],
    { crossLingual: DATASET_LANGUAGE[o.train.dataset] !== DATASET_LANGUAGE[o.test.dataset], request: o.textEncoders },
    ui,
  );
  const srcMasked = maskSplits(srcAll, text.mask);
  const dstMasked = maskSplits(dstAll, text.mask);
  const srcSplits = srcMasked.splits;
  const dstSplits = dstMasked.splits;
  if (dstSplits.test.length === 0) throw new Error(`no ${o.test.dataset} test clips finished the pipeline`);
  const direction = `${DATASET_LANGUAGE[o.train.dataset]}→${DATASET_LANGUAGE[o.test.dataset]}`;
  const policy = obtainPolicy(
    srcSplits,
    undefined,
    {
      seed,
      checkpointDir: path.join(out, 'checkpoints'),
      dataDescription: {
        source: 'omniaffect eval cross',
        direction,
        train: o.train.dataset,
        test: o.test.dataset,
        transcripts,
        mapping,
        textEncoders: textEncodersProvenance(text.record),
      },
      featureKey: text.featureKey,
      ...o.trainOptions,
      // the masked samples no longer show the text width; the export must still fit the text encoder
      ...(text.mask.length ? { maskModalities: text.mask, extra: { ...(srcAll.dims ? { dims: srcAll.dims } : {}), ...o.trainOptions?.extra } } : {}),
    },
    ui,
  );
  const cross = evaluateSplit(policy.params, dstSplits.test, mapping);
  const inLang = evaluateSplit(policy.params, srcSplits.test, mapping);
  const retention = crossLingualReport({
    direction,
    inLanguage: { war: inLang.sign3!.war, uar: inLang.sign3!.uar },
    cross: { war: cross.sign3!.war, uar: cross.sign3!.uar },
  });
  ui.log?.(
    `${direction}: in-language WAR ${inLang.sign3!.war.toFixed(4)} / UAR ${inLang.sign3!.uar.toFixed(4)}; cross WAR ${cross.sign3!.war.toFixed(4)} / UAR ${cross.sign3!.uar.toFixed(4)}; retention ${retention.retention?.toFixed(4) ?? 'n/a'}`,
  );
  const crossName = `${DATASET_TITLE[o.test.dataset]} test (trained on ${DATASET_TITLE[o.train.dataset]})`;
  const dstProblems = problemRows(dst, dstSplits.empty);
  const base = await finishEvaluation(
    {
      out,
      name: `${DATASET_TITLE[o.train.dataset]} test (in-language)`,
      step: src,
      splits: srcSplits,
      policy,
      mapping,
      seed,
      textEncoders: text.record,
      more: splitReportData(crossName, cross),
      client: o.client,
      extraData: {
        crossLingual: [{ ...retention, textEncoders: text.record.setting }],
        cross: { direction, name: crossName, evaluation: splitSummary(cross) },
        problems: [...(problemRows(src, srcSplits.empty).problems ?? []), ...(dstProblems.problems ?? [])],
        skipped: [...(dstProblems.skipped ?? []), ...emptiedRow(o.train.dataset, srcMasked.emptied), ...emptiedRow(o.test.dataset, dstMasked.emptied)],
      },
    },
    ui,
  );
  return { ...base, cross, retention };
}

export interface TrainFromFeaturesOptions {
  features: string;
  out: string;
  seed?: number;
  train?: Omit<ResearchTrainOptions, 'seed'>;
  /** for a mixed-language feature set: as CrossRunOptions.textEncoders */
  textEncoders?: TextEncoderRequest;
}

export interface TrainFromFeaturesResult {
  caches: string[];
  splits: { train: number; valid: number; test: number };
  summary: TrainSummary;
  modelDir: string;
  test: SplitEvaluation | null;
  warmTest: SplitEvaluation | null;
  textEncoders: TextEncodersRecord;
  /** clips left with no modality once text was masked (not trained on) */
  emptied: string[];
}

/**
 * `omniaffect train --features DIR`: trains on whatever feature caches DIR holds (one dataset, or both for a
 * cross-lingual policy, then on sign-3), evaluates on their test clips and exports the model.
 */
export async function trainFromFeatures(o: TrainFromFeaturesOptions, ui: UiOptions = {}): Promise<TrainFromFeaturesResult> {
  const caches = FeatureCache.find(path.resolve(o.features));
  if (!caches.length) throw new Error(`no feature cache (cache.json) in or below ${o.features}; run \`omniaffect eval run\` first`);
  const mapping: SentimentMapping = new Set(caches.map((c) => c.manifest.dataset)).size > 1 ? 'sign3' : 'mmsa3';
  const all = caches.map((c) => splitsFromCache(c, mapping));
  const languages = new Set(caches.map((c) => DATASET_LANGUAGE[c.manifest.dataset]));
  const text = chooseTextEncoders(
    all.map((s) => s.textModels),
    { crossLingual: languages.size > 1, request: o.textEncoders },
    ui,
  );
  const masked = all.map((s) => maskSplits(s, text.mask));
  const merged = { train: masked.flatMap((s) => s.splits.train), valid: masked.flatMap((s) => s.splits.valid), test: masked.flatMap((s) => s.splits.test) };
  const emptied = masked.flatMap((s) => s.emptied);
  ui.log?.(
    `features: ${caches.map((c) => c.dir).join(', ')} → train ${merged.train.length} / valid ${merged.valid.length} / test ${merged.test.length} (${mapping})${emptied.length ? `; ${emptied.length} text-only clips left out (text masked)` : ''}`,
  );
  const out = path.resolve(o.out);
  const seed = o.seed ?? 7;
  const dims = all.find((s) => s.dims)?.dims;
  const r = trainResearchPolicy(
    merged,
    {
      seed,
      checkpointDir: path.join(out, 'checkpoints'),
      dataDescription: { source: 'omniaffect train', caches: caches.map((c) => c.manifest), mapping, textEncoders: textEncodersProvenance(text.record) },
      featureKey: text.featureKey,
      ...o.train,
      ...(text.mask.length ? { maskModalities: text.mask, extra: { ...(dims ? { dims } : {}), ...o.train?.extra } } : {}),
    },
    ui,
  );
  const test = merged.test.length ? evaluateSplit(r.summary.params, merged.test, mapping) : null;
  const warmTest = merged.test.length ? evaluateSplit(r.warmParams, merged.test, mapping) : null;
  const modelDir = path.join(out, 'model');
  exportPolicyOnnx(
    r.summary.params,
    {
      provenance: {
        ...r.summary.provenance,
        textEncoders: textEncodersProvenance(text.record),
        ...(text.mask.includes('text') ? { modalityReasons: { text: MASKED_TEXT_REASON } } : {}),
        ...(test ? { evaluation: splitSummary(test) } : {}),
      },
      maskedModalities: text.mask,
    },
    modelDir,
  );
  savePolicyParams(modelDir, r.summary.params, r.warmParams, text.mask);
  return {
    caches: caches.map((c) => c.dir),
    splits: { train: merged.train.length, valid: merged.valid.length, test: merged.test.length },
    summary: r.summary,
    modelDir,
    test,
    warmTest,
    textEncoders: text.record,
    emptied,
  };
}
