import * as path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import {
  generateSyntheticMmsa,
  generateSyntheticTimeline,
  parsePerturbations,
  scorePredictionsCsv,
  TEXT_ENCODER_REQUESTS,
  type MmsaDatasetName,
  type SplitMode,
  type TextEncoderRequest,
  type TranscriptsMode,
} from '@omniaffect/eval';
import { runCross, runEval, trainFromFeatures } from './research-eval';
import { runRobustness } from './research-robustness';
import { runTimelineEval } from './research-timeline';
import { assertRealModels } from './research-tiny-guard';
import type { SplitEvaluation } from './research-evaluate';
import { buildZeroShot, formatZeroShot, type ResearchTrainOptions } from './research-train';

function datasetArg(v: string): MmsaDatasetName {
  if (v !== 'sims2' && v !== 'mosei') throw new InvalidArgumentError('use sims2 or mosei');
  return v;
}

function transcriptsArg(v: string): TranscriptsMode {
  if (v !== 'dataset' && v !== 'asr') throw new InvalidArgumentError('use dataset or asr');
  return v;
}

function textEncodersArg(v: string): TextEncoderRequest {
  if (!(TEXT_ENCODER_REQUESTS as readonly string[]).includes(v)) throw new InvalidArgumentError(`use ${TEXT_ENCODER_REQUESTS.join(' or ')}`);
  return v as TextEncoderRequest;
}

const TEXT_ENCODERS_HELP =
  'cross-lingual text: shared = use text only if zh and en text features came from one encoder, otherwise mask text (point TEXT_MODEL_DIR_EN at the multilingual text-zh for shared features); split = keep text from two encoders anyway';

