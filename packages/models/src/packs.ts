/**
 * Model packs: one command assembles a complete MODEL_DIR (`models pull --pack standard --out DIR`).
 *
 * The manifest pins each repository's revision and says which files each kind needs, by rule rather
 * than by byte count: exports get re-uploaded, so the concrete names, sizes and sha256 come from the
 * hub listing at pull time (`/api/models/{repo}/revision/{rev}?blobs=true`), and `--dry-run` prints
 * exactly that listing's view. Sizes in the manifest are the hub pages' rounded figures, for the
 * docs and for planning before a listing is available; docs/models.md says which were verified.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adaptAudioEmotionDir, adaptTextDir, ADAPT_SOURCE_DIR, type AdaptDirResult } from './adapt';
import type { ModelDirKind } from './contracts';
import { listModelRepo, pullModelRepo, type HubSibling, type PullProgress, type PullResult } from './pull';
import { DTYPE_SUFFIX } from './runners/model-files';
import { verifyModelDir, type VerifyResult } from './verify';
import { STAND_IN_PACK_FILE, TINY_PACK_FILE } from '@omniaffect/core';

export interface PackFileRule {
  /** path in the repository; `{dtype}` is replaced by the dtype suffix (`_fp16`, `_quantized`, …) */
  path: string;
  /** where it goes in the model directory (default: the same path) */
  as?: string;
  /** absent from the listing is fine */
  optional?: boolean;
  /** also take the external-data files the hub lists beside it (`<file>_data`, `<file>_data_1`, `<file>.data`) */
  externalData?: boolean;
}

export interface PackModel {
  /** subdirectory of the pack's output, as the services resolve MODEL_DIR/<dir> */
  dir: string;
  kind: ModelDirKind;
  role: string;
  repo: string;
  /** a commit sha where one was seen on the hub; `main` where none could be verified */
  revision: string;
  licence: string;
  /** graph variants the repository publishes (transformers.js dtype names) */
  dtypes: string[];
  files: PackFileRule[];
  /** graph surgery run after the pull (see adapt.ts) */
  adapt?: 'text' | 'audio-emotion';
  /** hub page figures for the fp32 files, in bytes (rounded; for planning and docs only) */
  approxBytes: number;
  /** what could not be checked without a network */
  unverified: string[];
}

export interface ModelPack {
  name: string;
  description: string;
  models: PackModel[];
}

const MB = 1e6;
const GB = 1e9;

