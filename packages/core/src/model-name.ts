import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The name a result records for a model directory: `_name_or_path` from its config.json when the
 * export carries one (e.g. "openai/whisper-large-v3-turbo"), else `<parent>/<dir>` (e.g. "tiny/asr").
 */
export function modelDisplayName(dir: string): string {
  const cfg = path.join(dir, 'config.json');
  if (existsSync(cfg)) {
    try {
      const name = (JSON.parse(readFileSync(cfg, 'utf8')) as { _name_or_path?: string })._name_or_path;
      if (name) return name;
    } catch {
      /* fall through */
    }
  }
  const abs = path.resolve(dir);
  return `${path.basename(path.dirname(abs))}/${path.basename(abs)}`;
}

/** The markers the generated packs leave at their root (tiny pack; real-dimension stand-ins). */
export const TINY_PACK_FILE = 'tiny-pack.json';
export const STAND_IN_PACK_FILE = 'stand-in-pack.json';

/** What a result says, loudly, when any model behind it is generated rather than real. */
export const STAND_IN_NOTICE = 'Tiny stand-in models: not a real prediction.';

/**
 * Whether a model directory holds generated stand-ins rather than a real export: the tiny pack and
 * the real-dimension stand-in pack leave a marker at the pack root (the directory's parent) —
 * `tiny-pack.json` or `stand-in-pack.json` — so a worker pointed anywhere inside one knows.
 */
export function standInKind(dir: string): 'tiny' | 'stand-in' | null {
  const abs = path.resolve(dir);
  for (const d of [abs, path.dirname(abs)]) {
    if (existsSync(path.join(d, TINY_PACK_FILE))) return 'tiny';
    if (existsSync(path.join(d, STAND_IN_PACK_FILE))) return 'stand-in';
  }
  return null;
}

/** The model entry a worker records in results: display name, provider, and `standIn` when generated. */
export function modelInfo(dir: string, provider: string): { name: string; provider: string; standIn?: 'tiny' | 'stand-in' } {
  const standIn = standInKind(dir);
  return { name: modelDisplayName(dir), provider, ...(standIn ? { standIn } : {}) };
}

/** `{standIn}` from what a model thread's load() answered (see modelInfo), to spread into a stage's model entry. */
export function standInOf(loaded: Record<string, unknown>): { standIn?: 'tiny' | 'stand-in' } {
  const s = loaded.standIn;
  return s === 'tiny' || s === 'stand-in' ? { standIn: s } : {};
}
