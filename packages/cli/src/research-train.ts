import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { MODALITIES, type Modality } from '@omniaffect/core';
import {
  CHECKPOINT_FILE,
  buildZeroShotFusion,
  deserializeParams,
  loadCheckpoint,
  serializeParams,
  train,
  type PolicyParams,
  type SerializedParams,
  type TrainOptions,
  type TrainSummary,
  type ZeroShotResult,
} from '@omniaffect/policy';
import type { ResearchSample } from './research-samples';

/** The knobs the CLI exposes; everything else keeps the trainer's defaults. */
export interface ResearchTrainOptions {
  seed: number;
  grpoSteps?: number;
  warmStartEpochs?: number;
  contrastive?: boolean;
  hidden?: number;
  batchSize?: number;
  lr?: number;
  grpoLr?: number;
  groupSize?: number;
  patience?: number;
  /** where checkpoints go; a finished or interrupted run with the same data and options is resumed from there */
  checkpointDir?: string;
  /** modalities masked in training (text from split encoders); see TrainOptions.maskModalities */
  maskModalities?: Modality[];
  /** what identifies the features beyond their ids (the text encoders); part of the checkpoint fingerprint */
  featureKey?: string;
  /** train also on single-modality copies labelled with the unimodal labels (TrainOptions.unimodalCopies) */
  unimodalLabels?: boolean;
  /** extra TrainOptions (tests and benches) */
  extra?: Partial<TrainOptions>;
  dataDescription?: Record<string, unknown>;
}

/**
 * Defaults sized to the data: small sets (synthetic checks, a few hundred clips) need smaller batches and more
 * passes than MOSEI's 16k clips, or the warm start sees only a handful of updates and GRPO none.
 */
export function trainOptionsFor(nTrain: number, o: ResearchTrainOptions): TrainOptions {
  const small = nTrain < 2000;
  const batchSize = o.batchSize ?? (small ? Math.max(8, Math.min(32, Math.ceil(nTrain / 4))) : 64);
  const grpoSteps = o.grpoSteps ?? (small ? 150 : Math.ceil(nTrain / batchSize));
  return {
    seed: o.seed,
    hidden: o.hidden ?? 64,
    batchSize,
    grpoBatchSize: batchSize,
    lr: o.lr ?? 3e-3,
    grpoLr: o.grpoLr ?? 1e-3,
    warmStartEpochs: o.warmStartEpochs ?? (small ? 60 : 10),
    patience: o.patience ?? (small ? 15 : 3),
    grpoSteps,
    grpoEvalEvery: Math.max(5, Math.min(25, Math.ceil(grpoSteps / 10))),
    groupSize: o.groupSize ?? 8,
    contrastive: { enabled: o.contrastive ?? true },
    ...(o.checkpointDir ? { checkpointDir: o.checkpointDir, resume: true } : {}),
    ...(o.dataDescription ? { dataDescription: o.dataDescription } : {}),
    ...(o.maskModalities?.length ? { maskModalities: o.maskModalities } : {}),
    ...(o.featureKey ? { featureKey: o.featureKey } : {}),
    ...(o.unimodalLabels ? { unimodalCopies: true } : {}),
    ...(o.extra ?? {}),
  };
}

export interface ResearchTrainResult {
  summary: TrainSummary;
  /** the warm-start policy GRPO started from (and is KL-anchored to), for warm-vs-GRPO figures */
  warmParams: PolicyParams;
  options: TrainOptions;
}

/** A cli-progress bar on stderr over warm-start epochs + GRPO steps; silent when stderr is not a terminal. */
function progressBar(enabled: boolean, total: number) {
  if (!enabled || !process.stderr.isTTY) return null;
  const bar = new SingleBar(
    { format: 'train |{bar}| {value}/{total} {phase} {info}', stream: process.stderr, hideCursor: true, clearOnComplete: false },
    Presets.shades_classic,
  );
  bar.start(total, 0, { phase: 'warm start', info: '' });
  return bar;
}

