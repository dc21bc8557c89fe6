/**
 * The research workflow as a library: what `omniaffect eval|train|dataset` run, importable by tests and benches
 * (`@omniaffect/cli/dist/src/research-api`) without depending on @omniaffect/eval or @omniaffect/policy directly.
 */
export { FeatureCache, generateSyntheticMmsa, readMmsaDataset, scorePredictionsCsv, type CachedClip, type TranscriptsMode } from '@omniaffect/eval';
export { runPolicyBench, type PolicyBenchResult } from '@omniaffect/policy';
export { collectFeatures, type CollectSummary } from './research-collect';
export {
  chooseTextEncoders,
  collectDataset,
  maskSplits,
  runCross,
  runEval,
  trainFromFeatures,
  type CrossRunResult,
  type EvalRunResult,
  type TextEncoderChoice,
} from './research-eval';
export { attributionChecks, evaluateSplit, predictClips, type ClipPrediction, type SplitEvaluation } from './research-evaluate';
export { onnxParity, type OnnxParity } from './research-onnx';
export { splitsFromCache, toResearchSample, type ResearchSample } from './research-samples';
export { loadPolicyDir, trainResearchPolicy } from './research-train';
export { policyRunner, runRobustness, type RobustnessOptions, type RobustnessResult } from './research-robustness';
export { runTimelineEval, type TimelineEvalOptions, type TimelineEvalResult } from './research-timeline';
