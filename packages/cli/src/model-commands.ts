import type { Command } from 'commander';
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { DEFAULT_PULL_FILES, MODEL_DIR_KINDS, buildTinyPack, formatVerifyTable, pullModelRepo, verifyModelDir, type ModelDirKind } from '@omniaffect/models';
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
    .description('download a model repo from a Hugging Face-compatible endpoint (resumable, sha256-checked)')
    .argument('<repo>', 'e.g. onnx-community/whisper-large-v3-turbo')
    .requiredOption('--kind <kind>', MODEL_DIR_KINDS.join(' | '))
    .requiredOption('--out <dir>', 'destination directory (e.g. $MODEL_DIR/asr)')
    .option('--endpoint <url>', 'hub endpoint', process.env.HF_ENDPOINT ?? 'https://huggingface.co')
    .option('--revision <rev>', 'branch, tag or commit', 'main')
    .option('--files <list>', 'comma-separated files instead of the kind defaults')
    .action(async (repo: string, o: { kind: ModelDirKind; out: string; endpoint: string; revision: string; files?: string }) => {
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
        onProgress: (p) => process.stderr.write(`\r${p.state.padEnd(11)} ${p.file} ${(p.received / 1e6).toFixed(1)}${p.total ? `/${(p.total / 1e6).toFixed(1)}` : ''} MB   `),
      });
      process.stderr.write('\n');
      console.log(JSON.stringify(res, null, 2));
      const v = await verifyModelDir(o.kind, path.resolve(o.out));
      console.log(formatVerifyTable(v.rows));
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
