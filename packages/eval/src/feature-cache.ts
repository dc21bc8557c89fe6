import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { EncoderTensor } from '@omniaffect/core';
import type { MmsaSample } from './mmsa-dataset';
import type { MmsaDatasetName } from './sentiment-labels';

/** Where the analysed text came from: the dataset's own transcript, or the pipeline's ASR. */
export type TranscriptsMode = 'dataset' | 'asr';

/** One encoder output as the gateway's features endpoint returns it, decoded. */
export type CachedTensor = EncoderTensor;

/** What a cached entry was computed from; a different source makes the entry stale. */
export interface ClipSource {
  /** media file size and mtime, so a replaced video is analysed again */
  size: number;
  mtimeMs: number;
  /** the transcript sent with the clip ('' in asr mode) */
  transcript: string;
}

export interface CachedClip {
  /** dataset sample id (`video_id/clip_id`) */
  id: string;
  dataset: MmsaDatasetName;
  transcripts: TranscriptsMode;
  /** the label-file row, so training from the cache alone needs no dataset root */
  sample: MmsaSample;
  source: ClipSource;
  /** the gateway's video id */
  videoId: string;
  tensors: CachedTensor[];
  /** the served model's own output (sentiment, modality contributions…), kept for comparison */
  result?: unknown;
  /** submit → features fetched */
  wallMs: number;
  cachedAt: string;
}

export interface ClipFailure {
  id: string;
  reason: string;
  attempts: number;
  at: string;
}

interface StoredTensor extends Omit<CachedTensor, 'data'> {
  /** base64 of little-endian float32 */
  data: string;
}

interface StoredClip extends Omit<CachedClip, 'tensors'> {
  tensors: StoredTensor[];
}

export interface FeatureCacheManifest {
  format: 'omniaffect-feature-cache';
  version: 1;
  dataset: MmsaDatasetName;
  transcripts: TranscriptsMode;
  /** dataset root the cache was filled from (informational: entries are keyed by id, not path) */
  root?: string;
  createdAt: string;
}

const MANIFEST = 'cache.json';
const FAILURES = 'failures.json';

/** The file name of a clip: keyed by dataset, transcripts mode and id, since ids may hold any character but '/'. */
export function clipCacheKey(dataset: MmsaDatasetName, transcripts: TranscriptsMode, id: string): string {
  return createHash('sha256').update(`${dataset}\u0000${transcripts}\u0000${id}`).digest('hex').slice(0, 32);
}

/** Writes via a temporary file and a rename, so an interrupted run never leaves a half-written entry behind. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function encode(t: Float32Array): string {
  return Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('base64');
}

function decode(s: string): Float32Array {
  const buf = Buffer.from(s, 'base64');
  const out = new Float32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

/** Size and mtime of a media file plus the transcript sent with it. */
export function clipSource(mediaFile: string, transcript: string): ClipSource {
  const st = statSync(mediaFile);
  return { size: st.size, mtimeMs: Math.round(st.mtimeMs), transcript };
}

/**
 * A resumable on-disk store of the features the pipeline pushed for each clip of one dataset in one transcripts
 * mode: `<dir>/cache.json` (what the cache holds), `<dir>/clips/<key>.json` (one finished clip each) and
 * `<dir>/failures.json` (clips that failed last time, retried on the next run). A clip counts as finished only
 * once its entry is on disk, so a re-run after a crash skips exactly the clips that were done.
 */
export class FeatureCache {
  readonly manifest: FeatureCacheManifest;

  private constructor(
    readonly dir: string,
    manifest: FeatureCacheManifest,
  ) {
    this.manifest = manifest;
  }

  /** The cache directory of (dataset, transcripts) under `baseDir`. */
  static dirFor(baseDir: string, dataset: MmsaDatasetName, transcripts: TranscriptsMode): string {
    return path.join(baseDir, `${dataset}-${transcripts}`);
  }

