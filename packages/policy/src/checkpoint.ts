import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdamState } from './adam';
import {
  PARAM_NAMES,
  base64ToF64,
  deserializeParams,
  f64ToBase64,
  serializeParams,
  type ParamTensors,
  type PolicyParams,
  type SerializedParams,
} from './params';

export const CHECKPOINT_FILE = 'checkpoint.json';

interface SerializedAdam {
  step: number;
  m: Record<string, string>;
  v: Record<string, string>;
}

export function serializeAdam(st: AdamState): SerializedAdam {
  const m: Record<string, string> = {};
  const v: Record<string, string> = {};
  for (const name of PARAM_NAMES) {
    m[name] = f64ToBase64(st.m[name]);
    v[name] = f64ToBase64(st.v[name]);
  }
  return { step: st.step, m, v };
}

export function deserializeAdam(s: SerializedAdam): AdamState {
  const m = {} as ParamTensors<Float64Array>;
  const v = {} as ParamTensors<Float64Array>;
  for (const name of PARAM_NAMES) {
    m[name] = base64ToF64(s.m[name]!);
    v[name] = base64ToF64(s.v[name]!);
  }
  return { step: s.step, m, v };
}

/** Everything needed to continue training exactly where it stopped. */
export interface TrainState<H> {
  phase: 'warm' | 'grpo' | 'done';
  /** completed warm-start epochs */
  epoch: number;
  /** completed GRPO steps */
  grpoStep: number;
  params: PolicyParams;
  adam: AdamState;
  rngState: number[];
  bestParams: PolicyParams | null;
  bestAccuracy: number;
  badEvals: number;
  refParams: PolicyParams | null;
  /** hash of the options and data that matter, so a resume with other settings is refused */
  fingerprint: string;
  history: H;
}

interface SerializedState<H> {
  version: 1;
  phase: TrainState<H>['phase'];
  epoch: number;
  grpoStep: number;
  params: SerializedParams;
  adam: SerializedAdam;
  rngState: number[];
  bestParams: SerializedParams | null;
  bestAccuracy: number;
  badEvals: number;
  refParams: SerializedParams | null;
  fingerprint: string;
  history: H;
}

/** Atomic (write + rename) so an interrupted save never leaves a truncated checkpoint. */
export function saveCheckpoint<H>(dir: string, st: TrainState<H>): string {
  mkdirSync(dir, { recursive: true });
  const body: SerializedState<H> = {
    version: 1,
    phase: st.phase,
    epoch: st.epoch,
    grpoStep: st.grpoStep,
    params: serializeParams(st.params),
    adam: serializeAdam(st.adam),
    rngState: st.rngState,
    bestParams: st.bestParams ? serializeParams(st.bestParams) : null,
    bestAccuracy: st.bestAccuracy,
    badEvals: st.badEvals,
    refParams: st.refParams ? serializeParams(st.refParams) : null,
    fingerprint: st.fingerprint,
    history: st.history,
  };
  const path = join(dir, CHECKPOINT_FILE);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(body));
  renameSync(tmp, path);
  return path;
}

export function loadCheckpoint<H>(dir: string): TrainState<H> | null {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) return null;
  const s = JSON.parse(readFileSync(path, 'utf8')) as SerializedState<H>;
  if (s.version !== 1) throw new Error(`${path}: unsupported checkpoint version ${String(s.version)}`);
  return {
    phase: s.phase,
    epoch: s.epoch,
    grpoStep: s.grpoStep,
    params: deserializeParams(s.params),
    adam: deserializeAdam(s.adam),
    rngState: s.rngState,
    bestParams: s.bestParams ? deserializeParams(s.bestParams) : null,
    bestAccuracy: s.bestAccuracy,
    badEvals: s.badEvals,
    refParams: s.refParams ? deserializeParams(s.refParams) : null,
    fingerprint: s.fingerprint,
    history: s.history,
  };
}

/** Loads the policy weights from a checkpoint (e.g. to export a finished run). */
export function loadCheckpointParams(dir: string): PolicyParams {
  const st = loadCheckpoint<unknown>(dir);
  if (!st) throw new Error(`no ${CHECKPOINT_FILE} in ${dir}`);
  return st.params;
}