/** The standard pack: real public exports for every worker; fusion is built by `train --zero-shot`. */
export const STANDARD_PACK: ModelPack = {
  name: 'standard',
  description:
    'Whisper large-v3-turbo, emotion2vec+ base, SigLIP base-patch16-224 (vision + text towers), bert-base-uncased (en), bert-base-multilingual-cased (zh)',
  models: [
    {
      dir: 'asr',
      kind: 'asr',
      role: 'speech recognition and language id',
      repo: 'onnx-community/whisper-large-v3-turbo',
      revision: '81232ca729d1cd94dfe2b452484c3c71416420ab',
      licence: 'MIT (openai/whisper-large-v3-turbo)',
      dtypes: ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'],
      files: [
        { path: 'onnx/encoder_model{dtype}.onnx', externalData: true },
        { path: 'onnx/decoder_model_merged{dtype}.onnx', externalData: true },
        { path: 'config.json' },
        { path: 'generation_config.json' },
        { path: 'preprocessor_config.json' },
        { path: 'tokenizer.json' },
        { path: 'tokenizer_config.json', optional: true },
      ],
      approxBytes: 2.5 * GB + 688 * MB + 3 * MB,
      unverified: [
        'the fp32 encoder sidecar name and size (onnx/encoder_model.onnx_data, ~2.5 GB): taken from the listing at pull time',
        'sha256 of every file (the listing supplies them at pull time; only onnx/encoder_model_fp16.onnx = fdadc70836e6b028fd5e580417c312208dad073d2d01e509e2d127c1373399d8, 1.27 GB, was read from a hub page)',
        'that revision 81232ca still holds every file named here (seen as the latest commit on the hub pages, not listed)',
      ],
    },
    {
      dir: 'audio-emotion',
      kind: 'audio-emotion',
      role: 'speech emotion (frame features + 9-class head)',
      repo: 'pankotaro/emotion2vec-plus-base-onnx',
      revision: 'main',
      licence: 'FunASR Model Open Source License 1.1 (emotion2vec/emotion2vec_plus_base); attribution required',
      dtypes: ['fp32'],
      files: [
        { path: 'emotion2vec_plus_base.onnx', as: `${ADAPT_SOURCE_DIR}/emotion2vec_plus_base.onnx`, externalData: true },
        { path: 'emotion2vec_head.json', as: `${ADAPT_SOURCE_DIR}/emotion2vec_head.json` },
      ],
      adapt: 'audio-emotion',
      approxBytes: 370 * MB,
      unverified: [
        'no revision could be pinned (the repository page was read, not its history): pulls main',
        'tensor names of emotion2vec_plus_base.onnx (the card says "(1, N) → per-frame 768"); adapt renames them to input/output',
        'file sizes and sha256 (the listing supplies them at pull time)',
      ],
    },
    {
      dir: 'vision',
      kind: 'vision',
      role: 'frame embeddings; the text tower scores emotion prompts for zero-shot fusion',
      repo: 'Xenova/siglip-base-patch16-224',
      revision: '294847d6b5fe86c91330269da98ce112d6c75e7e',
      licence: 'Apache-2.0 (google/siglip-base-patch16-224)',
      dtypes: ['fp32', 'fp16', 'q8'],
      files: [
        { path: 'onnx/vision_model{dtype}.onnx' },
        { path: 'onnx/text_model{dtype}.onnx' },
        { path: 'config.json' },
        { path: 'preprocessor_config.json' },
        { path: 'tokenizer.json' },
        { path: 'tokenizer_config.json', optional: true },
        { path: 'special_tokens_map.json', optional: true },
      ],
      approxBytes: 372 * MB + 441 * MB + 2.4 * MB,
      unverified: [
        'sha256 of every file (supplied by the listing at pull time)',
        'logit_scale / logit_bias live only in onnx/model.onnx (813 MB), which the pack does not pull',
      ],
    },
    {
      dir: 'text-en',
      kind: 'text',
      role: 'English text encoder',
      repo: 'Xenova/bert-base-uncased',
      revision: '477d06c04d52c881d9bf54e95d2977e506684eac',
      licence: 'Apache-2.0 (google-bert/bert-base-uncased)',
      dtypes: ['fp32', 'fp16', 'q8'],
      files: [
        { path: 'onnx/model{dtype}.onnx', as: `${ADAPT_SOURCE_DIR}/model{dtype}.onnx` },
        { path: 'tokenizer.json' },
        { path: 'tokenizer_config.json', optional: true },
        { path: 'vocab.txt', optional: true },
        { path: 'config.json' },
      ],
      adapt: 'text',
      approxBytes: 438 * MB + 1 * MB,
      unverified: ['that onnx/model.onnx is the fill-mask graph (config says BertForMaskedLM; adapt detects either way)', 'sha256 of every file'],
    },
    {
      dir: 'text-zh',
      kind: 'text',
      role: 'Chinese (and, for cross-lingual training, both languages) text encoder',
      repo: 'Xenova/bert-base-multilingual-cased',
      revision: '360d6181c7b061f41f580e02112fbfb5081704a2',
      licence: 'Apache-2.0 (google-bert/bert-base-multilingual-cased)',
      dtypes: ['fp32', 'q8'],
      files: [
        { path: 'onnx/model{dtype}.onnx', as: `${ADAPT_SOURCE_DIR}/model{dtype}.onnx` },
        { path: 'tokenizer.json' },
        { path: 'tokenizer_config.json', optional: true },
        { path: 'vocab.txt', optional: true },
        { path: 'config.json' },
      ],
      adapt: 'text',
      approxBytes: 1.08 * GB + 3 * MB,
      unverified: ['the revision was read from the onnx/ folder page (1 commit there); root files at that commit were not listed', 'sha256 of every file'],
    },
  ],
};

export const PACKS: Record<string, ModelPack> = { standard: STANDARD_PACK };

export interface PlannedFile {
  /** repository path */
  path: string;
  /** model-directory path */
  dest: string;
  size?: number;
  sha256?: string;
}

export interface PlannedModel {
  model: PackModel;
  dtype: string;
  /** why the requested dtype was not used for this model */
  dtypeNote?: string;
  revision: string;
  /** commit the revision resolved to, from the listing */
  resolvedSha?: string;
  files: PlannedFile[];
  missingOptional: string[];
  bytes: number;
}

function expand(rule: PackFileRule, suffix: string): { path: string; dest: string } {
  const path = rule.path.replace('{dtype}', suffix);
  return { path, dest: (rule.as ?? rule.path).replace('{dtype}', suffix) };
}

