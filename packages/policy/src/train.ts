import { createHash } from 'node:crypto';
import { collate } from './batch';
import { adamInit, adamStep } from './adam';
import { loadCheckpoint, saveCheckpoint, type TrainState } from './checkpoint';
import { evaluate, targetsOf, type EvalMetrics } from './evaluate';
import { backward, forward } from './forward';
import { addSeeds, contrastiveLoss, crossEntropyLoss, grpoLoss, intensityLoss } from './losses';
import { cloneParams, initPolicy, zerosLike, type PolicyParams } from './params';
import { Rng } from './prng';
import { buildRollout, DEFAULT_REWARD_WEIGHTS, type RewardWeights } from './rewards';
import { MODALITIES, SENTIMENT_LABELS, type Modality } from '@omniaffect/core';
import type { ModalityDims, PolicySample } from './types';

export type TrainDataset = readonly PolicySample[] | { train: readonly PolicySample[]; valid: readonly PolicySample[] };

export interface TrainOptions {
  seed: number;
  /** feature dims; inferred from the first sample when omitted */
  dims?: ModalityDims;
  hidden?: number;
  gateHidden?: number;
  /** start from these weights instead of a fresh init (e.g. a previous run) */
  initialParams?: PolicyParams;
  /** share held out for validation when `dataset` is a plain array */
  validFraction?: number;
  batchSize?: number;
  /** warm-start learning rate */
  lr?: number;
  /** maximum supervised warm-start epochs (early stopping may end sooner) */
  warmStartEpochs?: number;
  /** GRPO passes over the training set; used only when grpoSteps is not given */
  epochs?: number;
  /** GRPO updates (each on a fresh rollout batch); 0 = warm start only */
  grpoSteps?: number;
  grpoBatchSize?: number;
  grpoLr?: number;
  /** optimisation passes over each rollout batch; >1 makes the ratio and clipping matter */
  grpoInnerSteps?: number;
  groupSize?: number;
  clipEps?: number;
  beta?: number;
  valueCoef?: number;
  rewardWeights?: Partial<RewardWeights>;
  lossWeights?: { emotion?: number; intensity?: number };
  contrastive?: { enabled?: boolean; weight?: number; temperature?: number };
  /** early stopping: warm-start epochs (or GRPO evaluations) without validation-accuracy improvement */
  patience?: number;
  /** GRPO stops when validation accuracy stays this far below the warm start for `patience` evaluations */
  grpoAccuracyTolerance?: number;
  grpoEvalEvery?: number;
  clipNorm?: number;
  checkpointDir?: string;
  /** continue from checkpointDir's checkpoint when one exists */
  resume?: boolean;
  /** GRPO steps between checkpoints (warm start saves every epoch) */
  checkpointEvery?: number;
  /** what the data is (source, languages, feature extractors); copied into the provenance */
  dataDescription?: Record<string, unknown>;
  /**
   * Modalities treated as absent in every sample, in training and validation (e.g. text whose zh and en features
   * came from different encoders). Export the result with the same `maskedModalities` so serving ignores them too.
   */
  maskModalities?: readonly Modality[];
  /**
   * Train also on one copy per unimodal label (PolicySample.unimodal): the sample with that modality
   * alone, labelled with that modality's own label. CH-SIMS v2 annotates each modality for exactly this
   * kind of multi-task supervision. It keeps the gate from leaning on one modality's mere presence
   * (a policy that never saw a modality alone reads it badly alone, and evidence from one modality then
   * looks insufficient) and prepares the policy for a dropped stream. Validation is not augmented.
   */
  unimodalCopies?: boolean;
  /**
   * What identifies the features beyond the sample ids (e.g. which encoders produced them). It is part of the
   * checkpoint fingerprint, so features recomputed with other encoders are not resumed from the old checkpoint.
   */
  featureKey?: string;
}

export interface EpochLog {
  epoch: number;
  loss: number;
  ce: number;
  intensity: number;
  contrastive: number;
  valid: EvalMetrics;
  ms: number;
}