function intArg(min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer ≥ ${min}`);
    return n;
  };
}

function numberArg(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('must be a number');
  return n;
}

interface ZeroShotFlags {
  zeroShot?: boolean;
  modelDir?: string;
  fusionDir?: string;
  logitScale?: number;
  logitBias?: number;
  force?: boolean;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

interface TrainFlags {
  grpoSteps?: number;
  warmEpochs?: number;
  contrastive?: boolean;
  hidden?: number;
  batchSize?: number;
  unimodalLabels?: boolean;
}

function withTrainFlags(cmd: Command): Command {
  return cmd
    .option('--grpo-steps <n>', 'GRPO updates (default: sized to the data)', intArg(0))
    .option('--warm-epochs <n>', 'maximum warm-start epochs (early stopping may end sooner)', intArg(1))
    .option('--no-contrastive', 'no cross-lingual supervised contrastive term in the warm start')
    .option('--hidden <n>', 'hidden width of the policy', intArg(4))
    .option('--batch-size <n>', 'warm-start and GRPO batch size', intArg(1))
    .option('--unimodal-labels', "train also on single-modality copies labelled with the dataset's label_T/A/V (CH-SIMS v2)");
}

function trainOptionsFromFlags(f: TrainFlags): Omit<ResearchTrainOptions, 'seed'> {
  return {
    ...(f.grpoSteps !== undefined ? { grpoSteps: f.grpoSteps } : {}),
    ...(f.warmEpochs !== undefined ? { warmStartEpochs: f.warmEpochs } : {}),
    ...(f.contrastive === false ? { contrastive: false } : {}),
    ...(f.hidden !== undefined ? { hidden: f.hidden } : {}),
    ...(f.batchSize !== undefined ? { batchSize: f.batchSize } : {}),
    ...(f.unimodalLabels ? { unimodalLabels: true } : {}),
  };
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `${(v * 100).toFixed(2)}%`);

function printSplit(name: string, ev: SplitEvaluation, warm: SplitEvaluation | null): void {
  const lines = [
    `${name}: n=${ev.n} WAR ${pct(ev.sentiment3.war)} UAR ${pct(ev.sentiment3.uar)}${ev.emotion7 ? `; emotion-7 WAR ${pct(ev.emotion7.war)} UAR ${pct(ev.emotion7.uar)}` : ''}`,
    ...ev.mmsa.map((m) => `  MMSA ${m.dataset}: ${JSON.stringify(m.metrics)}`),
    `  decisive=planted ${pct(ev.attribution.decisivePlanted.rate)} (n=${ev.attribution.decisivePlanted.n})${warm ? ` [warm start ${pct(warm.attribution.decisivePlanted.rate)}]` : ''}`,
    `  top-weighted modality deletion > lowest ${pct(ev.attribution.topBeatsLowest.rate)} (n=${ev.attribution.topBeatsLowest.n})${warm ? ` [warm start ${pct(warm.attribution.topBeatsLowest.rate)}]` : ''}`,
    ...ev.faithfulness.map((r) => `  faithfulness ${r.scope}: comprehensiveness ${r.comprehensiveness.toFixed(4)} sufficiency ${r.sufficiency.toFixed(4)}`),
  ];
  console.log(lines.join('\n'));
}

/** `eval run|metrics|cross`, `train` and `dataset synth`: the research workflow (docs/architecture.md §11). */
export function registerResearchCommands(program: Command): void {
  const evalCmd = program.command('eval').description('evaluate on CH-SIMS v2 / CMU-MOSEI through the real pipeline');

  withTrainFlags(
    evalCmd
      .command('run')
      .description('run a dataset through the pipeline (cached, resumable), train the policy, evaluate on test, export the model and write the report')
      .requiredOption('--dataset <name>', 'sims2 | mosei', datasetArg)
      .requiredOption('--root <dir>', 'dataset root (label.csv or meta.csv + Raw/)')
      .option('--transcripts <mode>', "dataset: send the label file's text (ASR skipped) | asr: transcribe", transcriptsArg, 'dataset' as TranscriptsMode)
      .option('--out <dir>', 'output directory', 'eval-out')
      .option('--concurrency <n>', 'clips in the pipeline at once', intArg(1), 4)
      .option('--seed <n>', 'training seed', intArg(0), 7)
      .option('--policy <dir>', 'evaluate this policy (policy.json or checkpoint) instead of training')
      .option('--cache <dir>', 'feature cache directory (default <out>/features)')
      .option('--allow-tiny-models', 'run even when MODEL_DIR is the tiny stand-in pack (the figures then mean nothing)'),
  ).action(
    async (
      o: TrainFlags & {
        dataset: MmsaDatasetName;
        root: string;
        transcripts: TranscriptsMode;
        out: string;
        concurrency: number;
        seed: number;
        policy?: string;
        cache?: string;
        allowTinyModels?: boolean;
      },
    ) => {
      assertRealModels(o.allowTinyModels);
      const r = await runEval(
        {
          dataset: o.dataset,
          root: path.resolve(o.root),
          transcripts: o.transcripts,
          out: path.resolve(o.out),
          concurrency: o.concurrency,
          seed: o.seed,
          ...(o.policy ? { policyDir: path.resolve(o.policy) } : {}),
          ...(o.cache ? { cacheDir: path.resolve(o.cache) } : {}),
          train: trainOptionsFromFlags(o),
        },
        { log },
      );
      printSplit('test', r.test, r.warmTest);
      if (r.collect.failed.length) {
        console.log(`failed clips (${r.collect.failed.length}), retried by the next run:`);
        for (const f of r.collect.failed) console.log(`  ${f.id}: ${f.reason}`);
      }
      console.log(`report ${r.report.html}\nmodel ${r.modelDir} (FUSION_MODEL_DIR=${r.modelDir})`);
    },
  );

  withTrainFlags(
    evalCmd
      .command('robustness')
      .description(
        're-run the test clips with perturbed media (noise, babble, blur, down-scaling, compression, frame drops, dropped streams) and report WAR/UAR, modality-contribution shifts and attribution stability per perturbation and level',
      )
      .requiredOption('--dataset <name>', 'sims2 | mosei', datasetArg)
      .requiredOption('--root <dir>', 'dataset root (label.csv + Raw/)')
      .option('--perturbations <spec>', 'all, or kind[:level,…] items separated by ; (e.g. "noise:20,0;blur:5;drop-audio")', 'all')
      .option('--augment <spec>', 'also train a policy on clean + perturbed copies of the training clips (same spec syntax) and report both')
      .option('--policy <dir>', 'evaluate this policy instead of training one on the clean clips')
      .option('--transcripts <mode>', "dataset: send the label file's text (ASR skipped) | asr: transcribe", transcriptsArg, 'dataset' as TranscriptsMode)
      .option('--out <dir>', 'output directory', 'eval-robustness-out')
      .option('--concurrency <n>', 'clips in the pipeline at once', intArg(1), 4)
      .option('--seed <n>', 'training and noise seed', intArg(0), 7)
      .option('--cache <dir>', 'feature cache of the clean clips (default <out>/features; share it with eval run)')
      .option('--allow-tiny-models', 'run even when MODEL_DIR is the tiny stand-in pack (the figures then mean nothing)'),
  ).action(
    async (
      o: TrainFlags & {
        dataset: MmsaDatasetName;
        root: string;
        perturbations: string;
        augment?: string;
        policy?: string;
        transcripts: TranscriptsMode;
        out: string;
        concurrency: number;
        seed: number;
        cache?: string;
        allowTinyModels?: boolean;
      },
    ) => {
      assertRealModels(o.allowTinyModels);
      const r = await runRobustness(
        {
          dataset: o.dataset,
          root: path.resolve(o.root),
          out: path.resolve(o.out),
          perturbations: parsePerturbations(o.perturbations),
          ...(o.augment ? { augment: parsePerturbations(o.augment) } : {}),
          ...(o.policy ? { policyDir: path.resolve(o.policy) } : {}),
          transcripts: o.transcripts,
          concurrency: o.concurrency,
          seed: o.seed,
          ...(o.cache ? { cacheDir: path.resolve(o.cache) } : {}),
          train: trainOptionsFromFlags(o),
        },
        { log },
      );
      for (const row of r.rows)
        console.log(
          `${row.policy.padEnd(40)} ${row.perturbation.padEnd(22)} WAR ${pct(row.war)} UAR ${pct(row.uar)} top-1 evidence kept ${pct(row.top1Agreement)}`,
        );
      console.log(`report ${r.report.html}`);
    },
  );

  evalCmd
    .command('timeline')
    .description('run the planted-timeline videos (dataset synth --timeline) through the stack and score boundaries, labels and verified evidence')
    .requiredOption('--root <dir>', 'the directory dataset synth --timeline wrote')
    .option('--out <dir>', 'output directory', 'eval-timeline-out')
    .option('--concurrency <n>', 'videos in the pipeline at once', intArg(1), 2)
    .option('--allow-tiny-models', 'run even when MODEL_DIR is the tiny stand-in pack (the figures then mean nothing)')
    .action(async (o: { root: string; out: string; concurrency: number; allowTinyModels?: boolean }) => {
      assertRealModels(o.allowTinyModels);
      const r = await runTimelineEval({ root: o.root, out: o.out, concurrency: o.concurrency }, { log });
      const s = r.score;
      console.log(
        [
          `boundaries within ±${s.boundaries.toleranceSec} s: ${pct(s.boundaries.rate)} (${s.boundaries.recovered}/${s.boundaries.planted})`,
          `segment labels: ${pct(s.labels.accuracy)} (${s.labels.correct}/${s.labels.segments})`,
          `planted item = top verified evidence: ${pct(s.evidence.rate)} (${s.evidence.plantedTop}/${s.evidence.segments})`,
          `faithfulness: comprehensiveness ${s.faithfulness.comprehensiveness?.toFixed(3) ?? 'n/a'}, sufficiency ${s.faithfulness.sufficiency?.toFixed(3) ?? 'n/a'}`,
          `report ${r.report.html}`,
        ].join('\n'),
      );
    });

  evalCmd
    .command('metrics')
    .description("score an id,prediction,label CSV with MMSA's metric set (+ sign-3 WAR/UAR)")
    .requiredOption('--dataset <name>', 'sims2 | mosei', datasetArg)
    .requiredOption('--predictions <file>', 'CSV with id, prediction, label columns')
    .action((o: { dataset: MmsaDatasetName; predictions: string }) => {
      const r = scorePredictionsCsv(path.resolve(o.predictions), o.dataset);
      const out = {
        file: r.file,
        dataset: r.dataset,
        n: r.n,
        mmsa: r.mmsa,
        sign3: { war: r.sentiment3.war, uar: r.sentiment3.uar, confusion: r.sentiment3.confusion },
        problems: r.problems,
      };
      console.log(JSON.stringify(out, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2));
    });

  withTrainFlags(
    evalCmd
      .command('cross')
      .description('train on one dataset, test on the other (sign-3): WAR/UAR and retention = cross WAR / in-language WAR')
      .requiredOption('--train <name>', 'sims2 | mosei', datasetArg)
      .requiredOption('--test <name>', 'sims2 | mosei', datasetArg)
      .requiredOption('--train-root <dir>', 'root of the training dataset')
      .requiredOption('--test-root <dir>', 'root of the test dataset')
      .option('--transcripts <mode>', 'dataset | asr', transcriptsArg, 'dataset' as TranscriptsMode)
      .option('--out <dir>', 'output directory', 'eval-cross-out')
      .option('--concurrency <n>', 'clips in the pipeline at once', intArg(1), 4)
      .option('--seed <n>', 'training seed', intArg(0), 7)
      .option('--cache <dir>', 'feature cache directory (default <out>/features; share it with eval run to reuse features)')
      .option('--text-encoders <setting>', TEXT_ENCODERS_HELP, textEncodersArg, 'shared' as TextEncoderRequest)
      .option('--allow-tiny-models', 'run even when MODEL_DIR is the tiny stand-in pack (the figures then mean nothing)'),
  ).action(
    async (
      o: TrainFlags & {
        train: MmsaDatasetName;
        test: MmsaDatasetName;
        trainRoot: string;
        testRoot: string;
        transcripts: TranscriptsMode;
        out: string;
        concurrency: number;
        seed: number;
        cache?: string;
        textEncoders: TextEncoderRequest;
        allowTinyModels?: boolean;
      },
    ) => {
      assertRealModels(o.allowTinyModels);
      const r = await runCross(
        {
          train: { dataset: o.train, root: path.resolve(o.trainRoot) },
          test: { dataset: o.test, root: path.resolve(o.testRoot) },
          transcripts: o.transcripts,
          out: path.resolve(o.out),
          concurrency: o.concurrency,
          seed: o.seed,
          ...(o.cache ? { cacheDir: path.resolve(o.cache) } : {}),
          trainOptions: trainOptionsFromFlags(o),
          textEncoders: o.textEncoders,
        },
        { log },
      );
      const x = r.retention;
      console.log(
        `${x.direction}: in-language WAR ${pct(x.inLanguage.war)} UAR ${pct(x.inLanguage.uar)}; cross WAR ${pct(x.cross.war)} UAR ${pct(x.cross.uar)}; retention ${pct(x.retention)} (UAR ${pct(x.uarRetention)})`,
      );
      console.log(`text encoders: ${r.textEncoders.setting} (zh ${r.textEncoders.zh ?? 'none'}, en ${r.textEncoders.en ?? 'none'})`);
      console.log(`report ${r.report.html}`);
    },
  );

  withTrainFlags(
    program
      .command('train')
      .description(
        'train the fusion policy (warm start + GRPO) on cached pipeline features and export it; or, with --zero-shot, build a fusion from the encoders alone (no dataset)',
      )
      .option('--features <dir>', 'a feature cache, an eval run output dir, or a parent of several caches')
      .option('--out <dir>', 'output directory (checkpoints/, model/)', 'train-out')
      .option('--seed <n>', 'training seed', intArg(0), 7)
      .option('--zero-shot', 'no training: write MODEL_DIR/fusion/ from the emotion2vec head and SigLIP emotion prompts (text weight 0)')
      .option('--model-dir <dir>', 'zero-shot: the MODEL_DIR whose encoders to build for (default $MODEL_DIR)')
      .option('--fusion-dir <dir>', 'zero-shot: where fusion.onnx + fusion.json go (default <model-dir>/fusion)')
      .option('--logit-scale <x>', 'zero-shot: SigLIP logit scale, the multiplier exp(logit_scale) (when no onnx/model.onnx holds it)', numberArg)
      .option('--logit-bias <x>', 'zero-shot: SigLIP logit bias (when no onnx/model.onnx holds it)', numberArg)
      .option('--force', 'zero-shot: replace a fusion/ that holds a trained policy')
      .option('--text-encoders <setting>', `features of both languages: ${TEXT_ENCODERS_HELP}`, textEncodersArg, 'shared' as TextEncoderRequest),
  ).action(async (o: TrainFlags & ZeroShotFlags & { features?: string; out: string; seed: number; textEncoders: TextEncoderRequest }) => {
    if (o.zeroShot) {
      if (o.features) throw new Error('--zero-shot trains nothing: drop --features (or drop --zero-shot to train on them)');
      const modelDir = o.modelDir ?? process.env.MODEL_DIR;
      if (!modelDir) throw new Error('--zero-shot needs --model-dir DIR (or MODEL_DIR): the directory `models pull --pack standard` wrote');
      const r = await buildZeroShot({ modelDir, fusionDir: o.fusionDir, logitScale: o.logitScale, logitBias: o.logitBias, force: o.force }, { log });
      console.log(formatZeroShot(r, modelDir));
      return;
    }
    if (!o.features)
      throw new Error('train needs --features DIR (pipeline features to train on), or --zero-shot --model-dir DIR for a fusion without training');
    const r = await trainFromFeatures(
      { features: o.features, out: o.out, seed: o.seed, train: trainOptionsFromFlags(o), textEncoders: o.textEncoders },
      { log },
    );
    const s = r.summary;
    console.log(
      [
        `trained on ${r.splits.train} clips (valid ${r.splits.valid}) in ${(s.wallMs / 1000).toFixed(1)} s${s.resumed ? ' (resumed from a checkpoint)' : ''}`,
        `warm start: ${s.warmStart.epochs} epochs, best ${s.warmStart.bestEpoch}, valid WAR ${pct(s.warmStart.valid.accuracy)} UAR ${pct(s.warmStart.valid.uar)}`,
        `GRPO: ${s.grpo.steps} steps${s.grpo.stoppedEarly ? ' (stopped early)' : ''}, valid WAR ${pct(s.final.valid.accuracy)} UAR ${pct(s.final.valid.uar)}${s.grpo.last ? `, last reward ${s.grpo.last.rewardMean.toFixed(3)} KL ${s.grpo.last.kl.toExponential(2)}` : ''}`,
        ...(s.planted ? [`decisive=planted (valid): warm start ${pct(s.planted.warm.weights)} → GRPO ${pct(s.planted.final.weights)}`] : []),
        `text encoders: ${r.textEncoders.setting} (zh ${r.textEncoders.zh ?? 'none'}, en ${r.textEncoders.en ?? 'none'})${r.emptied.length ? `; ${r.emptied.length} text-only clips left out` : ''}`,
        `model ${r.modelDir}`,
      ].join('\n'),
    );
    if (r.test) printSplit('test', r.test, r.warmTest);
  });

  const dataset = program.command('dataset').description('datasets in the MMSA raw layout');
  dataset
    .command('synth')
    .description(
      'write a synthetic MMSA-layout dataset (real mp4 clips, sentiment planted in one modality per clip), or with --timeline long videos whose sentiment changes at planted times',
    )
    .requiredOption('--root <dir>', 'where to write label.csv and Raw/ (or, with --timeline, the videos, their .vtt and timeline.json)')
    .option('--dataset <name>', 'sims2 | mosei (not with --timeline)', datasetArg)
    .option('--clips <train,valid,test>', 'clips per split', '60,15,30')
    .option('--seed <n>', 'seed', intArg(0), 7)
    .option('--duration <s>', 'seconds per clip', '2')
    .option('--cue <where>', 'whole: the cue fills the clip; localized: one word, a 2 s voice stretch or 2 s of frames (clips of 4 s or more)', 'whole')
    .option('--timeline <videos>', 'instead: this many long planted-timeline videos (zh and en alternately)', intArg(1))
    .option('--utterances <n>', 'utterances per timeline video', intArg(2), 6)
    .action(
      async (o: {
        dataset?: MmsaDatasetName;
        root: string;
        clips: string;
        seed: number;
        duration: string;
        cue: string;
        timeline?: number;
        utterances: number;
      }) => {
        if (o.timeline !== undefined) {
          const r = await generateSyntheticTimeline({ root: path.resolve(o.root), videos: o.timeline, seed: o.seed, utterances: o.utterances });
          console.log(`${r.videos.length} planted-timeline videos → ${r.manifest}`);
          return;
        }
        if (!o.dataset) throw new Error('--dataset is required (or --timeline N for planted-timeline videos)');
        if (o.cue !== 'whole' && o.cue !== 'localized') throw new Error('--cue is whole or localized');
        const n = o.clips.split(',').map((x) => Number(x.trim()));
        if (n.length !== 3 || n.some((x) => !Number.isInteger(x) || x < 0)) throw new Error('--clips wants three counts: train,valid,test');
        const clipsPerSplit: Record<SplitMode, number> = { train: n[0]!, valid: n[1]!, test: n[2]! };
        const durationSec = Number(o.duration);
        if (!(durationSec > 0)) throw new Error('--duration must be a positive number of seconds');
        const r = await generateSyntheticMmsa({ root: path.resolve(o.root), dataset: o.dataset, clipsPerSplit, seed: o.seed, durationSec, cue: o.cue });
        console.log(`${r.clips.length} clips → ${r.labelFile}`);
      },
    );
}
