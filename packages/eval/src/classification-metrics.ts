export interface ClassRecall {
  label: string;
  /** Gold count of this class. */
  support: number;
  /** How often it was predicted. */
  predicted: number;
  correct: number;
  /** correct / support; null when the class has no gold samples (it then takes no part in UAR). */
  recall: number | null;
  /** correct / predicted; null when never predicted. */
  precision: number | null;
}

export interface ClassificationMetrics {
  labels: string[];
  n: number;
  /** Weighted average recall = Σ_c (n_c/N)·recall_c = overall accuracy. */
  war: number;
  /**
   * Unweighted average recall over the classes with gold support > 0 (sklearn balanced_accuracy_score). Classes
   * that only appear among predictions are left out, unlike recall_score(average='macro') without labels=.
   */
  uar: number;
  uarClassCount: number;
  perClass: ClassRecall[];
  /** confusion[gold][pred] counts, rows and columns in `labels` order. */
  confusion: number[][];
}

/** WAR, UAR, per-class recall and the confusion matrix for class indices into `labels`. */
export function classificationMetrics(predIdx: readonly number[], goldIdx: readonly number[], labels: readonly string[]): ClassificationMetrics {
  if (predIdx.length !== goldIdx.length) throw new Error(`classificationMetrics: ${predIdx.length} predictions vs ${goldIdx.length} gold labels`);
  if (goldIdx.length === 0) throw new Error('classificationMetrics: no samples');
  const k = labels.length;
  const check = (v: number, what: string, i: number) => {
    if (!Number.isInteger(v) || v < 0 || v >= k) throw new Error(`classificationMetrics: ${what}[${i}] = ${v} is not a class index in [0, ${k})`);
  };
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < goldIdx.length; i++) {
    const g = goldIdx[i]!;
    const p = predIdx[i]!;
    check(g, 'goldIdx', i);
    check(p, 'predIdx', i);
    confusion[g]![p]!++;
    if (g === p) correct++;
  }
  const perClass: ClassRecall[] = labels.map((label, c) => {
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[c]!, 0);
    const ok = confusion[c]![c]!;
    return {
      label,
      support,
      predicted,
      correct: ok,
      recall: support > 0 ? ok / support : null,
      precision: predicted > 0 ? ok / predicted : null,
    };
  });
  const recalls = perClass.filter((c) => c.recall !== null).map((c) => c.recall!);
  return {
    labels: [...labels],
    n: goldIdx.length,
    war: correct / goldIdx.length,
    uar: recalls.reduce((a, b) => a + b, 0) / recalls.length,
    uarClassCount: recalls.length,
    perClass,
    confusion,
  };
}
