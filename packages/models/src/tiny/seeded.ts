import { mulberry32 } from '@omniaffect/core';

/** Deterministic pseudo-random weights, so every build of the tiny pack is byte-identical. */
export { mulberry32 };

/** Row-major [rows, cols] matrix of uniform values in [-scale, scale]. */
export function seededMatrix(seed: number, rows: number, cols: number, scale = 1): Float32Array {
  const rnd = mulberry32(seed);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) out[i] = (rnd() * 2 - 1) * scale;
  return out;
}

/** Rounds to 4 decimals so JSON side files (head.json) hold exactly the values the graph uses. */
export function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
