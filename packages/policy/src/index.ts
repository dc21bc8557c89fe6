export type { FusionBatch, ModalityBatch, ModalityDims, ModalitySequence, PolicySample, SampleFeatures, Vec } from './types';
export { Rng } from './prng';
export { collate, sliceBatch } from './batch';
export {
  PARAM_NAMES,
  cloneParams,
  deserializeParams,
  initPolicy,
  paramCount,
  paramShapes,
  serializeParams,
  zerosLike,
  type InitPolicyOptions,
  type ParamName,
  type ParamTensors,
  type PolicyParams,
  type SerializedParams,
} from './params';
export { MASK_NEG, backward, forward, fuseAndHeads, type ForwardCache, type HeadOutputs, type OutputGrads, type PolicyOutput } from './forward';
export {
  actionLogProbs,
  addSeeds,
  contrastiveLoss,
  crossEntropyLoss,
  grpoLoss,
  intensityLoss,
  rankingLogProb,
  type BatchTargets,
  type GrpoLossOptions,
  type GrpoRollout,
  type GrpoStats,
  type LossResult,
} from './losses';
export { adamInit, adamStep, gradNorm, type AdamOptions, type AdamState } from './adam';
export {
  DEFAULT_REWARD_WEIGHTS,
  buildRollout,
  consistencyReward,
  deletionDrops,
  deletionRanking,
  groupAdvantages,
  kendallTau,
  weightRanking,
  type RewardWeights,
  type RolloutResult,
} from './rewards';
export {
  comprehensiveness,
  deletionEffects,
  faithfulnessReport,
  itemRationale,
  modalityRationale,
  sufficiency,
  topKItems,
  type DeletionEffects,
  type FaithfulnessReport,
  type Rationale,
} from './faithfulness';
export { evaluate, targetsOf, type EvalMetrics } from './evaluate';
export {
  maskSampleModalities,
  resolveTrainOptions,
  train,
  type EpochLog,
  type GrpoStepLog,
  type ResolvedTrainOptions,
  type TrainDataset,
  type TrainHooks,
  type TrainOptions,
  type TrainSummary,
} from './train';
export { CHECKPOINT_FILE, loadCheckpoint, loadCheckpointParams, saveCheckpoint } from './checkpoint';
export { buildPolicyGraph, exportPolicyOnnx, type ExportManifestInput, type ExportResult, type PolicyGraphOptions } from './export-onnx';
export { makeSyntheticFeatureSet, type SyntheticFeatureSet, type SyntheticOptions } from './synthetic';
export { runPolicyBench, type PolicyBenchOptions, type PolicyBenchResult } from './bench';
export {
  EMOTION_SENTIMENT,
  HEAD_TO_EMOTION,
  PROMPT_TEMPLATES,
  PROMPT_WORDS,
  SIGLIP_ASSUMED,
  ZERO_SHOT_KIND,
  ZERO_SHOT_TEXT_REASON,
  buildZeroShotFusion,
  balanceSentimentTable,
  buildZeroShotGraph,
  emotionSentimentTable,
  headMappings,
  zeroShotPrompts,
  type ZeroShotGraphSpec,
  type ZeroShotOptions,
  type ZeroShotPrompt,
  type ZeroShotResult,
} from './zero-shot';
