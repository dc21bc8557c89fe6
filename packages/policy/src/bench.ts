import { exportPolicyOnnx } from './export-onnx';
import { makeSyntheticFeatureSet } from './synthetic';
import { train, type TrainOptions, type TrainSummary } from './train';
import type { ModalityDims } from './types';

export interface PolicyBenchOptions {
  /** training samples (default 16,000, MOSEI's size); validation clips come on top */
  n?: number;
  /** validation clips (default n/9, so the split is 90/10) */
  valid?: number;
  dims?: ModalityDims;
  seed?: number;
  hidden?: number;
  train?: Partial<TrainOptions>;
  print?: (line: string) => void;
  /** when set, the trained policy is exported there (fusion.onnx + fusion.json) */
  outDir?: string;
}

export interface PolicyBenchResult {
  /** training samples */
  n: number;
  valid: number;
  wallMs: number;
  warmMs: number;
  grpoMs: number;
  peakRssMiB: number;
  warmAccuracy: number;
  finalAccuracy: number;
  decisivePlanted: { warm: number; grpo: number };
  deletionPlanted: { warm: number; grpo: number };
  summary: TrainSummary;
}

/**
 * Trains the policy on a synthetic planted-modality set (default 16,000 training + 1,778 validation clips) and prints
 * wall time, peak RSS, accuracy and the decisive=planted rate after the warm start and after GRPO.
 */
export function runPolicyBench(opts: PolicyBenchOptions = {}): PolicyBenchResult {
  const print = opts.print ?? ((l: string) => console.log(l));
  const n = opts.n ?? 16000;
  // the training split itself is MOSEI-sized, so the validation clips are generated on top of it
  const nValid = opts.valid ?? Math.round(n / 9);
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(nValid) || nValid < 1) throw new Error(`policy bench: bad sizes n=${n} valid=${nValid}`);
  const dims = opts.dims ?? { text: 128, audio: 128, vision: 128 };
  const seed = opts.seed ?? 7;
  const t0 = Date.now();
  const set = makeSyntheticFeatureSet({ n: n + nValid, dims, seed });
  // the samples are i.i.d., so slicing is as good a split as a shuffle
  const data = { train: set.samples.slice(0, n), valid: set.samples.slice(n) };
  print(
    `policy bench: ${data.train.length} training samples + ${data.valid.length} validation, dims ${JSON.stringify(dims)}, generated in ${Date.now() - t0} ms`,
  );
  let warmMs = 0;
  let grpoMs = 0;
  const summary = train(
    data,
    {
      seed,
      dims,
      hidden: opts.hidden ?? 64,
      warmStartEpochs: 8,
      epochs: 1,
      grpoEvalEvery: 50,
      contrastive: { enabled: true, weight: 0.1, temperature: 0.1 },
      dataDescription: set.description,
      ...opts.train,
    },
    {
      onEpoch: (e) => (warmMs += e.ms),
      onGrpoStep: (s) => (grpoMs += s.ms),
      log: print,
    },
  );
  const wallMs = Date.now() - t0;
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  const result: PolicyBenchResult = {
    n: data.train.length,
    valid: data.valid.length,
    wallMs,
    warmMs,
    grpoMs,
    peakRssMiB,
    warmAccuracy: summary.warmStart.valid.accuracy,
    finalAccuracy: summary.final.valid.accuracy,
    decisivePlanted: { warm: summary.planted?.warm.weights ?? NaN, grpo: summary.planted?.final.weights ?? NaN },
    deletionPlanted: { warm: summary.planted?.warm.deletion ?? NaN, grpo: summary.planted?.final.deletion ?? NaN },
    summary,
  };
  if (opts.outDir) {
    const { onnxPath } = exportPolicyOnnx(summary.params, { provenance: summary.provenance }, opts.outDir);
    print(`exported ${onnxPath}`);
  }
  print(
    [
      `wall ${(wallMs / 1000).toFixed(1)} s (warm start ${(warmMs / 1000).toFixed(1)} s over ${summary.warmStart.epochs} epochs, GRPO ${(grpoMs / 1000).toFixed(1)} s over ${summary.grpo.steps} steps)`,
      `peak RSS ${peakRssMiB.toFixed(0)} MiB`,
      `valid accuracy: warm start ${result.warmAccuracy.toFixed(4)} → GRPO ${result.finalAccuracy.toFixed(4)}`,
      `decisive (top weight) = planted: warm ${result.decisivePlanted.warm.toFixed(4)} → GRPO ${result.decisivePlanted.grpo.toFixed(4)}`,
      `deletion-decisive = planted: warm ${result.deletionPlanted.warm.toFixed(4)} → GRPO ${result.deletionPlanted.grpo.toFixed(4)}`,
    ].join('\n'),
  );
  return result;
}

if (require.main === module) {
  const n = Number(process.argv[2] ?? process.env.POLICY_BENCH_N ?? 16000);
  const outDir = process.argv[3];
  runPolicyBench({ n, ...(outDir ? { outDir } : {}) });
}
