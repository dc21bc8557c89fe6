import { standInKind } from '@omniaffect/core';
import { configuredModelDirs } from './model-commands';

/**
 * The tiny pack is deterministic stand-ins with planted channels: figures computed through it measure
 * the plumbing, not emotion recognition. `eval run` / `eval cross` refuse it unless asked explicitly.
 * A directory counts as a stand-in when the tiny pack's or the real-dimension stand-in pack's marker
 * sits in it or at the pack root (standInKind, the same test the workers use to flag results).
 */
export function tinyModelDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  return configuredModelDirs(env)
    .filter((m) => m.kind !== 'fusion')
    .filter((m) => standInKind(m.dir) !== null)
    .map((m) => `${m.label} (${m.dir})`);
}

export function assertRealModels(allowTiny: boolean | undefined, env: NodeJS.ProcessEnv = process.env): void {
  const tiny = tinyModelDirs(env);
  if (tiny.length === 0) return;
  if (allowTiny) {
    console.error(`WARNING: tiny stand-in models (${tiny.join(', ')}): these figures are not a real evaluation`);
    return;
  }
  throw new Error(
    `refusing to evaluate on the tiny stand-in models (${tiny.join(', ')}): they are not real encoders and the figures would mean nothing. ` +
      'Point MODEL_DIR at real exports (omniaffect models pull --pack standard --out DIR), or pass --allow-tiny-models to run the plumbing anyway.',
  );
}