/** Files of one pack model for a listing: rules expanded for the dtype, external-data sidecars added. */
export function planPackModel(model: PackModel, requested: string, listing: HubSibling[], revision: string, resolvedSha?: string): PlannedModel {
  const known = DTYPE_SUFFIX[requested];
  if (known === undefined) throw new Error(`unknown dtype ${requested}; known: ${Object.keys(DTYPE_SUFFIX).join(', ')}`);
  const dtype = model.dtypes.includes(requested) ? requested : 'fp32';
  const dtypeNote = dtype === requested ? undefined : `${model.repo} publishes no ${requested} variant (it has ${model.dtypes.join(', ')}); using fp32`;
  const suffix = DTYPE_SUFFIX[dtype]!;
  const byName = new Map(listing.map((s) => [s.rfilename, s]));
  const files: PlannedFile[] = [];
  const missing: string[] = [];
  const missingOptional: string[] = [];
  const add = (path: string, dest: string) => {
    const s = byName.get(path)!;
    const sha = (s.lfs?.sha256 ?? s.lfs?.oid)?.toLowerCase();
    files.push({ path, dest, size: s.lfs?.size ?? s.size, sha256: sha && /^[0-9a-f]{64}$/.test(sha) ? sha : undefined });
  };
  for (const rule of model.files) {
    const { path, dest } = expand(rule, suffix);
    if (!byName.has(path)) {
      (rule.optional ? missingOptional : missing).push(path);
      continue;
    }
    add(path, dest);
    if (rule.externalData) {
      // ORT resolves sidecars relative to the graph, so they keep their names beside its destination.
      const destDir = dest.slice(0, dest.length - path.length);
      for (const s of listing) {
        const f = s.rfilename;
        if (f !== path && (f === `${path}_data` || f.startsWith(`${path}_data_`) || f === `${path}.data`)) add(f, `${destDir}${f}`);
      }
    }
  }
  if (missing.length) {
    throw new Error(`${model.repo}@${revision} lists no ${missing.join(', ')} (needed for ${model.dir}, dtype ${dtype}); it lists ${listing.length} files`);
  }
  return { model, dtype, dtypeNote, revision, resolvedSha, files, missingOptional, bytes: files.reduce((a, f) => a + (f.size ?? 0), 0) };
}

export interface PullPackOptions {
  pack: ModelPack;
  outDir: string;
  endpoint: string;
  dtype?: string;
  token?: string;
  /** list and plan only */
  dryRun?: boolean;
  /** pull `main` instead of the pinned revisions (the resolved commits are recorded in pack.json) */
  unpinned?: boolean;
  /** only these pack directories (e.g. ['asr']) */
  only?: string[];
  retries?: number;
  fetchImpl?: typeof fetch;
  onProgress?: (dir: string, p: PullProgress) => void;
  onPlanned?: (plan: PlannedModel) => void;
  /** contract check options */
  provider?: string;
}

export interface PackModelResult {
  plan: PlannedModel;
  pull?: PullResult;
  adapt?: AdaptDirResult;
  verify?: VerifyResult;
}

export interface PullPackResult {
  pack: string;
  outDir: string;
  dryRun: boolean;
  models: PackModelResult[];
  bytes: number;
  ok: boolean;
}

/** `PACK_RECORD` in the output says which pack, revisions and dtype produced the directory. */
export const PACK_RECORD = 'pack.json';

/**
 * Lists every repository first (so a dry run, or a pull that would fail on a missing file, fails before
 * downloading gigabytes), then pulls, adapts and contract-checks each directory in turn.
 */
