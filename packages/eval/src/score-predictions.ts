import { readFileSync } from 'node:fs';
import { SENTIMENT_LABELS } from '@omniaffect/core';
import { classificationMetrics, type ClassificationMetrics } from './classification-metrics';
import { parseCsvTable, wellFormedRows } from './csv';
import { mmsaMetrics, type MetricsDataset, type MmsaMetrics } from './mmsa-metrics';
import type { RowProblem } from './mmsa-dataset';
import { sentimentSign3Index } from './sentiment-labels';

export interface ScoredPredictions {
  file: string;
  dataset: MetricsDataset;
  /** Rows scored. */
  n: number;
  /** MMSA's metric set, rounded to 4 decimals as MMSA returns it (Corr NaN → null in JSON). */
  mmsa: MmsaMetrics;
  /** Sign-3 WAR/UAR on the same rows (the cross-dataset mapping). */
  sentiment3: ClassificationMetrics;
  /** Rows that could not be scored, with line numbers; they are excluded from every metric above. */
  problems: RowProblem[];
}

/**
 * Scores a predictions CSV (`id,prediction,label`, found by name, other columns ignored) for
 * `omniaffect eval metrics`. Rows with a non-numeric prediction/label or a duplicate id are reported, not scored.
 */
export function scorePredictionsCsv(file: string, dataset: MetricsDataset): ScoredPredictions {
  const table = parseCsvTable(readFileSync(file, 'utf8'));
  for (const c of ['id', 'prediction', 'label']) {
    if (!table.columns.has(c)) throw new Error(`${file}: missing column ${c} (header: ${table.header.join(',')})`);
  }
  const [iId, iPred, iLabel] = ['id', 'prediction', 'label'].map((c) => table.columns.get(c)!) as [number, number, number];
  const problems: RowProblem[] = [];
  const preds: number[] = [];
  const labels: number[] = [];
  const seen = new Set<string>();
  for (const rec of wellFormedRows(table, (row, reason) => problems.push({ row, reason }))) {
    const reject = (reason: string) => problems.push({ row: rec.line, reason });
    const id = rec.fields[iId]!.trim();
    const p = Number(rec.fields[iPred]!.trim());
    const l = Number(rec.fields[iLabel]!.trim());
    if (!id) reject('empty id');
    else if (seen.has(id)) reject(`duplicate id ${id}`);
    else if (rec.fields[iPred]!.trim() === '' || !Number.isFinite(p)) reject(`prediction ${JSON.stringify(rec.fields[iPred])} is not a number`);
    else if (rec.fields[iLabel]!.trim() === '' || !Number.isFinite(l)) reject(`label ${JSON.stringify(rec.fields[iLabel])} is not a number`);
    else {
      seen.add(id);
      preds.push(p);
      labels.push(l);
    }
  }
  if (preds.length === 0) throw new Error(`${file}: no scorable rows (${problems.length} problem rows)`);
  return {
    file,
    dataset,
    n: preds.length,
    mmsa: mmsaMetrics(preds, labels, dataset),
    sentiment3: classificationMetrics(preds.map(sentimentSign3Index), labels.map(sentimentSign3Index), SENTIMENT_LABELS),
    problems,
  };
}