export interface GrpoStepLog {
  step: number;
  rewardMean: number;
  rewardStd: number;
  accuracyReward: number;
  attributionReward: number;
  consistencyReward: number;
  kl: number;
  clipFraction: number;
  /** greedy accuracy of the rollout batch under the sampling policy */
  batchAccuracy: number;
  valid?: EvalMetrics;
  ms: number;
}

export interface TrainHooks {
  onEpoch?(log: EpochLog): void;
  onGrpoStep?(log: GrpoStepLog): void;
  onCheckpoint?(path: string, phase: 'warm' | 'grpo'): void;
  log?(line: string): void;
}

interface History {
  epochs: EpochLog[];
  grpo: GrpoStepLog[];
  warmValid: EvalMetrics | null;
  startedAt: string;
}

export interface TrainSummary {
  params: PolicyParams;
  warmStart: { epochs: number; bestEpoch: number; valid: EvalMetrics };
  final: { valid: EvalMetrics };
  grpo: { steps: number; stoppedEarly: boolean; last: GrpoStepLog | null };
  /** decisive-modality = planted-modality rates (null when the samples carry no plantedModality) */
  planted: { warm: { weights: number; deletion: number }; final: { weights: number; deletion: number } } | null;
  history: { epochs: EpochLog[]; grpo: GrpoStepLog[] };
  /** ready to put into FusionManifest.provenance */
  provenance: Record<string, unknown>;
  resumed: boolean;
  wallMs: number;
}

/** The defaults the trainer fills in; β = 0.04 and G = 8 are what R1-Omni runs with (TRL 0.14 defaults). */
export function resolveTrainOptions(o: TrainOptions) {
  return {
    seed: o.seed,
    hidden: o.hidden ?? 64,
    gateHidden: o.gateHidden ?? o.hidden ?? 64,
    validFraction: o.validFraction ?? 0.1,
    batchSize: o.batchSize ?? 64,
    lr: o.lr ?? 3e-3,
    warmStartEpochs: o.warmStartEpochs ?? 10,
    epochs: o.epochs ?? 1,
    grpoSteps: o.grpoSteps,
    grpoBatchSize: o.grpoBatchSize ?? o.batchSize ?? 64,
    grpoLr: o.grpoLr ?? 1e-3,
    grpoInnerSteps: o.grpoInnerSteps ?? 2,
    groupSize: o.groupSize ?? 8,
    clipEps: o.clipEps ?? 0.2,
    beta: o.beta ?? 0.04,
    valueCoef: o.valueCoef ?? 0.1,
    rewardWeights: { ...DEFAULT_REWARD_WEIGHTS, ...(o.rewardWeights ?? {}) },
    lossWeights: { emotion: o.lossWeights?.emotion ?? 0.5, intensity: o.lossWeights?.intensity ?? 0.5 },
    contrastive: {
      enabled: o.contrastive?.enabled ?? false,
      weight: o.contrastive?.weight ?? 0.1,
      temperature: o.contrastive?.temperature ?? 0.1,
    },
    patience: o.patience ?? 3,
    grpoAccuracyTolerance: o.grpoAccuracyTolerance ?? 0.02,
    grpoEvalEvery: o.grpoEvalEvery ?? 25,
    clipNorm: o.clipNorm ?? 5,
    checkpointEvery: o.checkpointEvery ?? 50,
    // undefined when unset, so JSON.stringify drops them and fingerprints of runs without them are unchanged
    maskModalities: o.maskModalities?.length ? [...new Set(o.maskModalities)].sort() : undefined,
    unimodalCopies: o.unimodalCopies || undefined,
    featureKey: o.featureKey,
  };
}

/** The samples with `modalities` absent (null), leaving everything else as it is. */
export function maskSampleModalities<T extends PolicySample>(samples: readonly T[], modalities: readonly Modality[] | undefined): T[] {
  if (!modalities?.length) return [...samples];
  return samples.map((s) => {
    const features = { ...s.features };
    for (const m of modalities) features[m] = null;
    return { ...s, features };
  });
}