export async function pullPack(o: PullPackOptions): Promise<PullPackResult> {
  const models = o.pack.models.filter((m) => !o.only || o.only.includes(m.dir));
  if (o.only) {
    const unknown = o.only.filter((d) => !o.pack.models.some((m) => m.dir === d));
    if (unknown.length) throw new Error(`pack ${o.pack.name} has no ${unknown.join(', ')}; it has ${o.pack.models.map((m) => m.dir).join(', ')}`);
  }
  const plans: { plan: PlannedModel; listing: HubSibling[] }[] = [];
  for (const model of models) {
    const revision = o.unpinned ? 'main' : model.revision;
    const listing = await listModelRepo({ endpoint: o.endpoint, repo: model.repo, token: o.token, fetchImpl: o.fetchImpl }, revision);
    const plan = planPackModel(model, o.dtype ?? 'fp32', listing.siblings, revision, listing.sha);
    o.onPlanned?.(plan);
    plans.push({ plan, listing: listing.siblings });
  }
  const results: PackModelResult[] = plans.map(({ plan }) => ({ plan }));
  const bytes = plans.reduce((a, p) => a + p.plan.bytes, 0);
  if (o.dryRun) return { pack: o.pack.name, outDir: o.outDir, dryRun: true, models: results, bytes, ok: true };

  for (const [i, { plan, listing }] of plans.entries()) {
    const dir = join(o.outDir, plan.model.dir);
    const rename = Object.fromEntries(plan.files.filter((f) => f.dest !== f.path).map((f) => [f.path, f.dest]));
    results[i]!.pull = await pullModelRepo({
      endpoint: o.endpoint,
      repo: plan.model.repo,
      revision: plan.revision,
      files: plan.files.map((f) => f.path),
      destDir: dir,
      token: o.token,
      listing,
      rename,
      retries: o.retries,
      fetchImpl: o.fetchImpl,
      onProgress: (p) => o.onProgress?.(plan.model.dir, p),
    });
    // The runners (resolveOnnxGraph) and verify read the variant from here; it also overrides a
    // transformers.js_config default in config.json that may name a variant we did not pull.
    writeFileSync(join(dir, 'omniaffect.json'), `${JSON.stringify({ dtype: plan.dtype }, null, 2)}\n`);
    if (plan.model.adapt === 'text') results[i]!.adapt = adaptTextDir(dir, { dtype: plan.dtype });
    else if (plan.model.adapt === 'audio-emotion') results[i]!.adapt = adaptAudioEmotionDir(dir);
    results[i]!.verify = await verifyModelDir(plan.model.kind, dir, { provider: o.provider });
  }
  const record = {
    pack: o.pack.name,
    dtype: o.dtype ?? 'fp32',
    pulledAt: new Date().toISOString(),
    endpoint: o.endpoint,
    models: results.map((r) => ({
      dir: r.plan.model.dir,
      kind: r.plan.model.kind,
      repo: r.plan.model.repo,
      revision: r.plan.revision,
      resolvedSha: r.plan.resolvedSha ?? null,
      dtype: r.plan.dtype,
      licence: r.plan.model.licence,
      files: r.plan.files.map((f) => ({
        path: f.path,
        dest: f.dest,
        size: f.size ?? null,
        sha256: r.pull?.files.find((p) => p.path === f.dest)?.sha256 ?? null,
      })),
      adapted: r.adapt?.report.changed ? r.adapt.report.note : null,
      contract: r.verify?.ok ? 'ok' : 'mismatch',
    })),
  };
  writeFileSync(join(o.outDir, PACK_RECORD), `${JSON.stringify(record, null, 2)}\n`);
  return { pack: o.pack.name, outDir: o.outDir, dryRun: false, models: results, bytes, ok: results.every((r) => r.verify?.ok) };
}

/**
 * True when a model directory tree holds generated stand-ins rather than real encoders: the tiny pack
 * (tiny-pack.json at the root) or the real-dimension stand-ins (stand-in-pack.json, see tiny/stand-in.ts).
 */
export function isTinyPackDir(modelDir: string): boolean {
  return existsSync(join(modelDir, TINY_PACK_FILE)) || existsSync(join(modelDir, STAND_IN_PACK_FILE));
}

function human(bytes: number): string {
  return bytes >= GB ? `${(bytes / GB).toFixed(2)} GB` : bytes >= MB ? `${(bytes / MB).toFixed(1)} MB` : `${bytes} B`;
}

/** The dry-run table: every kind with repository, revision, files and sizes, and the total. */
export function formatPackPlan(result: PullPackResult): string {
  const lines: string[] = [];
  for (const { plan } of result.models) {
    const m = plan.model;
    lines.push(
      `${m.dir} (${m.kind}): ${m.repo}@${plan.revision}${plan.resolvedSha && plan.resolvedSha !== plan.revision ? ` → ${plan.resolvedSha}` : ''}  dtype ${plan.dtype}  ${human(plan.bytes)}  licence: ${m.licence}`,
    );
    if (plan.dtypeNote) lines.push(`  note: ${plan.dtypeNote}`);
    for (const f of plan.files)
      lines.push(
        `  ${f.path}${f.dest !== f.path ? ` → ${f.dest}` : ''}  ${f.size !== undefined ? human(f.size) : 'size ?'}  ${f.sha256 ? `sha256 ${f.sha256.slice(0, 12)}…` : 'no sha256 in listing (recorded on download)'}`,
      );
    if (plan.missingOptional.length) lines.push(`  (optional, not listed: ${plan.missingOptional.join(', ')})`);
    if (m.adapt) lines.push(`  then: models adapt ${m.adapt} (see docs/models.md)`);
  }
  lines.push(`total ${human(result.bytes)} in ${result.models.reduce((a, r) => a + r.plan.files.length, 0)} files`);
  return lines.join('\n');
}
