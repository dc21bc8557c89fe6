import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { RatingsSummaryDocument } from '@omniaffect/core';
import type { ClassificationMetrics } from './classification-metrics';
import type { CrossLingualReport } from './cross-lingual';
import type { RowProblem } from './mmsa-dataset';
import type { TextEncodersRecord } from './text-encoders';
import {
  confusionMatrixSpec,
  faithfulnessSpec,
  lineChartSpec,
  modalityContributionSpec,
  renderSvg,
  type FaithfulnessRow,
  type ModalityContributionRow,
  type VegaLiteSpec,
} from './plots';

export const PERCEIVED_DISCLAIMER =
  'These scores describe expressions as perceived by annotators and by the model, not the emotions a person ' +
  'actually felt. Use them to compare systems on these datasets, not to judge individuals.';

export interface TrainingStep {
  step: number;
  /** Mean of each reward term at this step, e.g. {accuracy: 0.6, attribution: 0.4, total: 1.0}. */
  rewards?: Record<string, number>;
  kl?: number;
  accuracy?: number;
}

/** One line of `eval robustness`: a policy read under one perturbation at one level. */
export interface RobustnessRow {
  policy: string;
  /** readable label, e.g. "noise 10 dB SNR"; "clean" for the unperturbed clips */
  perturbation: string;
  kind: string;
  level: number | null;
  n: number;
  war: number;
  uar: number;
  /** mean modality weights */
  contributions: { text: number; audio: number; vision: number };
  /** mean change of each modality's weight from the same clip read clean */
  contributionShift: { text: number; audio: number; vision: number };
  /** share of clips whose top verified item is the clean clip's (null: no clip had a verified item clean) */
  top1Agreement: number | null;
  /** mean Jaccard overlap of the verified item sets with the clean clip's */
  verifiedJaccard: number | null;
}

/** The planted-timeline figures (`eval timeline`, synthetic-timeline.ts scoreTimeline). */
export interface TimelineReport {
  videos: number;
  boundaries: { planted: number; recovered: number; rate: number; toleranceSec: number; meanErrorSec: number };
  labels: { segments: number; correct: number; accuracy: number };
  evidence: { segments: number; plantedTop: number; rate: number; byModality: Record<string, { n: number; top: number }> };
  faithfulness: { segments: number; comprehensiveness: number | null; sufficiency: number | null };
  /** result size and verification cost, when measured */
  cost?: { resultBytes: number; durationSec: number; fuseMs?: number }[];
}

export interface EvalReportData {
  title?: string;
  generatedAt?: string;
  notes?: string[];
  /** MMSA metric sets, e.g. {name: 'CH-SIMS v2 test', dataset: 'sims2', metrics: mmsaMetrics(...)} */
  mmsa?: { name: string; dataset: string; n?: number; metrics: Record<string, number | null> }[];
  classification?: { name: string; metrics: ClassificationMetrics }[];
  crossLingual?: CrossLingualReport[];
  /** which text encoder setting produced the figures (shown next to the cross-lingual table) */
  textEncoders?: TextEncodersRecord;
  modalityContributions?: ModalityContributionRow[];
  faithfulness?: FaithfulnessRow[];
  training?: TrainingStep[];
  /** Malformed rows per source (dataset reader or predictions file). */
  problems?: { source: string; count: number; examples?: RowProblem[] }[];
  /** Clips not evaluated (missing media, pipeline failure…). */
  skipped?: { source: string; count: number; reason: string }[];
  robustness?: RobustnessRow[];
  timeline?: TimelineReport;
  /** Reviewers' ratings of the explanations per fusion model version (GET /v1/ratings/summary of the evaluating key). */
  ratings?: RatingsSummaryDocument['models'];
}

export interface WrittenReport {
  json: string;
  html: string;
  svgs: string[];
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function fmt(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'n/a';
  return v.toFixed(digits);
}

function pct(v: number | null | undefined): string {
  return v === null || v === undefined || Number.isNaN(v) ? 'n/a' : `${(v * 100).toFixed(2)}%`;
}

function table(head: string[], rows: string[][]): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'plot'
  );
}

/** JSON with NaN/±Infinity as null (JSON has no NaN; MMSA's Corr is NaN for a constant predictor). */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}

/** The text encoder setting the figures came from: a split or masked setting is flagged like the disclaimer. */
function textEncodersHtml(t: TextEncodersRecord): string {
  const cls = t.setting === 'shared' ? 'note' : 'disclaimer';
  return `<p class="${cls}" id="text-encoders"><strong>Text encoders: ${escapeHtml(t.setting)}</strong> (zh: ${escapeHtml(t.zh ?? 'none')}; en: ${escapeHtml(t.en ?? 'none')}). ${escapeHtml(t.note)}</p>`;
}