/**
 * The samples plus, for every modality a sample has features and a unimodal label for, a copy with that
 * modality alone and its unimodal label (see TrainOptions.unimodalCopies). A copy of a single-modality
 * sample would repeat it, so none is made.
 */
export function withUnimodalCopies<T extends PolicySample>(samples: readonly T[]): T[] {
  const out: T[] = [...samples];
  for (const s of samples) {
    const present = MODALITIES.filter((m) => s.features[m] && s.features[m]!.len > 0);
    if (present.length < 2 || !s.unimodal) continue;
    for (const m of present) {
      const u = s.unimodal[m];
      if (!u) continue;
      const features = Object.fromEntries(MODALITIES.map((x) => [x, x === m ? s.features[x] : null])) as T['features'];
      const copy: T = { ...s, id: `${s.id}#${m}`, features, sentiment: u.sentiment, intensity: u.intensity };
      delete copy.emotion;
      delete copy.unimodal;
      if (u.sentiment === SENTIMENT_LABELS.indexOf('neutral')) delete copy.plantedModality;
      else copy.plantedModality = m;
      delete copy.plantedItems;
      out.push(copy);
    }
  }
  return out;
}

export type ResolvedTrainOptions = ReturnType<typeof resolveTrainOptions>;

function splitDataset(ds: TrainDataset, seed: number, validFraction: number) {
  if (!Array.isArray(ds)) {
    const d = ds as { train: readonly PolicySample[]; valid: readonly PolicySample[] };
    return { train: d.train, valid: d.valid };
  }
  const all = ds as readonly PolicySample[];
  const idx = new Rng(seed ^ 0x51ed).shuffle(all.map((_, i) => i));
  const nValid = Math.max(1, Math.round(all.length * validFraction));
  return { train: idx.slice(nValid).map((i) => all[i]!), valid: idx.slice(0, nValid).map((i) => all[i]!) };
}

function inferDims(samples: readonly PolicySample[]): ModalityDims {
  const dims: Partial<ModalityDims> = {};
  for (const s of samples) {
    for (const m of ['text', 'audio', 'vision'] as const) {
      const seq = s.features[m];
      if (dims[m] === undefined && seq && seq.len > 0) dims[m] = seq.data.length / seq.len;
    }
    if (dims.text && dims.audio && dims.vision) break;
  }
  if (!dims.text || !dims.audio || !dims.vision) throw new Error('cannot infer dims: some modality is absent in every sample; pass options.dims');
  return dims as ModalityDims;
}

/** The order of one pass over the data depends only on (seed, phase, pass), so a resume replays it. */
function passOrder(n: number, seed: number, phase: number, pass: number): number[] {
  return new Rng([seed >>> 0, phase, pass, 0x9e3779b9]).shuffle(Array.from({ length: n }, (_, i) => i));
}

function fingerprintOf(o: ResolvedTrainOptions, train: readonly PolicySample[], valid: readonly PolicySample[], dims: ModalityDims): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ ...o, checkpointEvery: undefined, dims }));
  for (const s of train) h.update(s.id);
  h.update('|');
  for (const s of valid) h.update(s.id);
  return h.digest('hex').slice(0, 16);
}

/**
 * Supervised warm start (CE + emotion CE + intensity MSE + optional cross-lingual SupCon), then GRPO
 * with verifiable rewards against the frozen warm-start policy. Deterministic for a given seed,
 * including across a checkpoint/resume.
 */
