import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import { readNpy, NpyArray } from '../src/npy';

/** Committed fixtures live in the source tree (test/fixtures), not in dist. */
export const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures');

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

export function loadFixtureNpy(name: string): NpyArray {
  return readNpy(readFileSync(fixture(name)));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Deterministic PRNG so test inputs are reproducible. */
export { mulberry32 as rng } from '@omniaffect/core';
