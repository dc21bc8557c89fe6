import { PARAM_NAMES, type ParamTensors, type PolicyParams } from './params';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** global-norm gradient clipping; 0 = off */
  clipNorm?: number;
}

export interface AdamState {
  step: number;
  m: ParamTensors<Float64Array>;
  v: ParamTensors<Float64Array>;
}

export function adamInit(p: PolicyParams): AdamState {
  const m = {} as ParamTensors<Float64Array>;
  const v = {} as ParamTensors<Float64Array>;
  for (const name of PARAM_NAMES) {
    m[name] = new Float64Array(p.tensors[name].length);
    v[name] = new Float64Array(p.tensors[name].length);
  }
  return { step: 0, m, v };
}

export function gradNorm(g: ParamTensors<Float64Array>): number {
  let s = 0;
  for (const name of PARAM_NAMES) for (const x of g[name]) s += x * x;
  return Math.sqrt(s);
}

/** One Adam step (Kingma & Ba, with bias correction); returns the pre-clipping gradient norm. */
export function adamStep(p: PolicyParams, g: ParamTensors<Float64Array>, st: AdamState, o: AdamOptions): number {
  const b1 = o.beta1 ?? 0.9;
  const b2 = o.beta2 ?? 0.999;
  const eps = o.eps ?? 1e-8;
  const norm = gradNorm(g);
  const scale = o.clipNorm && norm > o.clipNorm ? o.clipNorm / norm : 1;
  st.step++;
  const c1 = 1 - b1 ** st.step;
  const c2 = 1 - b2 ** st.step;
  for (const name of PARAM_NAMES) {
    const w = p.tensors[name];
    const gn = g[name];
    const m = st.m[name];
    const v = st.v[name];
    for (let i = 0; i < w.length; i++) {
      const gi = gn[i]! * scale;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      w[i] = w[i]! - (o.lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + eps);
    }
  }
  return norm;
}