/**
 * Warm start + GRPO on the train split, early stopping and model selection on the valid split: the one training
 * path of `omniaffect eval run`, `eval cross` and `train`. With a checkpointDir, a rerun of the same data and options
 * resumes (or, if already finished, just reloads); a checkpoint from other data or options is set aside, not reused.
 */
export function trainResearchPolicy(
  data: { train: readonly ResearchSample[]; valid: readonly ResearchSample[] },
  o: ResearchTrainOptions,
  ui: { progress?: boolean; log?: (line: string) => void } = {},
): ResearchTrainResult {
  if (data.train.length === 0) throw new Error('no training clips with features: run the pipeline first (omniaffect eval run)');
  // The warm-start policy is read back from the final checkpoint (GRPO's frozen reference), so there always is one.
  const tempDir = o.checkpointDir ? null : mkdtempSync(path.join(tmpdir(), 'omniaffect-train-'));
  try {
    return trainWithCheckpoints(data, { ...o, checkpointDir: o.checkpointDir ?? tempDir! }, ui);
  } finally {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
}

function trainWithCheckpoints(
  data: { train: readonly ResearchSample[]; valid: readonly ResearchSample[] },
  o: ResearchTrainOptions,
  ui: { progress?: boolean; log?: (line: string) => void },
): ResearchTrainResult {
  const options = trainOptionsFor(data.train.length, o);
  const valid = data.valid.length > 0 ? data.valid : null;
  const dataset = valid ? { train: data.train, valid } : data.train;
  const total = (options.warmStartEpochs ?? 10) + (options.grpoSteps ?? 0);
  const bar = progressBar(ui.progress ?? true, total);
  let done = 0;
  const hooks = {
    onEpoch: (e: { epoch: number; valid: { accuracy: number } }) => {
      done = e.epoch;
      bar?.update(done, { phase: 'warm start', info: `valid acc ${e.valid.accuracy.toFixed(3)}` });
    },
    onGrpoStep: (s: { step: number; rewardMean: number; kl: number }) => {
      bar?.update((options.warmStartEpochs ?? 10) + s.step, { phase: 'GRPO', info: `reward ${s.rewardMean.toFixed(3)} KL ${s.kl.toExponential(1)}` });
    },
    log: (line: string) => {
      if (!bar) ui.log?.(line);
    },
  };
  let summary: TrainSummary;
  try {
    summary = train(dataset, options, hooks);
  } catch (err) {
    const dir = options.checkpointDir;
    if (!dir || !/fingerprint/.test((err as Error).message)) throw err;
    // A checkpoint from other data or options: keep it for inspection, start over.
    const aside = `${dir}-stale-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    renameSync(dir, aside);
    ui.log?.(`checkpoint in ${dir} was made with other data or options; moved to ${aside}, training from scratch`);
    summary = train(dataset, options, hooks);
  } finally {
    bar?.update(total);
    bar?.stop();
  }
  const warmParams = loadCheckpoint<unknown>(options.checkpointDir!)?.refParams ?? summary.params;
  return { summary, warmParams, options };
}

export const POLICY_FILE = 'policy.json';

/**
 * Writes the trained weights next to the exported model so `--policy DIR` can load them without a checkpoint.
 * `maskedModalities` (modalities the policy was trained without) travel with them: evaluating such a policy on
 * those modalities would read weights that never learnt anything.
 */
export function savePolicyParams(dir: string, params: PolicyParams, warm?: PolicyParams, maskedModalities?: readonly Modality[]): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, POLICY_FILE);
  writeFileSync(
    file,
    JSON.stringify({
      format: 'omniaffect-policy',
      params: serializeParams(params),
      ...(warm ? { warmStart: serializeParams(warm) } : {}),
      ...(maskedModalities?.length ? { maskedModalities } : {}),
    }),
  );
  return file;
}

/**
 * Loads a policy for `--policy DIR`: DIR may be a model dir with policy.json, a checkpoint dir, or an eval/train
 * output dir holding either below model/ or checkpoints/.
 */
export function loadPolicyDir(dir: string): { params: PolicyParams; warmParams: PolicyParams | null; from: string; maskedModalities: Modality[] } {
  for (const d of [dir, path.join(dir, 'model'), path.join(dir, 'checkpoints')]) {
    const pf = path.join(d, POLICY_FILE);
    if (existsSync(pf)) {
      const j = JSON.parse(readFileSync(pf, 'utf8')) as { params: SerializedParams; warmStart?: SerializedParams; maskedModalities?: unknown };
      const maskedModalities = Array.isArray(j.maskedModalities)
        ? j.maskedModalities.filter((m): m is Modality => (MODALITIES as readonly unknown[]).includes(m))
        : [];
      return { params: deserializeParams(j.params), warmParams: j.warmStart ? deserializeParams(j.warmStart) : null, from: pf, maskedModalities };
    }
    if (existsSync(path.join(d, CHECKPOINT_FILE))) {
      // a checkpoint has no mask of its own; the masked run's options are in its fingerprint only
      const st = loadCheckpoint<unknown>(d)!;
      return { params: st.params, warmParams: st.refParams, from: path.join(d, CHECKPOINT_FILE), maskedModalities: [] };
    }
  }
  throw new Error(`no ${POLICY_FILE} or ${CHECKPOINT_FILE} in ${dir} (or its model/ or checkpoints/)`);
}

export interface ZeroShotCliOptions {
  modelDir: string;
  fusionDir?: string;
  logitScale?: number;
  logitBias?: number;
  force?: boolean;
}

/** `train --zero-shot`: a fusion/ for the encoders in modelDir, built from them alone (see @omniaffect/policy zero-shot.ts). */
export async function buildZeroShot(o: ZeroShotCliOptions, ui: { log?: (line: string) => void } = {}): Promise<ZeroShotResult> {
  const modelDir = path.resolve(o.modelDir);
  if (!existsSync(modelDir)) throw new Error(`model dir ${modelDir} does not exist`);
  return buildZeroShotFusion({
    modelDir,
    outDir: o.fusionDir ? path.resolve(o.fusionDir) : undefined,
    logitScale: o.logitScale,
    logitBias: o.logitBias,
    force: o.force,
    provider: process.env.EXECUTION_PROVIDER,
    log: ui.log,
  });
}

export function formatZeroShot(r: ZeroShotResult, modelDir: string): string {
  const fusionDir = path.dirname(r.onnxPath);
  const serve =
    fusionDir === path.join(path.resolve(modelDir), 'fusion')
      ? `MODEL_DIR=${path.resolve(modelDir)}`
      : `MODEL_DIR=${path.resolve(modelDir)} FUSION_MODEL_DIR=${fusionDir}`;
  const dropped = r.prompts.filter((p) => !p.used);
  return [
    `zero-shot fusion for text ${r.manifest.dims.text}-d, audio ${r.manifest.dims.audio}-d, vision ${r.manifest.dims.vision}-d`,
    `  audio: emotion2vec 9-class head → 7 emotions / 3 sentiments (fusion.json provenance.audio)`,
    `  vision: SigLIP zero-shot over ${r.prompts.length - dropped.length}/${r.prompts.length} prompts (zh + en); logit scale ${r.siglip.logitScale}, bias ${r.siglip.logitBias} from ${r.siglip.source}`,
    ...(dropped.length
      ? [
          `  dropped ${dropped.length} prompts the tokenizer cannot read: ${[...new Set(dropped.map((p) => p.language))].join(', ')} (e.g. "${dropped[0]!.text}": ${dropped[0]!.note})`,
        ]
      : []),
    '  text: weight 0 (no trained text head)',
    `wrote ${r.onnxPath}`,
    `      ${r.manifestPath}`,
    `serve it: ${serve} omniaffect up   (a trained policy replaces it later: omniaffect eval run)`,
  ].join('\n');
}