  /** Opens (creating if needed) the cache of (dataset, transcripts) under `baseDir`. */
  static open(baseDir: string, dataset: MmsaDatasetName, transcripts: TranscriptsMode, root?: string): FeatureCache {
    const dir = FeatureCache.dirFor(baseDir, dataset, transcripts);
    if (existsSync(path.join(dir, MANIFEST))) {
      const c = FeatureCache.load(dir);
      if (c.manifest.dataset !== dataset || c.manifest.transcripts !== transcripts) {
        throw new Error(`${dir} holds ${c.manifest.dataset}/${c.manifest.transcripts} features, not ${dataset}/${transcripts}`);
      }
      return c;
    }
    mkdirSync(path.join(dir, 'clips'), { recursive: true });
    const manifest: FeatureCacheManifest = {
      format: 'omniaffect-feature-cache',
      version: 1,
      dataset,
      transcripts,
      ...(root ? { root: path.resolve(root) } : {}),
      createdAt: new Date().toISOString(),
    };
    writeAtomic(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    return new FeatureCache(dir, manifest);
  }

  /** Opens an existing cache directory (the one holding cache.json). */
  static load(dir: string): FeatureCache {
    const file = path.join(dir, MANIFEST);
    if (!existsSync(file)) throw new Error(`${dir} is not a feature cache (no ${MANIFEST})`);
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as FeatureCacheManifest;
    if (manifest.format !== 'omniaffect-feature-cache' || manifest.version !== 1) throw new Error(`${file}: unknown cache format`);
    mkdirSync(path.join(dir, 'clips'), { recursive: true });
    return new FeatureCache(dir, manifest);
  }

  /** Every cache directory at or below `dir` (depth ≤ 2): a cache itself, an eval run's output dir, or a parent of several. */
  static find(dir: string): FeatureCache[] {
    if (existsSync(path.join(dir, MANIFEST))) return [FeatureCache.load(dir)];
    const out: FeatureCache[] = [];
    const walk = (d: string, depth: number) => {
      if (!existsSync(d) || depth > 2) return;
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (!e.isDirectory()) continue;
        const sub = path.join(d, e.name);
        if (existsSync(path.join(sub, MANIFEST))) out.push(FeatureCache.load(sub));
        else walk(sub, depth + 1);
      }
    };
    walk(dir, 0);
    return out.sort((a, b) => a.dir.localeCompare(b.dir));
  }

  private fileOf(id: string): string {
    return path.join(this.dir, 'clips', `${clipCacheKey(this.manifest.dataset, this.manifest.transcripts, id)}.json`);
  }

  /** The finished entry of `id`; with `source`, only when it was computed from that same source. */
  get(id: string, source?: ClipSource): CachedClip | null {
    const file = this.fileOf(id);
    if (!existsSync(file)) return null;
    const stored = JSON.parse(readFileSync(file, 'utf8')) as StoredClip;
    if (stored.id !== id) return null;
    if (source && (stored.source.size !== source.size || stored.source.mtimeMs !== source.mtimeMs || stored.source.transcript !== source.transcript))
      return null;
    return { ...stored, tensors: stored.tensors.map((t) => ({ ...t, data: decode(t.data) })) };
  }

  has(id: string, source?: ClipSource): boolean {
    return this.get(id, source) !== null;
  }

  put(clip: Omit<CachedClip, 'dataset' | 'transcripts' | 'cachedAt'>): CachedClip {
    const full: CachedClip = { ...clip, dataset: this.manifest.dataset, transcripts: this.manifest.transcripts, cachedAt: new Date().toISOString() };
    const stored: StoredClip = { ...full, tensors: full.tensors.map((t) => ({ ...t, data: encode(t.data) })) };
    writeAtomic(this.fileOf(clip.id), JSON.stringify(stored));
    this.clearFailure(clip.id);
    return full;
  }

  private readAll(): StoredClip[] {
    const d = path.join(this.dir, 'clips');
    if (!existsSync(d)) return [];
    return readdirSync(d)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(path.join(d, f), 'utf8')) as StoredClip)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Ids of every finished clip, sorted. */
  ids(): string[] {
    return this.readAll().map((c) => c.id);
  }

  /** Every finished clip, decoded, in id order (so training sees the same order whatever order clips finished in). */
  all(): CachedClip[] {
    return this.readAll().map((c) => ({ ...c, tensors: c.tensors.map((t) => ({ ...t, data: decode(t.data) })) }));
  }

  failures(): ClipFailure[] {
    const f = path.join(this.dir, FAILURES);
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as ClipFailure[]) : [];
  }

  recordFailure(id: string, reason: string): ClipFailure {
    const list = this.failures();
    const prev = list.find((x) => x.id === id);
    const entry: ClipFailure = { id, reason, attempts: (prev?.attempts ?? 0) + 1, at: new Date().toISOString() };
    writeAtomic(path.join(this.dir, FAILURES), `${JSON.stringify([...list.filter((x) => x.id !== id), entry], null, 2)}\n`);
    return entry;
  }

  clearFailure(id: string): void {
    const list = this.failures();
    if (!list.some((x) => x.id === id)) return;
    writeAtomic(
      path.join(this.dir, FAILURES),
      `${JSON.stringify(
        list.filter((x) => x.id !== id),
        null,
        2,
      )}\n`,
    );
  }

  /** Drops one entry (e.g. to force a clip through the pipeline again). */
  remove(id: string): void {
    rmSync(this.fileOf(id), { force: true });
  }
}
