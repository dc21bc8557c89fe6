import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseCsvTable, wellFormedRows } from './csv';
import { LABEL_RANGE, sentimentSign3, type MmsaDatasetName } from './sentiment-labels';

export type SplitMode = 'train' | 'valid' | 'test';
export const SPLIT_MODES: readonly SplitMode[] = ['train', 'valid', 'test'];

export interface MmsaSample {
  /** `${videoId}/${clipId}`; '/' never occurs in either id, unlike '_' (SIMS v2 has clip ids like `00011_0`). */
  id: string;
  videoId: string;
  clipId: string;
  text: string;
  label: number;
  labelT?: number;
  labelA?: number;
  labelV?: number;
  annotation?: string;
  mode: SplitMode;
  /** Relative to the dataset root, always with '/' separators. */
  mediaPath: string;
  exists: boolean;
  /** Any columns beyond MMSA's (e.g. the synthetic generator's `planted_modality`), by header name. */
  extra?: Record<string, string>;
}

export interface RowProblem {
  /** 1-based line in the label file where the offending record starts (the header is line 1). */
  row: number;
  reason: string;
}

export interface MmsaDatasetCounts {
  rows: number;
  accepted: number;
  rejected: number;
  byMode: Record<SplitMode, number>;
  /** Sign-3 classes of accepted rows (negative / neutral / positive). */
  bySentiment: { negative: number; neutral: number; positive: number };
  missingMedia: number;
}

export interface MmsaDataset {
  dataset: MmsaDatasetName;
  root: string;
  labelFile: string;
  samples: MmsaSample[];
  problems: RowProblem[];
  counts: MmsaDatasetCounts;
}

export interface ReadMmsaOptions {
  dataset: MmsaDatasetName;
  /** Overrides the label file name (relative to root). */
  labelFile?: string;
}

const REQUIRED = ['video_id', 'clip_id', 'text', 'label', 'mode'] as const;
const KNOWN = new Set(['video_id', 'clip_id', 'text', 'label', 'label_t', 'label_a', 'label_v', 'annotation', 'mode']);

/**
 * Which label file a dataset directory holds. CH-SIMS v2(s) ships `meta.csv`; MMSA-FET and MOSEI use `label.csv`.
 * label.csv wins when both exist because that is the file MMSA's own tools read.
 */
export function findLabelFile(root: string, dataset: MmsaDatasetName): string {
  const candidates = dataset === 'sims2' ? ['label.csv', 'meta.csv'] : ['label.csv'];
  for (const c of candidates) if (existsSync(path.join(root, c))) return c;
  throw new Error(`no ${candidates.join(' or ')} in ${root}`);
}

/**
 * Reads an MMSA raw-layout dataset (label file + Raw/<video_id>/<clip_id>.mp4). Columns are found by name, so
 * MOSEI's different column order and extra columns are fine. Ids stay strings ("00000", "-3g5yACwYnA").
 * Every record that cannot become a sample is listed in `problems` with its line and reason; none is dropped
 * silently. A missing required column throws, since then no row could be read.
 */
export function readMmsaDataset(root: string, options: ReadMmsaOptions): MmsaDataset {
  const { dataset } = options;
  const labelFile = options.labelFile ?? findLabelFile(root, dataset);
  const table = parseCsvTable(readFileSync(path.join(root, labelFile), 'utf8'));
  const missing = REQUIRED.filter((c) => !table.columns.has(c));
  if (missing.length) throw new Error(`${labelFile}: missing column(s) ${missing.join(', ')} (header: ${table.header.join(',')})`);

  const col = (name: string) => table.columns.get(name);
  const [lo, hi] = LABEL_RANGE[dataset];
  const problems: RowProblem[] = [];
  const samples: MmsaSample[] = [];
  const seen = new Map<string, number>();
  const extraCols = table.header.map((h, i) => ({ h, i })).filter(({ h }) => !KNOWN.has(h.toLowerCase()));

  for (const rec of wellFormedRows(table, (row, reason) => problems.push({ row, reason }))) {
    const reject = (reason: string) => problems.push({ row: rec.line, reason });
    const get = (name: string): string | undefined => {
      const idx = col(name);
      return idx === undefined ? undefined : rec.fields[idx];
    };
    const videoId = get('video_id')!.trim();
    const clipId = get('clip_id')!.trim();
    if (!videoId || !clipId) {
      reject('empty video_id or clip_id');
      continue;
    }
    if (/[\\/]|^\.\.?$/.test(videoId) || /[\\/]|^\.\.?$/.test(clipId)) {
      reject(`video_id/clip_id may not contain path separators or be "."/"..": ${JSON.stringify(`${videoId}/${clipId}`)}`);
      continue;
    }
    const mode = get('mode')!.trim();
    if (!(SPLIT_MODES as readonly string[]).includes(mode)) {
      reject(`mode ${JSON.stringify(mode)} is not train, valid or test`);
      continue;
    }
    const label = parseLabel(get('label')!, lo, hi);
    if (typeof label === 'string') {
      reject(`label ${label}`);
      continue;
    }
    const uni: Partial<Record<'labelT' | 'labelA' | 'labelV', number>> = {};
    let bad: string | null = null;
    for (const [key, name] of [
      ['labelT', 'label_t'],
      ['labelA', 'label_a'],
      ['labelV', 'label_v'],
    ] as const) {
      const rawUni = get(name);
      // MOSEI and unlabelled v2(u) leave the unimodal columns empty; that is absence, not a fault.
      if (rawUni === undefined || rawUni.trim() === '') continue;
      const v = parseLabel(rawUni, lo, hi);
      if (typeof v === 'string') {
        bad = `${name} ${v}`;
        break;
      }
      uni[key] = v;
    }
    if (bad) {
      reject(bad);
      continue;
    }
    const id = `${videoId}/${clipId}`;
    const prev = seen.get(id);
    if (prev !== undefined) {
      reject(`duplicate id ${id} (first on line ${prev})`);
      continue;
    }
    seen.set(id, rec.line);
    const mediaPath = `Raw/${videoId}/${clipId}.mp4`;
    const annotation = get('annotation')?.trim();
    const sample: MmsaSample = {
      id,
      videoId,
      clipId,
      text: get('text')!,
      label,
      ...uni,
      ...(annotation ? { annotation } : {}),
      mode: mode as SplitMode,
      mediaPath,
      exists: existsSync(path.join(root, ...mediaPath.split('/'))),
    };
    if (extraCols.length) sample.extra = Object.fromEntries(extraCols.map(({ h, i }) => [h, rec.fields[i] ?? '']));
    samples.push(sample);
  }

  const counts: MmsaDatasetCounts = {
    rows: table.rows.length,
    accepted: samples.length,
    rejected: problems.length,
    byMode: { train: 0, valid: 0, test: 0 },
    bySentiment: { negative: 0, neutral: 0, positive: 0 },
    missingMedia: 0,
  };
  for (const s of samples) {
    counts.byMode[s.mode]++;
    counts.bySentiment[sentimentSign3(s.label)]++;
    if (!s.exists) counts.missingMedia++;
  }
  return { dataset, root, labelFile, samples, problems, counts };
}

/** A finite number inside [lo, hi], or a string saying what is wrong with it. */
function parseLabel(raw: string, lo: number, hi: number): number | string {
  const s = raw.trim();
  if (s === '') return 'is empty';
  const v = Number(s);
  if (!Number.isFinite(v)) return `${JSON.stringify(s.slice(0, 30))} is not a number`;
  if (v < lo || v > hi) return `${v} is outside [${lo}, ${hi}]`;
  return v;
}
