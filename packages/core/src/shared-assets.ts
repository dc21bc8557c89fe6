import { existsSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Locates the shared test assets (Whisper tokenizer and mel filters, BERT vocabularies, real media).
 * They live beside a developer's or CI's checkout as `../shared` and are never copied into the repo,
 * so a user's clone has none: callers must treat `null` as "skip, and say so".
 */
export function sharedDir(): string | null {
  const fromEnv = process.env.OMNIAFFECT_SHARED_DIR;
  if (fromEnv) return existsSync(fromEnv) ? path.resolve(fromEnv) : null;
  const candidate = path.resolve(repoRoot(), '..', 'shared');
  return existsSync(path.join(candidate, 'assets')) ? candidate : null;
}

/**
 * Absolute path of a file under the shared directory, or null when shared/ is absent. When shared/
 * is there but the file is not, that is a broken checkout or a wrong path, never a reason to skip a
 * parity test quietly: it throws.
 */
export function sharedFile(...parts: string[]): string | null {
  const dir = sharedDir();
  if (!dir) return null;
  const file = path.join(dir, ...parts);
  if (!existsSync(file)) throw new Error(`${dir} is present but ${path.join(...parts)} is missing from it`);
  return file;
}

export const SHARED_SKIP_REASON = 'SKIPPED: ../shared is absent (it holds the real Whisper/BERT assets and media); CI has it';

/** The repository root: the nearest ancestor holding pnpm-workspace.yaml. */
export function repoRoot(start: string = __dirname): string {
  let dir = start;
  for (;;) {
    if (existsSync(path.join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`pnpm-workspace.yaml not found above ${start}`);
    dir = parent;
  }
}
