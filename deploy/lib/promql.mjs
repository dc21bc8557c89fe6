// Pulls the series selectors, their label matchers and the grouping labels out of a PromQL expression,
// enough to check that dashboards, alerts and autoscalers only ask for series the services export.

const KEYWORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group', 'limitk', 'limit_ratio',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan',
]);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

/** Grafana's interval variables become a plain duration so the expression reads as PromQL. */
export function stripGrafanaVariables(expr) {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{[^}]+\}|\$\w+/g, 'VAR');
}

/** → { selectors: [{metric, matchers: [{label, op, value}]}], grouping: [label] } */
export function parsePromql(expr) {
  const s = stripGrafanaVariables(expr);
  const selectors = [];
  const grouping = [];
  let i = 0;
  const ws = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const matchersAt = () => {
    // s[i] === '{'
    const close = findClose(s, i, '{', '}');
    const body = s.slice(i + 1, close);
    i = close + 1;
    const out = [];
    const re = /\s*([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*(,|$)/gy;
    let consumed = 0;
    for (const m of body.matchAll(re)) {
      out.push({ label: m[1], op: m[2], value: JSON.parse(m[3][0] === '"' ? m[3] : JSON.stringify(m[3].slice(1, -1))) });
      consumed = m.index + m[0].length;
    }
    if (body.slice(consumed).trim() !== '') throw new Error(`cannot read label matchers {${body}} in ${expr}`);
    return out;
  };
  while (i < s.length) {
    const c = s[i];
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(s, i);
    } else if (c === '[') {
      i = findClose(s, i, '[', ']') + 1;
    } else if (c === '{') {
      const ms = matchersAt();
      const name = ms.find((m) => m.label === '__name__' && m.op === '=');
      if (!name) throw new Error(`selector without a metric name in ${expr}`);
      selectors.push({ metric: name.value, matchers: ms.filter((m) => m !== name) });
    } else if (/[A-Za-z_:]/.test(c)) {
      const m = /^[A-Za-z_:][\w:]*/.exec(s.slice(i));
      const word = m[0];
      i += word.length;
      ws();
      if (GROUPING.has(word)) {
        if (s[i] === '(') {
          const close = findClose(s, i, '(', ')');
          grouping.push(...s.slice(i + 1, close).split(',').map((x) => x.trim()).filter(Boolean));
          i = close + 1;
        }
      } else if (KEYWORDS.has(word.toLowerCase()) || s[i] === '(') {
        // aggregation, keyword or function call: its arguments are scanned as we go
      } else {
        selectors.push({ metric: word, matchers: s[i] === '{' ? matchersAt() : [] });
      }
    } else {
      i++;
    }
  }
  return { selectors, grouping };
}

function skipString(s, i) {
  const q = s[i];
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === '\\' && q !== '`') j++;
    else if (s[j] === q) return j + 1;
  }
  throw new Error(`unterminated string in ${s}`);
}

function findClose(s, i, open, close) {
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    if (s[j] === '"' || s[j] === "'" || s[j] === '`') {
      j = skipString(s, j) - 1;
      continue;
    }
    if (s[j] === open) depth++;
    else if (s[j] === close && --depth === 0) return j;
  }
  throw new Error(`unbalanced ${open}${close} in ${s}`);
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
        for (const v of vals) if (!/[.*+?()[\]]/.test(v) && !known.includes(v)) problems.push(`${where}: ${metric}{${m.label}="${v}"}: no such ${m.label} (known: ${known.join(', ')})`);
      }
    }
  }
  for (const g of parsed.grouping) if (!usable.has(g)) problems.push(`${where}: grouping label ${g} is not a label of the metrics in the expression`);
  return problems;
}
