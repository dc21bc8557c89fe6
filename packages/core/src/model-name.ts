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
