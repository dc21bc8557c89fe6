import type { Command } from 'commander';
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import {
  DEFAULT_PULL_FILES,
  MODEL_DIR_KINDS,
  PACKS,
  adaptAudioEmotionDir,
  adaptTextDir,
  buildTinyPack,
  formatPackPlan,
  formatVerifyTable,
  pullModelRepo,
  pullPack,
  verifyModelDir,
  type ModelDirKind,
} from '@omniaffect/models';
import { stateDir } from './local-env';

/** Model directory of each worker under MODEL_DIR, as the services resolve it (env overrides first). */
export function configuredModelDirs(env = process.env): { kind: ModelDirKind; label: string; dir: string }[] {
  const root = path.resolve(env.MODEL_DIR ?? path.join(stateDir(), 'models', 'tiny'));
  return [
    { kind: 'asr', label: 'asr', dir: env.ASR_MODEL_DIR ?? path.join(root, 'asr') },
    { kind: 'audio-emotion', label: 'audio-emotion', dir: env.AUDIO_EMOTION_MODEL_DIR ?? path.join(root, 'audio-emotion') },
    { kind: 'vision', label: 'vision', dir: env.VISION_MODEL_DIR ?? path.join(root, 'vision') },
    { kind: 'text', label: 'text (en)', dir: env.TEXT_MODEL_DIR_EN ?? path.join(root, 'text-en') },
    { kind: 'text', label: 'text (zh)', dir: env.TEXT_MODEL_DIR_ZH ?? path.join(root, 'text-zh') },
    { kind: 'fusion', label: 'fusion', dir: env.FUSION_MODEL_DIR ?? path.join(root, 'fusion') },
  ];
}

