/**
 * Vega-Lite specs for the evaluation report and a server-side SVG renderer. vega and vega-lite are ES modules
 * with top-level await, so this CommonJS package reaches them through dynamic import().
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type VegaLiteSpec = Record<string, any>;

type VegaModule = typeof import('vega', { with: { 'resolution-mode': 'import' } });
type VegaLiteModule = typeof import('vega-lite', { with: { 'resolution-mode': 'import' } });
let modules: Promise<[VegaModule, VegaLiteModule]> | null = null;

function loadVega(): Promise<[VegaModule, VegaLiteModule]> {
  modules ??= Promise.all([import('vega'), import('vega-lite')]);
  return modules;
}

/** Renders a Vega-Lite spec to an SVG string without a browser (renderer 'none', no network loaders). */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const [vega, vl] = await loadVega();
  const compiled = vl.compile(spec as Parameters<VegaLiteModule['compile']>[0]).spec;
  // A loader that refuses every fetch keeps the report self-contained even if a spec names a URL.
  const loader = vega.loader();
  loader.load = async (uri: string) => {
    throw new Error(`renderSvg: external data (${uri}) is not allowed`);
  };
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const FONT = { config: { font: 'sans-serif', view: { stroke: null } } };

export function confusionMatrixSpec(title: string, labels: readonly string[], confusion: readonly (readonly number[])[]): VegaLiteSpec {
  const values: { gold: string; predicted: string; count: number; rowShare: number }[] = [];
  confusion.forEach((row, g) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => values.push({ gold: labels[g]!, predicted: labels[p]!, count, rowShare: total ? count / total : 0 }));
  });
  const order = [...labels];
  return {
    ...FONT,
    title,
    data: { values },
    width: Math.max(120, 48 * labels.length),
    height: Math.max(120, 48 * labels.length),
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: order, title: 'predicted' },
      y: { field: 'gold', type: 'nominal', sort: order, title: 'gold' },
    },
    layer: [
      {
        mark: 'rect',
        encoding: {
          color: { field: 'rowShare', type: 'quantitative', scale: { domain: [0, 1], scheme: 'blues' }, title: 'share of gold row' },
        },
      },
      {
        mark: { type: 'text', fontSize: 12 },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.rowShare > 0.5', value: 'white' }, value: 'black' },
        },
      },
    ],
  };
}

export interface ModalityContributionRow {
  language: string;
  text: number;
  audio: number;
  vision: number;
}

export function modalityContributionSpec(rows: readonly ModalityContributionRow[]): VegaLiteSpec {
  const values = rows.flatMap((r) => (['text', 'audio', 'vision'] as const).map((m) => ({ language: r.language, modality: m, contribution: r[m] })));
  return {
    ...FONT,
    title: 'Mean modality contribution per language',
    data: { values },
    width: 260,
    height: 180,
    mark: 'bar',
    encoding: {
      x: { field: 'modality', type: 'nominal', sort: ['text', 'audio', 'vision'] },
      xOffset: { field: 'language', type: 'nominal' },
      y: { field: 'contribution', type: 'quantitative', scale: { domain: [0, 1] } },
      color: { field: 'language', type: 'nominal' },
    },
  };
}

export interface FaithfulnessRow {
  /** What was erased: 'modality', 'words', 'segments', 'frames'… */
  scope: string;
  comprehensiveness: number;
  sufficiency: number;
}

export function faithfulnessSpec(rows: readonly FaithfulnessRow[]): VegaLiteSpec {
  const values = rows.flatMap((r) => [
    { scope: r.scope, metric: 'comprehensiveness (↑)', value: r.comprehensiveness },
    { scope: r.scope, metric: 'sufficiency (↓)', value: r.sufficiency },
  ]);
  return {
    ...FONT,
    title: 'Faithfulness (ERASER-style)',
    data: { values },
    width: 260,
    height: 180,
    mark: 'bar',
    encoding: {
      x: { field: 'scope', type: 'nominal' },
      xOffset: { field: 'metric', type: 'nominal' },
      y: { field: 'value', type: 'quantitative' },
      color: { field: 'metric', type: 'nominal' },
    },
  };
}

export function lineChartSpec(title: string, values: readonly { step: number; series: string; value: number }[], yTitle: string): VegaLiteSpec {
  return {
    ...FONT,
    title,
    data: { values: [...values] },
    width: 360,
    height: 180,
    mark: { type: 'line', point: values.length <= 60 },
    encoding: {
      x: { field: 'step', type: 'quantitative' },
      y: { field: 'value', type: 'quantitative', title: yTitle },
      color: { field: 'series', type: 'nominal' },
    },
  };
}
