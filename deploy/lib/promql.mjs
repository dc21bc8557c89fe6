// Pulls the series selectors, their label matchers and the grouping labels out of a PromQL expression,
// enough to check that dashboards, alerts and autoscalers only ask for series the services export.
import { parser } from '@prometheus-io/lezer-promql';

/** Grafana's interval variables become a plain duration so the expression reads as PromQL. */
export function stripGrafanaVariables(expr) {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{[^}]+\}|\$\w+/g, 'VAR');
}

/** A PromQL string literal's value: "…" and '…' take Go-style escapes (JSON's subset is what we use), `…` is raw. */
function stringValue(lit) {
  if (lit[0] === '`') return lit.slice(1, -1);
  const body = lit[0] === "'" ? lit.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"') : lit.slice(1, -1);
  return JSON.parse(`"${body}"`);
}

/**
 * → { selectors: [{metric, matchers: [{label, op, value}]}], grouping: [label] }, read from the syntax
 * tree of Prometheus's own grammar (@prometheus-io/lezer-promql, the parser of the Prometheus UI).
 * A syntax error throws: an expression Prometheus would refuse is a problem, not an empty result.
 */
export function parsePromql(expr) {
  const s = stripGrafanaVariables(expr);
  const tree = parser.parse(s);
  const text = (n) => s.slice(n.from, n.to);
  const selectors = [];
  const grouping = [];
  tree.iterate({
    enter(ref) {
      if (ref.type.isError)
        throw new Error(`PromQL syntax error at ${ref.from} (${JSON.stringify(s.slice(Math.max(0, ref.from - 10), ref.from + 10))}) in ${expr}`);
      if (ref.name === 'LabelName' && ref.node.parent?.name === 'GroupingLabels') grouping.push(text(ref.node));
      if (ref.name !== 'VectorSelector') return;
      const node = ref.node;
      let metric = node.getChild('Identifier') ? text(node.getChild('Identifier')) : null;
      const matchers = [];
      for (const m of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
        matchers.push({ label: text(m.getChild('LabelName')), op: text(m.getChild('MatchOp')), value: stringValue(text(m.getChild('StringLiteral'))) });
      }
      for (const m of node.getChild('LabelMatchers')?.getChildren('QuotedLabelMatcher') ?? []) {
        const [name, value] = m.getChildren('StringLiteral').map((x) => stringValue(text(x)));
        matchers.push({ label: name, op: text(m.getChild('MatchOp')), value });
      }
      // {"metric_name"} (Prometheus 3 quoted names) and {__name__="metric"}
      const quotedName = node.getChild('LabelMatchers')?.getChild('QuotedLabelName');
      if (!metric && quotedName) metric = stringValue(text(quotedName.getChild('StringLiteral')));
      const byName = matchers.find((m) => m.label === '__name__' && m.op === '=');
      if (!metric && byName) metric = byName.value;
      if (!metric) throw new Error(`selector without a metric name in ${expr}`);
      selectors.push({ metric, matchers: matchers.filter((m) => m !== byName) });
    },
  });
  return { selectors, grouping };
}

/**
 * Problems with an expression against the series catalog (name → allowed labels) and the known values
 * of a few labels that dashboards, alerts and autoscalers filter on: {label: [...]} or {'metric.label': [...]}.
 */
export function checkPromql(expr, catalog, knownValues = {}, where = '') {
  const problems = [];
  let parsed;
  try {
    parsed = parsePromql(expr);
  } catch (err) {
    return [`${where}: ${err.message}`];
  }
  if (parsed.selectors.length === 0) problems.push(`${where}: no metric in ${JSON.stringify(expr)}`);
  const usable = new Set(['le']);
  for (const { metric, matchers } of parsed.selectors) {
    const labels = catalog.get(metric);
    if (!labels) {
      problems.push(`${where}: metric ${metric} is not exported by any service (packages/core/src/metrics.ts or prom-client defaults)`);
      continue;
    }
    labels.forEach((l) => usable.add(l));
    for (const m of matchers) {
      if (m.label === '__name__') continue;
      if (!labels.includes(m.label)) problems.push(`${where}: ${metric} has no label ${m.label}`);
      const known = knownValues[`${metric}.${m.label}`] ?? knownValues[m.label];
      if (known && !m.value.includes('VAR')) {
        const vals = m.op === '=' || m.op === '!=' ? [m.value] : m.value.split('|');
        for (const v of vals)
          if (!/[.*+?()[\]]/.test(v) && !known.includes(v))
            problems.push(`${where}: ${metric}{${m.label}="${v}"}: no such ${m.label} (known: ${known.join(', ')})`);
      }
    }
  }
  for (const g of parsed.grouping) if (!usable.has(g)) problems.push(`${where}: grouping label ${g} is not a label of the metrics in the expression`);
  return problems;
}
