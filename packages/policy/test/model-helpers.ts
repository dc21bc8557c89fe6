import assert from 'node:assert/strict';
import { MODALITIES } from '@omniaffect/core';
import type { ForwardCache, FusionBatch } from '../src/index';
export * from '../src/index';

/** Importances: sum to 1 over valid items of a present-or-not modality with any valid item, else all 0. */
export function softmaxCheck(out: ForwardCache, b: FusionBatch): void {
  for (const m of MODALITIES) {
    const L = b[m].len;
    for (let i = 0; i < b.size; i++) {
      let sum = 0;
      let valid = 0;
      for (let j = 0; j < L; j++) {
        sum += out.importance[m][i * L + j]!;
        valid += b[m].mask[i * L + j]!;
      }
      assert.ok(valid === 0 ? sum === 0 : Math.abs(sum - 1) < 1e-12, `${m} row ${i}`);
    }
  }
}
