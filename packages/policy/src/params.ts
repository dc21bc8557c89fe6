import { EMOTION_LABELS, MODALITIES, SENTIMENT_LABELS } from '@omniaffect/core';
import { Rng } from './prng';
import type { ModalityDims, Vec } from './types';

export const N_SENT = SENTIMENT_LABELS.length;
export const N_EMO = EMOTION_LABELS.length;
export const N_MOD = MODALITIES.length;

/** Every trainable tensor, in a fixed order (optimiser state, checkpoints and the exporter rely on it). */
export const PARAM_NAMES = [
  'text.W',
  'text.b',
  'text.v',
  'audio.W',
  'audio.b',
  'audio.v',
  'vision.W',
  'vision.b',
  'vision.v',
  'gate.W1',
  'gate.b1',
  'gate.W2',
  'gate.b2',
  'trunk.W',
  'trunk.b',
  'sentiment.W',
  'sentiment.b',
  'emotion.W',
  'emotion.b',
  'intensity.W',
  'intensity.b',
  'value.W',
  'value.b',
] as const;
export type ParamName = (typeof PARAM_NAMES)[number];

export type ParamTensors<T extends Vec = Vec> = Record<ParamName, T>;

export interface PolicyParams {
  dims: ModalityDims;
  hidden: number;
  gateHidden: number;
  tensors: ParamTensors;
}

export interface InitPolicyOptions {
  dims: ModalityDims;
  hidden?: number;
  /** width of the gating MLP; defaults to `hidden` */
  gateHidden?: number;
  seed: number;
}

/** Row-major shapes; a Linear's weight is [in, out] so a batch multiplies as X·W. */
export function paramShapes(dims: ModalityDims, hidden: number, gateHidden: number): Record<ParamName, number[]> {
  const H = hidden;
  const G = gateHidden;
  return {
    'text.W': [dims.text, H],
    'text.b': [H],
    'text.v': [H],
    'audio.W': [dims.audio, H],
    'audio.b': [H],
    'audio.v': [H],
    'vision.W': [dims.vision, H],
    'vision.b': [H],
    'vision.v': [H],
    'gate.W1': [N_MOD * H, G],
    'gate.b1': [G],
    'gate.W2': [G, N_MOD],
    'gate.b2': [N_MOD],
    'trunk.W': [H, H],
    'trunk.b': [H],
    'sentiment.W': [H, N_SENT],
    'sentiment.b': [N_SENT],
    'emotion.W': [H, N_EMO],
    'emotion.b': [N_EMO],
    'intensity.W': [H, 1],
    'intensity.b': [1],
    'value.W': [H, 1],
    'value.b': [1],
  };
}

export function initPolicy(opts: InitPolicyOptions): PolicyParams {
  const hidden = opts.hidden ?? 64;
  const gateHidden = opts.gateHidden ?? hidden;
  for (const m of MODALITIES) {
    if (!Number.isInteger(opts.dims[m]) || opts.dims[m] <= 0) throw new Error(`dims.${m} must be a positive integer`);
  }
  const shapes = paramShapes(opts.dims, hidden, gateHidden);
  const rng = new Rng(opts.seed);
  const tensors = {} as ParamTensors;
  for (const name of PARAM_NAMES) {
    const shape = shapes[name];
    const t = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (/\.W\d?$/.test(name)) {
      // Glorot uniform keeps tanh units out of saturation at the start
      const limit = Math.sqrt(6 / (shape[0]! + shape[1]!));
      for (let i = 0; i < t.length; i++) t[i] = rng.uniform(-limit, limit);
    } else if (name.endsWith('.v')) {
      const limit = 1 / Math.sqrt(hidden);
      for (let i = 0; i < t.length; i++) t[i] = rng.uniform(-limit, limit);
    }
    tensors[name] = t;
  }
  return { dims: { ...opts.dims }, hidden, gateHidden, tensors };
}

export function cloneParams(p: PolicyParams, as: 'float32' | 'float64' = 'float32'): PolicyParams {
  const tensors = {} as ParamTensors;
  for (const name of PARAM_NAMES) {
    tensors[name] = as === 'float64' ? Float64Array.from(p.tensors[name]) : Float32Array.from(p.tensors[name]);
  }
  return { dims: { ...p.dims }, hidden: p.hidden, gateHidden: p.gateHidden, tensors };
}

export function zerosLike(p: PolicyParams): ParamTensors<Float64Array> {
  const g = {} as ParamTensors<Float64Array>;
  for (const name of PARAM_NAMES) g[name] = new Float64Array(p.tensors[name].length);
  return g;
}

export function paramCount(p: PolicyParams): number {
  return PARAM_NAMES.reduce((n, name) => n + p.tensors[name].length, 0);
}

/** Stable JSON form (base64 little-endian float32) for checkpoints. */
export function serializeParams(p: PolicyParams): SerializedParams {
  const tensors: Record<string, string> = {};
  for (const name of PARAM_NAMES) tensors[name] = f32ToBase64(Float32Array.from(p.tensors[name]));
  return { dims: p.dims, hidden: p.hidden, gateHidden: p.gateHidden, tensors };
}

export interface SerializedParams {
  dims: ModalityDims;
  hidden: number;
  gateHidden: number;
  tensors: Record<string, string>;
}

export function deserializeParams(s: SerializedParams): PolicyParams {
  const shapes = paramShapes(s.dims, s.hidden, s.gateHidden);
  const tensors = {} as ParamTensors;
  for (const name of PARAM_NAMES) {
    const enc = s.tensors[name];
    if (enc === undefined) throw new Error(`checkpoint lacks tensor ${name}`);
    const t = base64ToF32(enc);
    const want = shapes[name].reduce((a, b) => a * b, 1);
    if (t.length !== want) throw new Error(`checkpoint tensor ${name}: ${t.length} values, want ${want}`);
    tensors[name] = t;
  }
  return { dims: { ...s.dims }, hidden: s.hidden, gateHidden: s.gateHidden, tensors };
}

export function f32ToBase64(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

export function f64ToBase64(a: Float64Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

export function base64ToF32(s: string): Float32Array {
  const buf = Buffer.from(s, 'base64');
  const out = new Float32Array(buf.byteLength / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

export function base64ToF64(s: string): Float64Array {
  const buf = Buffer.from(s, 'base64');
  const out = new Float64Array(buf.byteLength / 8);
  new Uint8Array(out.buffer).set(buf);
  return out;
}
