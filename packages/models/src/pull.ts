/**
 * Downloads model files from a Hugging Face–compatible hub (`models pull`): listing from
 * `{endpoint}/api/models/{repo}/revision/{rev}`, files from `{endpoint}/{repo}/resolve/{rev}/{path}`.
 * Partial downloads resume with HTTP Range into `<file>.part`; each file is checked against the sha256
 * the hub publishes (LFS info in the listing, or a sha256 ETag) before an atomic rename, and every
 * pulled file's sha256 is recorded in `checksums.sha256` (sha256sum format) and re-verified later.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';

export const CHECKSUM_MANIFEST = 'checksums.sha256';

export interface PullProgress {
  file: string;
  /** bytes on disk for this file so far (including a resumed prefix) */
  received: number;
  total?: number;
  state: 'cached' | 'downloading' | 'resumed' | 'done';
}

export interface PullOptions {
  endpoint: string;
  repo: string;
  revision?: string;
  files: string[] | 'all';
  destDir: string;
  token?: string;
  onProgress?: (p: PullProgress) => void;
  /** requested files absent from the listing are skipped instead of failing the pull */
  skipMissing?: boolean;
  /** extra attempts per file after a dropped connection, each resuming from the .part (default 2) */
  retries?: number;
  fetchImpl?: typeof fetch;
  /** a listing already fetched for this repo@revision (packs list once to plan, then pull) */
  listing?: HubSibling[];
  /** repo path → local path, for exports whose file names differ from the layout a worker loads */
  rename?: Record<string, string>;
}

export interface PulledFile {
  path: string;
  size: number;
  sha256: string;
  /** where the expected sha256 came from; 'recorded' = first download of a file the hub gives no sha256 for */
  verifiedBy: 'lfs' | 'etag' | 'manifest' | 'recorded';
  source: 'downloaded' | 'resumed' | 'cached';
}

export interface PullResult {
  repo: string;
  revision: string;
  destDir: string;
  files: PulledFile[];
  skipped: string[];
  manifestPath: string;
}

export interface HubSibling {
  rfilename: string;
  size?: number;
  lfs?: { sha256?: string; oid?: string; size?: number };
}

const SHA256_RE = /^[0-9a-f]{64}$/;

function headers(token?: string, extra: Record<string, string> = {}): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}`, ...extra } : extra;
}

function trimSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

function safeRelative(file: string): string {
  const n = normalize(file);
  if (isAbsolute(n) || n.startsWith('..') || n.split(sep).includes('..')) throw new Error(`refusing unsafe file name from the hub: ${file}`);
  return n;
}

/** `sha256  path` lines (sha256sum format) → Map(path → sha256). */
export function readChecksumManifest(destDir: string): Map<string, string> {
  const p = join(destDir, CHECKSUM_MANIFEST);
  const out = new Map<string, string>();
  if (!existsSync(p)) return out;
  for (const line of readFileSync(p, 'utf8').split('\n')) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line.trim());
    if (m) out.set(m[2]!, m[1]!);
  }
  return out;
}

function writeChecksumManifest(destDir: string, entries: Map<string, string>): string {
  const p = join(destDir, CHECKSUM_MANIFEST);
  const body = [...entries]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([f, h]) => `${h}  ${f}\n`)
    .join('');
  writeFileSync(`${p}.tmp`, body);
  renameSync(`${p}.tmp`, p);
  return p;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** sha256 from `X-Linked-ETag` / `ETag` when the hub puts one there (LFS files); git sha1 ETags are ignored. */
function etagSha256(res: Response): string | undefined {
  for (const name of ['x-linked-etag', 'etag']) {
    const v = res.headers.get(name)?.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
    if (v && SHA256_RE.test(v)) return v;
  }
  return undefined;
}

export interface HubListing {
  /** the commit the revision resolved to, when the hub says (`sha`) */
  sha?: string;
  siblings: HubSibling[];
}

/** `GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true`: file names with LFS sizes and sha256. */
export async function listModelRepo(o: { endpoint: string; repo: string; token?: string; fetchImpl?: typeof fetch }, revision: string): Promise<HubListing> {
  const doFetch = o.fetchImpl ?? fetch;
  const url = `${trimSlash(o.endpoint)}/api/models/${o.repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const res = await doFetch(url, { headers: headers(o.token) });
  if (!res.ok) {
    const hint = res.status === 401 || res.status === 403 ? ' (gated or private: pass a token)' : res.status === 404 ? ' (unknown repository or revision)' : '';
    throw new Error(`listing ${o.repo}@${revision} failed: HTTP ${res.status}${hint}`);
  }
  const body = (await res.json()) as { sha?: string; siblings?: HubSibling[] };
  if (!Array.isArray(body.siblings)) throw new Error(`listing ${o.repo}@${revision} has no siblings[]`);
  return { sha: typeof body.sha === 'string' ? body.sha : undefined, siblings: body.siblings };
}

interface DownloadOutcome {
  sha256: string;
  size: number;
  resumed: boolean;
  etagSha?: string;
}