/**
 * Writes `report.json` (the data plus the disclaimer) and `report.html` (self-contained: inline CSS and inline
 * SVG, no scripts, no external URLs) into outDir, and each plot as `plots/<name>.svg`.
 */
export async function writeEvalReport(outDir: string, data: EvalReportData): Promise<WrittenReport> {
  mkdirSync(path.join(outDir, 'plots'), { recursive: true });
  const plots: { name: string; title: string; spec: VegaLiteSpec }[] = [];
  const used = new Set<string>();
  const addPlot = (name: string, title: string, spec: VegaLiteSpec) => {
    let n = slug(name);
    for (let k = 2; used.has(n); k++) n = `${slug(name)}-${k}`;
    used.add(n);
    plots.push({ name: n, title, spec });
    return n;
  };

  const sections: string[] = [];
  const plotSlots = new Map<string, string>();
  const slot = (name: string) => `<!--plot:${name}-->`;

  if (data.mmsa?.length) {
    const keys = [...new Set(data.mmsa.flatMap((m) => Object.keys(m.metrics)))];
    sections.push(
      '<h2>MMSA metrics</h2>',
      table(
        ['set', 'dataset', 'n', ...keys],
        data.mmsa.map((m) => [m.name, m.dataset, m.n === undefined ? '' : String(m.n), ...keys.map((k) => fmt(m.metrics[k]))]),
      ),
      '<p class="note">Computed as thuiar/MMSA metricsTop.py does (float32 inputs, NumPy rounding to 4 decimals); Acc-k values are WAR-like.</p>',
    );
  }

  if (data.classification?.length) {
    sections.push('<h2>Classification: WAR / UAR</h2>');
    sections.push(
      table(
        ['set', 'n', 'WAR', 'UAR', 'UAR classes'],
        data.classification.map((c) => [c.name, String(c.metrics.n), pct(c.metrics.war), pct(c.metrics.uar), String(c.metrics.uarClassCount)]),
      ),
      '<p class="note">WAR = accuracy; UAR = mean recall over classes with gold support &gt; 0 (balanced accuracy).</p>',
    );
    for (const c of data.classification) {
      sections.push(`<h3>${escapeHtml(c.name)}</h3>`);
      sections.push(
        table(
          ['class', 'support', 'predicted', 'recall', 'precision'],
          c.metrics.perClass.map((p) => [p.label, String(p.support), String(p.predicted), pct(p.recall), pct(p.precision)]),
        ),
      );
      const name = addPlot(
        `confusion-${c.name}`,
        `Confusion matrix: ${c.name}`,
        confusionMatrixSpec(`Confusion: ${c.name}`, c.metrics.labels, c.metrics.confusion),
      );
      sections.push(slot(name));
    }
  }

  if (data.crossLingual?.length) {
    sections.push(
      '<h2>Cross-lingual transfer</h2>',
      table(
        ['direction', 'mapping', 'text encoders', 'in-language WAR', 'in-language UAR', 'cross WAR', 'cross UAR', 'retention (WAR)', 'retention (UAR)'],
        data.crossLingual.map((x) => [
          x.direction ?? '',
          x.mapping,
          x.textEncoders ?? data.textEncoders?.setting ?? 'not recorded',
          pct(x.inLanguage.war),
          pct(x.inLanguage.uar),
          pct(x.cross.war),
          pct(x.cross.uar),
          pct(x.retention),
          pct(x.uarRetention),
        ]),
      ),
      '<p class="note">Retention = cross-lingual WAR / in-language WAR, both on the sign-3 mapping (&lt;0 / =0 / &gt;0) shared by CH-SIMS v2 and CMU-MOSEI.</p>',
    );
    if (data.textEncoders) sections.push(textEncodersHtml(data.textEncoders));
  } else if (data.textEncoders) {
    sections.push('<h2>Text encoders</h2>', textEncodersHtml(data.textEncoders));
  }

  if (data.modalityContributions?.length) {
    sections.push('<h2>Modality contributions per language</h2>');
    sections.push(
      table(
        ['language', 'text', 'audio', 'vision'],
        data.modalityContributions.map((r) => [r.language, fmt(r.text, 3), fmt(r.audio, 3), fmt(r.vision, 3)]),
      ),
    );
    sections.push(slot(addPlot('modality-contributions', 'Modality contributions', modalityContributionSpec(data.modalityContributions))));
  }

  if (data.faithfulness?.length) {
    sections.push('<h2>Faithfulness</h2>');
    sections.push(
      table(
        ['scope', 'comprehensiveness', 'sufficiency'],
        data.faithfulness.map((r) => [r.scope, fmt(r.comprehensiveness), fmt(r.sufficiency)]),
      ),
    );
    sections.push(
      '<p class="note">Comprehensiveness: drop in gold-class probability when the cited evidence is removed (higher is better). Sufficiency: drop when only the cited evidence is kept (lower is better).</p>',
    );
    sections.push(slot(addPlot('faithfulness', 'Faithfulness', faithfulnessSpec(data.faithfulness))));
  }

  if (data.training?.length) {
    sections.push('<h2>Training curves</h2>');
    const rewards = data.training.flatMap((s) => Object.entries(s.rewards ?? {}).map(([series, value]) => ({ step: s.step, series, value })));
    const kl = data.training.filter((s) => s.kl !== undefined).map((s) => ({ step: s.step, series: 'KL', value: s.kl! }));
    const acc = data.training.filter((s) => s.accuracy !== undefined).map((s) => ({ step: s.step, series: 'accuracy', value: s.accuracy! }));
    if (rewards.length) sections.push(slot(addPlot('training-rewards', 'Reward means', lineChartSpec('Reward means per step', rewards, 'mean reward'))));
    if (kl.length) sections.push(slot(addPlot('training-kl', 'KL', lineChartSpec('KL to the reference policy', kl, 'KL'))));
    if (acc.length) sections.push(slot(addPlot('training-accuracy', 'Accuracy', lineChartSpec('Accuracy per step', acc, 'accuracy'))));
  }

  if (data.timeline) {
    const t = data.timeline;
    sections.push('<h2>Emotion timeline on planted videos</h2>');
    sections.push(
      table(
        ['figure', 'value', 'of'],
        [
          [
            `boundaries within ±${t.boundaries.toleranceSec} s of a planted change`,
            pct(t.boundaries.rate),
            `${t.boundaries.recovered} / ${t.boundaries.planted}`,
          ],
          ['segment labels correct', pct(t.labels.accuracy), `${t.labels.correct} / ${t.labels.segments}`],
          ['planted item = top verified evidence', pct(t.evidence.rate), `${t.evidence.plantedTop} / ${t.evidence.segments}`],
          ...Object.entries(t.evidence.byModality).map(([m, v]) => [`  … planted in ${m}`, pct(v.n ? v.top / v.n : null), `${v.top} / ${v.n}`]),
          ['comprehensiveness of the verified evidence (mean)', fmt(t.faithfulness.comprehensiveness), String(t.faithfulness.segments)],
          ['sufficiency of the verified evidence (mean)', fmt(t.faithfulness.sufficiency), String(t.faithfulness.segments)],
        ],
      ),
      `<p class="note">${t.videos} videos whose sentiment changes at every pause and whose decisive evidence sits in one word, one 2 s stretch of the voice or the frames of 2 s. Evidence and faithfulness are counted on the utterances with a non-neutral plant.</p>`,
    );
    if (t.cost?.length) {
      sections.push(
        table(
          ['media', 'result size', 'fusion time'],
          t.cost.map((c) => [
            `${(c.durationSec / 60).toFixed(1)} min`,
            `${(c.resultBytes / 1e6).toFixed(2)} MB`,
            c.fuseMs === undefined ? '' : `${(c.fuseMs / 1000).toFixed(2)} s`,
          ]),
        ),
      );
    }
  }

  if (data.robustness?.length) {
    const rows = data.robustness;
    sections.push('<h2>Robustness to perturbed media</h2>');
    sections.push(
      table(
        ['policy', 'perturbation', 'n', 'WAR', 'UAR', 'Δ text', 'Δ audio', 'Δ vision', 'top-1 evidence kept', 'verified overlap'],
        rows.map((r) => [
          r.policy,
          r.perturbation,
          String(r.n),
          pct(r.war),
          pct(r.uar),
          fmt(r.contributionShift.text, 3),
          fmt(r.contributionShift.audio, 3),
          fmt(r.contributionShift.vision, 3),
          pct(r.top1Agreement),
          fmt(r.verifiedJaccard, 3),
        ]),
      ),
      '<p class="note">Δ = mean change of a modality’s weight from the same clip read clean. Top-1 evidence kept: share of clips whose strongest verified item is the one it was on the clean clip. Verified overlap: mean Jaccard of the verified item sets.</p>',
    );
    const levelled = [...new Set(rows.filter((r) => r.level !== null).map((r) => r.kind))];
    for (const kind of levelled) {
      const clean = rows.filter((r) => r.kind === 'none');
      const values = rows
        .filter((r) => r.kind === kind)
        .map((r) => ({ step: r.level!, series: r.policy, value: r.war }))
        .concat(
          kind === 'noise' || kind === 'babble'
            ? clean.map((r) => ({ step: 40, series: r.policy, value: r.war })) // clean shown as 40 dB SNR
            : [],
        );
      sections.push(slot(addPlot(`robustness-${kind}`, `WAR under ${kind}`, lineChartSpec(`WAR under ${kind} (x: level)`, values, 'WAR'))));
    }
  }

  if (data.ratings?.length) {
    const hist = (h: readonly number[]) => h.join(' / ');
    sections.push(
      '<h2>Reviewer ratings of the explanations</h2>',
      table(
        [
          'fusion model',
          'ratings',
          'clarity mean',
          'clarity median',
          'clarity 1 / 2 / 3 / 4 / 5',
          'relevance mean',
          'relevance median',
          'relevance 1 / 2 / 3 / 4 / 5',
        ],
        data.ratings.map((m) => [
          m.fusionModel,
          String(m.count),
          fmt(m.clarity.mean, 2),
          fmt(m.clarity.median, 1),
          hist(m.clarity.histogram),
          fmt(m.relevance.mean, 2),
          fmt(m.relevance.median, 1),
          hist(m.relevance.histogram),
        ]),
      ),
      '<p class="note">Scores from 1 to 5 given by reviewers to the explanations of this API key’s videos (POST /v1/videos/{id}/ratings), grouped by the fusion model version that made each rated result. Clarity: how clear the explanation was; relevance: how much the cited evidence bore on the verdict.</p>',
    );
  }

  const problemRows = data.problems ?? [];
  const skippedRows = data.skipped ?? [];
  sections.push('<h2>Data problems and skipped clips</h2>');
  if (!problemRows.length && !skippedRows.length) {
    sections.push('<p>No malformed rows and no skipped clips were reported.</p>');
  } else {
    if (problemRows.length) {
      sections.push(
        table(
          ['source', 'malformed rows', 'examples'],
          problemRows.map((p) => [
            p.source,
            String(p.count),
            (p.examples ?? [])
              .slice(0, 5)
              .map((e) => `line ${e.row}: ${e.reason}`)
              .join('; '),
          ]),
        ),
      );
    }
    if (skippedRows.length)
      sections.push(
        table(
          ['source', 'skipped', 'reason'],
          skippedRows.map((s) => [s.source, String(s.count), s.reason]),
        ),
      );
  }

  const svgs: string[] = [];
  for (const p of plots) {
    const svg = await renderSvg(p.spec);
    const file = path.join(outDir, 'plots', `${p.name}.svg`);
    writeFileSync(file, svg);
    svgs.push(file);
    plotSlots.set(p.name, `<figure><div class="svg">${svg}</div><figcaption>${escapeHtml(p.title)}</figcaption></figure>`);
  }

  const title = data.title ?? 'OmniAffect evaluation report';
  const generatedAt = data.generatedAt ?? new Date().toISOString();
  const body = sections.map((s) => s.replace(/<!--plot:([a-z0-9-]+)-->/g, (_m, n: string) => plotSlots.get(n) ?? '')).join('\n');
  const notes = (data.notes ?? []).map((n) => `<li>${escapeHtml(n)}</li>`).join('');
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}.disclaimer{background:#fff7e0;border-left:4px solid #e0a800;padding:.5rem 1rem}
.note{color:#555;font-size:.9em}figure{display:inline-block;margin:.5rem 1rem .5rem 0}figcaption{font-size:.85em;color:#555}
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="note">Generated ${escapeHtml(generatedAt)}</p>
<p class="disclaimer"><strong>Expressions as perceived, not felt.</strong> ${escapeHtml(PERCEIVED_DISCLAIMER)}</p>
${notes ? `<ul>${notes}</ul>` : ''}
${body}
</body>
</html>
`;
  const jsonFile = path.join(outDir, 'report.json');
  const htmlFile = path.join(outDir, 'report.html');
  writeFileSync(jsonFile, toJson({ ...data, title, generatedAt, disclaimer: PERCEIVED_DISCLAIMER, plots: plots.map((p) => `plots/${p.name}.svg`) }));
  writeFileSync(htmlFile, html);
  return { json: jsonFile, html: htmlFile, svgs };
}
