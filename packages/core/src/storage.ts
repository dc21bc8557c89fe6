import { randomUUID } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';

/**
 * The artifact store: a directory tree on a volume every service mounts (a shared PVC in Kubernetes).
 * Layout per video: videos/<id>/source, audio.wav, frames/000001.jpg, <stage>.json. Writes are
 * atomic (temp file + rename) so a crash never leaves a half-written artifact under its real name.
 */
export class ArtifactStore {
  readonly root: string;
  constructor(root: string) {
    this.root = path.resolve(root);
  }

  videoDir(videoId: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(videoId)) throw new Error(`invalid video id ${JSON.stringify(videoId)}`);
    return path.join(this.root, 'videos', videoId);
  }

  /** Relative path (stored in jobs and rows) → absolute path, refusing anything that escapes the root. */
  resolve(rel: string): string {
    const abs = path.resolve(this.root, rel);
    if (abs !== this.root && !abs.startsWith(this.root + path.sep)) throw new Error(`path escapes artifact store: ${rel}`);
    return abs;
  }

  relative(abs: string): string {
    return path.relative(this.root, abs);
  }

  async writeStream(rel: string, source: Readable, limitBytes?: number): Promise<number> {
    const abs = this.resolve(rel);
    await fs.mkdir(path.dirname(abs), { recursive: true });
    const tmp = `${abs}.part-${randomUUID()}`;
    let bytes = 0;
    source.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (limitBytes !== undefined && bytes > limitBytes) source.destroy(new SizeLimitError(limitBytes));
    });
    try {
      await pipeline(source, createWriteStream(tmp));
      await fs.rename(tmp, abs);
      return bytes;
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }

  async writeJson(rel: string, value: unknown): Promise<void> {
    await this.writeFile(rel, JSON.stringify(value));
  }

  /**
   * Writes `value` at `rel` only if nothing is there yet, atomically (link(2) fails with EEXIST):
   * true = this call created it, false = another writer got there first and its file stands.
   */
  async createJsonExclusive(rel: string, value: unknown): Promise<boolean> {
    const abs = this.resolve(rel);
    await fs.mkdir(path.dirname(abs), { recursive: true });
    const json = JSON.stringify(value);
    const tmp = `${abs}.tmp-${randomUUID()}`;
    await fs.writeFile(tmp, json);
    try {
      await fs.link(tmp, abs);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
      // Volumes without hard links (SMB shares, some FUSE mounts): O_EXCL create is exclusive too,
      // only not atomic for readers, who retry on a half-written file.
      try {
        await fs.writeFile(abs, json, { flag: 'wx' });
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async writeFile(rel: string, data: string | Buffer): Promise<void> {
    const abs = this.resolve(rel);
    await fs.mkdir(path.dirname(abs), { recursive: true });
    const tmp = `${abs}.tmp-${randomUUID()}`;
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, abs);
  }

  async readJson<T>(rel: string): Promise<T> {
    return JSON.parse(await fs.readFile(this.resolve(rel), 'utf8')) as T;
  }

  async exists(rel: string): Promise<boolean> {
    return fs.access(this.resolve(rel)).then(
      () => true,
      () => false,
    );
  }

  /** Raw media only (source, audio, frames): what the retention policy erases; results stay. */
  async removeMedia(videoId: string): Promise<void> {
    const dir = this.videoDir(videoId);
    // `<name>.tmp-<uuid>` / `.part-<uuid>` is what a run killed mid-write leaves behind (writeFile,
    // writeStream — an interrupted upload or download —, the media stage)
    const entries = await fs.readdir(dir).catch(() => [] as string[]);
    const media = entries.filter((f) => /^(source|audio\.wav|frames)(\.(tmp|part)-[0-9a-f-]+)?$/.test(f));
    await Promise.all(media.map((f) => fs.rm(path.join(dir, f), { recursive: true, force: true })));
  }

  async removeVideo(videoId: string): Promise<void> {
    await fs.rm(this.videoDir(videoId), { recursive: true, force: true });
  }

  /** Names under videos/ that can be video directories (anything else is not ours to judge). */
  async listVideoDirs(): Promise<string[]> {
    const dir = path.join(this.root, 'videos');
    const handle = await fs.opendir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (!handle) return [];
    const out: string[] = [];
    // opendir streams the directory: a store with many videos is never read into one array of Dirents
    for await (const e of handle) if (e.isDirectory() && VIDEO_DIR_NAME.test(e.name)) out.push(e.name);
    return out;
  }

  /**
   * Newest modification time (ms) of the video's directory and of everything directly in it and in
   * frames/: a file still being written (an upload's .part, ffmpeg's frames) keeps this fresh, so a
   * directory is only ever judged abandoned once nothing has touched it for a while. null = no directory.
   */
  async lastActivity(videoId: string): Promise<number | null> {
    const dir = this.videoDir(videoId);
    const top = await fs.stat(dir).catch(() => null);
    if (!top) return null;
    let newest = top.mtimeMs;
    for (const sub of [dir, path.join(dir, 'frames')]) {
      const names = await fs.readdir(sub).catch(() => [] as string[]);
      for (const n of names) {
        const st = await fs.lstat(path.join(sub, n)).catch(() => null);
        if (st && st.mtimeMs > newest) newest = st.mtimeMs;
      }
    }
    return newest;
  }

  /**
   * Removes what interrupted writes left in a video's directory (`<name>.tmp-<uuid>`, `.part-<uuid>`:
   * a killed upload, download or stage) once older than `olderThanMs`; younger ones may be live writes.
   */
  async removeStaleTemps(videoId: string, olderThanMs: number): Promise<number> {
    const dir = this.videoDir(videoId);
    let removed = 0;
    for (const sub of [dir, path.join(dir, 'frames')]) {
      const names = await fs.readdir(sub).catch(() => [] as string[]);
      for (const n of names) {
        if (!TEMP_NAME.test(n)) continue;
        const abs = path.join(sub, n);
        const st = await fs.lstat(abs).catch(() => null);
        if (!st || Date.now() - st.mtimeMs < olderThanMs) continue;
        await fs.rm(abs, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }
}

const VIDEO_DIR_NAME = /^[A-Za-z0-9_-]+$/;
/** The suffixes writeFile/createJsonExclusive (`.tmp-`) and writeStream (`.part-`) write under. */
const TEMP_NAME = /\.(tmp|part)-[0-9a-f-]{36}$/;

export class SizeLimitError extends Error {
  constructor(readonly limitBytes: number) {
    super(`more than ${limitBytes} bytes`);
    this.name = 'SizeLimitError';
  }
}

/** Relative artifact paths, in one place so producer and consumer agree. */
export const artifactPaths = {
  source: (id: string) => `videos/${id}/source`,
  audio: (id: string) => `videos/${id}/audio.wav`,
  framesDir: (id: string) => `videos/${id}/frames`,
  frame: (id: string, n: number) => `videos/${id}/frames/${String(n).padStart(6, '0')}.jpg`,
  stageOutput: (id: string, stage: string) => `videos/${id}/${stage}.json`,
  providedTranscript: (id: string) => `videos/${id}/provided-transcript.json`,
};