/** One attempt: appends to `part` from its current size; returns when the body ends. */
async function downloadOnce(
  url: string,
  part: string,
  file: string,
  o: PullOptions,
  total: number | undefined,
  doFetch: typeof fetch,
): Promise<DownloadOutcome> {
  const have = existsSync(part) ? statSync(part).size : 0;
  const res = await doFetch(url, { headers: headers(o.token, have > 0 ? { Range: `bytes=${have}-` } : {}) });
  if (res.status === 416 && have > 0) {
    // The .part is already complete (or stale): restart cleanly.
    rmSync(part, { force: true });
    return downloadOnce(url, part, file, o, total, doFetch);
  }
  if (!res.ok || !res.body) throw new Error(`GET ${url} failed: HTTP ${res.status}`);
  const resumed = have > 0 && res.status === 206;
  const hash = createHash('sha256');
  if (resumed) for await (const chunk of createReadStream(part)) hash.update(chunk as Buffer);
  const fh = await open(part, resumed ? 'a' : 'w');
  let received = resumed ? have : 0;
  const lengthHeader = Number(res.headers.get('content-length'));
  const size = total ?? (Number.isFinite(lengthHeader) && lengthHeader > 0 ? received + lengthHeader : undefined);
  o.onProgress?.({ file, received, total: size, state: resumed ? 'resumed' : 'downloading' });
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      await fh.write(chunk);
      hash.update(chunk);
      received += chunk.length;
      o.onProgress?.({ file, received, total: size, state: 'downloading' });
    }
  } finally {
    await fh.close();
  }
  if (size !== undefined && received < size) throw new Error(`connection closed after ${received} of ${size} bytes of ${file}`);
  return { sha256: hash.digest('hex'), size: received, resumed, etagSha: etagSha256(res) };
}

/** Downloads (or re-verifies) the requested files of `repo@revision` into `destDir`. */
export async function pullModelRepo(options: PullOptions): Promise<PullResult> {
  const revision = options.revision ?? 'main';
  const doFetch = options.fetchImpl ?? fetch;
  const retries = options.retries ?? 2;
  const siblings = options.listing ?? (await listModelRepo({ ...options, fetchImpl: doFetch }, revision)).siblings;
  const byName = new Map(siblings.map((s) => [s.rfilename, s]));
  const wanted = options.files === 'all' ? siblings.map((s) => s.rfilename) : options.files;
  const missing = wanted.filter((f) => !byName.has(f));
  if (missing.length && !options.skipMissing) {
    throw new Error(`${options.repo}@${revision} has no ${missing.join(', ')} (it lists ${siblings.length} files)`);
  }
  mkdirSync(options.destDir, { recursive: true });
  const manifest = readChecksumManifest(options.destDir);
  const pulled: PulledFile[] = [];

  for (const file of wanted.filter((f) => byName.has(f))) {
    const local = options.rename?.[file] ?? file;
    const rel = safeRelative(local);
    const dest = join(options.destDir, rel);
    const part = `${dest}.part`;
    const info = byName.get(file)!;
    const lfsSha = (info.lfs?.sha256 ?? info.lfs?.oid)?.toLowerCase();
    const expectedSha = lfsSha && SHA256_RE.test(lfsSha) ? lfsSha : undefined;
    const total = info.lfs?.size ?? info.size;
    mkdirSync(dirname(dest), { recursive: true });

    if (existsSync(dest)) {
      const known = expectedSha ?? manifest.get(local);
      const actual = await sha256File(dest);
      if (known && actual === known) {
        manifest.set(local, actual);
        pulled.push({ path: local, size: statSync(dest).size, sha256: actual, verifiedBy: expectedSha ? 'lfs' : 'manifest', source: 'cached' });
        options.onProgress?.({ file, received: statSync(dest).size, total, state: 'cached' });
        continue;
      }
      // Unknown or changed content: fetch again rather than trust it.
      rmSync(dest, { force: true });
    }

    const url = `${trimSlash(options.endpoint)}/${options.repo}/resolve/${encodeURIComponent(revision)}/${encodePath(file)}`;
    let outcome: DownloadOutcome | undefined;
    let resumedAny = existsSync(part) && statSync(part).size > 0;
    for (let attempt = 0; ; attempt++) {
      try {
        outcome = await downloadOnce(url, part, file, options, total, doFetch);
        break;
      } catch (err) {
        if (attempt >= retries) throw err;
        resumedAny = resumedAny || (existsSync(part) && statSync(part).size > 0);
      }
    }
    const expected = expectedSha ?? outcome.etagSha;
    if (expected && outcome.sha256 !== expected) {
      rmSync(part, { force: true });
      throw new Error(`checksum mismatch for ${file}: expected sha256 ${expected}, got ${outcome.sha256}; the partial file was deleted`);
    }
    if (total !== undefined && outcome.size !== total) {
      rmSync(part, { force: true });
      throw new Error(`size mismatch for ${file}: expected ${total} bytes, got ${outcome.size}`);
    }
    renameSync(part, dest);
    manifest.set(local, outcome.sha256);
    pulled.push({
      path: local,
      size: outcome.size,
      sha256: outcome.sha256,
      verifiedBy: expectedSha ? 'lfs' : outcome.etagSha ? 'etag' : 'recorded',
      source: resumedAny || outcome.resumed ? 'resumed' : 'downloaded',
    });
    options.onProgress?.({ file, received: outcome.size, total: outcome.size, state: 'done' });
  }
  const manifestPath = writeChecksumManifest(options.destDir, manifest);
  return { repo: options.repo, revision, destDir: options.destDir, files: pulled, skipped: missing, manifestPath };
}