export function registerModelCommands(program: Command): void {
  const models = program.command('models').description('model directories: list, verify, pull, tiny');
  models
    .command('list')
    .description('what each worker would load from MODEL_DIR, with the contract check result')
    .action(async () => {
      let bad = 0;
      for (const m of configuredModelDirs()) {
        if (!existsSync(m.dir)) {
          console.log(`${m.label.padEnd(14)} MISSING  ${m.dir}`);
          if (m.label !== 'text (zh)' && m.label !== 'text (en)') bad++;
          continue;
        }
        const r = await verifyModelDir(m.kind, m.dir, { provider: process.env.EXECUTION_PROVIDER });
        const why = r.rows.filter((x) => !x.ok).map((x) => `${x.file} ${x.tensor}: ${x.reason}`)[0] ?? '';
        console.log(`${m.label.padEnd(14)} ${r.ok ? 'OK      ' : 'MISMATCH'} ${m.dir}${why ? `\n${' '.repeat(24)}${why}` : ''}`);
        if (!r.ok) bad++;
      }
      process.exitCode = bad ? 1 : 0;
    });
  models
    .command('verify')
    .description('open every ONNX file the worker would load and check it against the contract')
    .argument('<kind>', MODEL_DIR_KINDS.join(' | '))
    .argument('<dir>')
    .action(async (kind: string, dir: string) => {
      if (!(MODEL_DIR_KINDS as readonly string[]).includes(kind)) throw new Error(`kind must be one of ${MODEL_DIR_KINDS.join(', ')}`);
      const r = await verifyModelDir(kind as ModelDirKind, path.resolve(dir), { provider: process.env.EXECUTION_PROVIDER });
      console.log(formatVerifyTable(r.rows));
      console.log(r.ok ? `\n${kind}: contract OK` : `\n${kind}: contract MISMATCH`);
      process.exitCode = r.ok ? 0 : 1;
    });
  models
    .command('pull')
    .description('download a model repo, or a whole pack (--pack standard), from a Hugging Face-compatible endpoint (resumable, sha256-checked)')
    .argument('[repo]', 'e.g. onnx-community/whisper-large-v3-turbo (omit with --pack)')
    .option('--pack <name>', `a complete MODEL_DIR: ${Object.keys(PACKS).join(', ')}`)
    .option('--kind <kind>', MODEL_DIR_KINDS.join(' | '))
    .requiredOption('--out <dir>', 'destination directory (a pack: MODEL_DIR; one repo: e.g. $MODEL_DIR/asr)')
    .option('--endpoint <url>', 'hub endpoint', process.env.HF_ENDPOINT ?? 'https://huggingface.co')
    .option('--revision <rev>', 'branch, tag or commit (one repo)', 'main')
    .option('--files <list>', 'comma-separated files instead of the kind defaults (one repo)')
    .option('--dtype <dtype>', 'pack graph variant: fp32 | fp16 | q8 | int8 | uint8 | q4 | q4f16 | bnb4 (fp32 where a repo has none)', 'fp32')
    .option('--only <dirs>', 'pack: comma-separated subset, e.g. asr,vision')
    .option('--unpinned', 'pack: pull main instead of the pinned revisions (the commits are recorded in pack.json)')
    .option('--dry-run', 'pack: list every kind with repository, revision, files and sizes through the hub API; download nothing')
    .action(
      async (
        repo: string | undefined,
        o: {
          pack?: string;
          kind?: ModelDirKind;
          out: string;
          endpoint: string;
          revision: string;
          files?: string;
          dtype: string;
          only?: string;
          unpinned?: boolean;
          dryRun?: boolean;
        },
      ) => {
        if (o.pack) {
          const pack = PACKS[o.pack];
          if (!pack) throw new Error(`unknown pack ${o.pack}; known: ${Object.keys(PACKS).join(', ')}`);
          if (repo) throw new Error('pass either a repository or --pack, not both');
          const res = await pullPack({
            pack,
            outDir: path.resolve(o.out),
            endpoint: o.endpoint,
            dtype: o.dtype,
            token: process.env.HF_TOKEN,
            dryRun: o.dryRun,
            unpinned: o.unpinned,
            only: o.only?.split(',').map((d) => d.trim()),
            provider: process.env.EXECUTION_PROVIDER,
            onProgress: (dir, p) =>
              process.stderr.write(
                `\r${dir.padEnd(14)} ${p.state.padEnd(11)} ${p.file} ${(p.received / 1e6).toFixed(1)}${p.total ? `/${(p.total / 1e6).toFixed(1)}` : ''} MB   `,
              ),
          });
          if (!o.dryRun) process.stderr.write('\n');
          console.log(formatPackPlan(res));
          if (o.dryRun) return;
          for (const m of res.models) {
            console.log(
              `\n${m.plan.model.dir}: contract ${m.verify!.ok ? 'OK' : 'MISMATCH'}${m.adapt?.report.changed ? ` (adapted: ${m.adapt.report.note})` : ''}`,
            );
            if (!m.verify!.ok) console.log(formatVerifyTable(m.verify!.rows));
          }
          console.log(`\nnext: omniaffect train --zero-shot --model-dir ${path.resolve(o.out)}   (a fusion/ for these encoders, no dataset needed)`);
          process.exitCode = res.ok ? 0 : 1;
          return;
        }
        if (!repo) throw new Error('name a repository, or pass --pack standard');
        if (!o.kind) throw new Error('--kind is required with a repository');
        const files = o.files ? o.files.split(',').map((f) => f.trim()) : DEFAULT_PULL_FILES[o.kind];
        if (!files) throw new Error(`unknown kind ${o.kind}`);
        const res = await pullModelRepo({
          endpoint: o.endpoint,
          repo,
          revision: o.revision,
          files,
          destDir: path.resolve(o.out),
          token: process.env.HF_TOKEN,
          skipMissing: !o.files,
          onProgress: (p) =>
            process.stderr.write(`\r${p.state.padEnd(11)} ${p.file} ${(p.received / 1e6).toFixed(1)}${p.total ? `/${(p.total / 1e6).toFixed(1)}` : ''} MB   `),
        });
        process.stderr.write('\n');
        console.log(JSON.stringify(res, null, 2));
        const v = await verifyModelDir(o.kind, path.resolve(o.out));
        console.log(formatVerifyTable(v.rows));
        if (!v.ok && v.rows.some((r) => /fill-mask/.test(r.reason)))
          console.log(`\nthis is a fill-mask export: omniaffect models adapt text ${path.resolve(o.out)}`);
        process.exitCode = v.ok ? 0 : 1;
      },
    );
  models
    .command('adapt')
    .description(
      'graph surgery to the worker contract: text = fill-mask BERT → last_hidden_state; audio-emotion = rename I/O / expose frames of an end-to-end graph',
    )
    .argument('<kind>', 'text | audio-emotion')
    .argument('<dir>')
    .option('--dtype <dtype>', 'text: which variant, onnx/model{_suffix}.onnx', 'fp32')
    .option('--tensor <name>', 'text: the encoder output to expose, when the head cannot be found by structure')
    .action(async (kind: string, dir: string, o: { dtype: string; tensor?: string }) => {
      const abs = path.resolve(dir);
      let r;
      if (kind === 'text') r = adaptTextDir(abs, { dtype: o.dtype, tensor: o.tensor });
      else if (kind === 'audio-emotion') r = adaptAudioEmotionDir(abs);
      else throw new Error(`adapt applies to text and audio-emotion, not ${kind}`);
      console.log(`${kind}: ${r.report.changed ? r.report.note : r.report.note + ' (nothing to do)'}; original kept in ${path.relative(abs, r.source)}`);
      const v = await verifyModelDir(kind, abs, { provider: process.env.EXECUTION_PROVIDER });
      console.log(formatVerifyTable(v.rows));
      console.log(v.ok ? `\n${kind}: contract OK` : `\n${kind}: contract MISMATCH`);
      process.exitCode = v.ok ? 0 : 1;
    });
  models
    .command('tiny')
    .description('generate the tiny deterministic model pack (same tensor contracts as the real exports)')
    .option('--out <dir>', 'destination', path.join(stateDir(), 'models', 'tiny'))
    .action((o: { out: string }) => {
      const d = buildTinyPack(path.resolve(o.out));
      console.log(`tiny pack v${d.version} written to ${path.resolve(o.out)} (${Object.keys(d.dirs).join(', ')})`);
    });
}
