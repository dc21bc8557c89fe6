/**
 * sklearn.metrics.accuracy_score and f1_score(average='weighted') from their definitions, for label arrays
 * whose values are compared exactly (MMSA passes booleans or float32 class ids).
 */
// Kept hand-written: sklearn's exact definitions (weighted F1, tie handling) are what MMSA's numbers
// use; these few lines are checked against recorded NumPy/sklearn outputs.

/** accuracy_score(a, b): fraction of equal positions (symmetric). */
export function accuracyScore(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`accuracyScore: length mismatch ${a.length} vs ${b.length}`);
  if (a.length === 0) return NaN;
  let eq = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) eq++;
  return eq / a.length;
}

/**
 * f1_score(yTrue, yPred, average='weighted'): classes are the sorted union of both arrays (sklearn's
 * unique_labels); per class F1 = 2·tp / (support + predicted) — the tp/fn/fp form sklearn ≥ 1.3 uses —
 * with 0 when the denominator is 0 (zero_division default); weights = true support.
 * Not symmetric: the first argument is the truth.
 */
export function weightedF1(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  if (yTrue.length !== yPred.length) throw new Error(`weightedF1: length mismatch ${yTrue.length} vs ${yPred.length}`);
  const classes = [...new Set([...Array.from(yTrue), ...Array.from(yPred)])].sort((x, y) => x - y);
  if (classes.length === 0) return NaN;
  let weighted = 0;
  let supportTotal = 0;
  for (const c of classes) {
    let tp = 0;
    let support = 0;
    let predicted = 0;
    for (let i = 0; i < yTrue.length; i++) {
      const t = yTrue[i] === c;
      const p = yPred[i] === c;
      if (t) support++;
      if (p) predicted++;
      if (t && p) tp++;
    }
    const denom = support + predicted;
    const f = denom === 0 ? 0 : (2 * tp) / denom;
    weighted += f * support;
    supportTotal += support;
  }
  return supportTotal === 0 ? 0 : weighted / supportTotal;
}