export function train(dataset: TrainDataset, options: TrainOptions, hooks: TrainHooks = {}): TrainSummary {
  const t0 = Date.now();
  const o = resolveTrainOptions(options);
  const log = hooks.log ?? (() => {});
  const split = splitDataset(dataset, o.seed, o.validFraction);
  if (split.train.length === 0) throw new Error('empty training set');
  // dims come from the unmasked features: a masked modality keeps its width, so the export fits the encoders
  const dims = options.dims ?? options.initialParams?.dims ?? inferDims(split.train);
  const masked = maskSampleModalities(split.train, o.maskModalities);
  const trainSet = o.unimodalCopies ? withUnimodalCopies(masked) : masked;
  if (o.unimodalCopies) log(`unimodal labels: ${trainSet.length - masked.length} single-modality copies added to ${masked.length} training samples`);
  const validSet = maskSampleModalities(split.valid, o.maskModalities);
  const fingerprint = fingerprintOf(o, trainSet, validSet, dims);
  const grpoSteps = o.grpoSteps ?? o.epochs * Math.ceil(trainSet.length / o.grpoBatchSize);

  let st: TrainState<History> | null = null;
  let resumed = false;
  if (options.resume && options.checkpointDir) {
    st = loadCheckpoint<History>(options.checkpointDir);
    if (st) {
      if (st.fingerprint !== fingerprint) {
        throw new Error(`checkpoint in ${options.checkpointDir} was made with other options or data (fingerprint ${st.fingerprint} != ${fingerprint})`);
      }
      resumed = true;
      log(`resuming from ${options.checkpointDir}: phase ${st.phase}, epoch ${st.epoch}, GRPO step ${st.grpoStep}`);
    }
  }
  if (!st) {
    const params = options.initialParams ? cloneParams(options.initialParams) : initPolicy({ dims, hidden: o.hidden, gateHidden: o.gateHidden, seed: o.seed });
    st = {
      phase: 'warm',
      epoch: 0,
      grpoStep: 0,
      params,
      adam: adamInit(params),
      rngState: new Rng(o.seed ^ 0x6a09e667).state(),
      bestParams: null,
      bestAccuracy: -1,
      badEvals: 0,
      refParams: null,
      fingerprint,
      history: { epochs: [], grpo: [], warmValid: null, startedAt: new Date().toISOString() },
    };
  }
  const save = (phase: 'warm' | 'grpo') => {
    if (!options.checkpointDir) return;
    const path = saveCheckpoint(options.checkpointDir, st!);
    hooks.onCheckpoint?.(path, phase);
  };
  const trainTargets = targetsOf(trainSet);
  const pick = <T extends Int32Array | Float64Array | Uint8Array>(arr: T, idx: number[]): T => {
    const out = new (arr.constructor as new (n: number) => T)(idx.length);
    idx.forEach((i, k) => (out[k] = arr[i]!));
    return out;
  };
  const batchTargets = (idx: number[]) => ({
    sentiment: pick(trainTargets.sentiment, idx),
    emotion: pick(trainTargets.emotion, idx),
    intensity: pick(trainTargets.intensity, idx),
    language: pick(trainTargets.language, idx),
  });

  // ---- phase 1: supervised warm start
  while (st.phase === 'warm' && st.epoch < o.warmStartEpochs) {
    const te = Date.now();
    const order = passOrder(trainSet.length, o.seed, 1, st.epoch);
    let sums = { loss: 0, ce: 0, intensity: 0, contrastive: 0 };
    let nb = 0;
    for (let s = 0; s < order.length; s += o.batchSize) {
      const idx = order.slice(s, s + o.batchSize);
      const batch = collate(
        idx.map((i) => trainSet[i]!),
        dims,
      );
      const tg = batchTargets(idx);
      const out = forward(st.params, batch);
      const ce = crossEntropyLoss(out, tg, o.lossWeights.emotion);
      const it = intensityLoss(out, tg, o.lossWeights.intensity);
      const parts = [ce, it];
      let con = 0;
      if (o.contrastive.enabled) {
        const c = contrastiveLoss(out, tg, o.contrastive.temperature, o.contrastive.weight);
        parts.push(c);
        con = c.loss;
      }
      const grads = zerosLike(st.params);
      backward(st.params, out, addSeeds(...parts.map((p) => p.seeds)), grads);
      adamStep(st.params, grads, st.adam, { lr: o.lr, clipNorm: o.clipNorm });
      sums = { loss: sums.loss + ce.loss + it.loss + con, ce: sums.ce + ce.loss, intensity: sums.intensity + it.loss, contrastive: sums.contrastive + con };
      nb++;
    }
    const valid = evaluate(st.params, validSet);
    st.epoch++;
    const entry: EpochLog = {
      epoch: st.epoch,
      loss: sums.loss / nb,
      ce: sums.ce / nb,
      intensity: sums.intensity / nb,
      contrastive: sums.contrastive / nb,
      valid,
      ms: Date.now() - te,
    };
    st.history.epochs.push(entry);
    hooks.onEpoch?.(entry);
    log(
      `warm epoch ${st.epoch}: loss ${entry.loss.toFixed(4)} valid acc ${valid.accuracy.toFixed(4)} decisive=planted ${valid.decisivePlantedRate.toFixed(3)} (${entry.ms} ms)`,
    );
    if (valid.accuracy > st.bestAccuracy) {
      st.bestAccuracy = valid.accuracy;
      st.bestParams = cloneParams(st.params);
      st.badEvals = 0;
    } else if (++st.badEvals >= o.patience) {
      log(`early stopping after epoch ${st.epoch}: no validation improvement for ${o.patience} epochs`);
      st.epoch = o.warmStartEpochs;
    }
    if (st.epoch >= o.warmStartEpochs) finishWarm();
    save('warm');
  }
  if (st.phase === 'warm') {
    finishWarm();
    save('warm');
  }

  function finishWarm(): void {
    const s = st!;
    if (s.bestParams) s.params = cloneParams(s.bestParams);
    s.refParams = cloneParams(s.params);
    s.history.warmValid = evaluate(s.params, validSet);
    s.bestAccuracy = s.history.warmValid.accuracy;
    s.badEvals = 0;
    s.adam = adamInit(s.params);
    s.phase = grpoSteps > 0 ? 'grpo' : 'done';
  }

  // ---- phase 2: GRPO with verifiable rewards
  let stoppedEarly = false;
  const rng = new Rng(st.rngState);
  const perPass = Math.ceil(trainSet.length / o.grpoBatchSize);
  while (st.phase === 'grpo' && st.grpoStep < grpoSteps) {
    const ts = Date.now();
    const pass = Math.floor(st.grpoStep / perPass);
    const within = st.grpoStep % perPass;
    const order = passOrder(trainSet.length, o.seed, 2, pass);
    const idx = order.slice(within * o.grpoBatchSize, (within + 1) * o.grpoBatchSize);
    const batch = collate(
      idx.map((i) => trainSet[i]!),
      dims,
    );
    const gold = pick(trainTargets.sentiment, idx);
    const oldOut = forward(st.params, batch);
    const refOut = forward(st.refParams!, batch);
    const ro = buildRollout(st.params, oldOut, refOut, gold, o.groupSize, o.rewardWeights, rng);
    let kl = 0;
    let clipFraction = 0;
    for (let inner = 0; inner < o.grpoInnerSteps; inner++) {
      const out = inner === 0 ? oldOut : forward(st.params, batch);
      const gl = grpoLoss(out, ro.rollout, { clipEps: o.clipEps, beta: o.beta, valueCoef: o.valueCoef });
      if (inner === 0) kl = gl.stats.kl;
      clipFraction += gl.stats.clipFraction / o.grpoInnerSteps;
      const grads = zerosLike(st.params);
      backward(st.params, out, gl.seeds, grads);
      adamStep(st.params, grads, st.adam, { lr: o.grpoLr, clipNorm: o.clipNorm });
    }
    let batchCorrect = 0;
    for (let b = 0; b < idx.length; b++) {
      const l = oldOut.sentimentLogits;
      let best = 0;
      for (let j = 1; j < 3; j++) if (l[b * 3 + j]! > l[b * 3 + best]!) best = j;
      if (best === gold[b]) batchCorrect++;
    }
    st.grpoStep++;
    st.rngState = rng.state();
    const mean = (a: Float64Array) => a.reduce((x, y) => x + y, 0) / a.length;
    const entry: GrpoStepLog = {
      step: st.grpoStep,
      rewardMean: mean(ro.total),
      rewardStd: ro.rewardStd,
      accuracyReward: mean(ro.accuracy),
      attributionReward: mean(ro.attribution),
      consistencyReward: mean(ro.consistency),
      kl,
      clipFraction,
      batchAccuracy: batchCorrect / idx.length,
      ms: 0,
    };
    const last = st.grpoStep >= grpoSteps;
    if (st.grpoStep % o.grpoEvalEvery === 0 || last) {
      entry.valid = evaluate(st.params, validSet);
      const floor = st.history.warmValid!.accuracy - o.grpoAccuracyTolerance;
      st.badEvals = entry.valid.accuracy < floor ? st.badEvals + 1 : 0;
      log(
        `GRPO step ${st.grpoStep}: reward ${entry.rewardMean.toFixed(3)}±${entry.rewardStd.toFixed(3)} (acc ${entry.accuracyReward.toFixed(3)} attr ${entry.attributionReward.toFixed(3)} cons ${entry.consistencyReward.toFixed(3)}) KL ${kl.toExponential(2)} valid acc ${entry.valid.accuracy.toFixed(4)} decisive=planted ${entry.valid.decisivePlantedRate.toFixed(3)}`,
      );
      if (st.badEvals >= o.patience) {
        log(`GRPO stopped at step ${st.grpoStep}: validation accuracy below warm start − ${o.grpoAccuracyTolerance} for ${o.patience} evaluations`);
        stoppedEarly = true;
        st.phase = 'done';
      }
    }
    entry.ms = Date.now() - ts;
    st.history.grpo.push(entry);
    hooks.onGrpoStep?.(entry);
    if (st.grpoStep >= grpoSteps) st.phase = 'done';
    if (st.grpoStep % o.checkpointEvery === 0 || st.phase === 'done') save('grpo');
  }
  st.phase = 'done';

  const warmValid = st.history.warmValid ?? evaluate(st.params, validSet);
  const finalValid = evaluate(st.params, validSet);
  const hasPlanted = validSet.some((s) => s.plantedModality);
  const bestEpoch = st.history.epochs.reduce((best, e) => (e.valid.accuracy > best.valid.accuracy ? e : best), st.history.epochs[0]!)?.epoch ?? 0;
  const summary: TrainSummary = {
    params: st.params,
    warmStart: { epochs: st.history.epochs.length, bestEpoch, valid: warmValid },
    final: { valid: finalValid },
    grpo: { steps: st.history.grpo.length, stoppedEarly, last: st.history.grpo[st.history.grpo.length - 1] ?? null },
    planted: hasPlanted
      ? {
          warm: { weights: warmValid.decisivePlantedRate, deletion: warmValid.deletionPlantedRate },
          final: { weights: finalValid.decisivePlantedRate, deletion: finalValid.deletionPlantedRate },
        }
      : null,
    history: { epochs: st.history.epochs, grpo: st.history.grpo },
    provenance: {},
    resumed,
    wallMs: Date.now() - t0,
  };
  summary.provenance = {
    kind: 'trained-policy',
    trainer: '@omniaffect/policy (supervised warm start + GRPO, verifiable rewards)',
    seed: o.seed,
    data: { ...(options.dataDescription ?? {}), train: trainSet.length, valid: validSet.length },
    options: { ...o, checkpointEvery: undefined, grpoSteps },
    rewards: o.rewardWeights,
    metrics: { warmStart: warmValid, final: finalValid, planted: summary.planted },
    fingerprint,
    startedAt: st.history.startedAt,
    finishedAt: new Date().toISOString(),
  };
  return summary;
}
