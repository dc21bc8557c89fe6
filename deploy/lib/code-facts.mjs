// What the ops files must agree with, read from the TypeScript sources (not the build), so the checks
// follow the code: service names, ports, queues, queue-depth states, shutdown timeouts and metric families.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

const read = (root, ...p) => readFileSync(path.join(root, ...p), 'utf8');
const num = (s) => Number(s.replace(/_/g, ''));

function one(re, text, what) {
  const m = re.exec(text);
  if (!m) throw new Error(`could not find ${what}`);
  return m;
}

/** prom-client 15 collectDefaultMetrics() on Linux: name → {type, labels}. Checked against prom-client itself by the test. */
export const PROM_CLIENT_DEFAULTS = {
  process_cpu_user_seconds_total: { type: 'counter', labels: [] },
  process_cpu_system_seconds_total: { type: 'counter', labels: [] },
  process_cpu_seconds_total: { type: 'counter', labels: [] },
  process_start_time_seconds: { type: 'gauge', labels: [] },
  process_resident_memory_bytes: { type: 'gauge', labels: [] },
  process_virtual_memory_bytes: { type: 'gauge', labels: [] },
  process_heap_bytes: { type: 'gauge', labels: [] },
  process_open_fds: { type: 'gauge', labels: [] },
  process_max_fds: { type: 'gauge', labels: [] },
  nodejs_eventloop_lag_seconds: { type: 'gauge', labels: [] },
  nodejs_eventloop_lag_min_seconds: { type: 'gauge', labels: [] },
  nodejs_eventloop_lag_max_seconds: { type: 'gauge', labels: [] },
  nodejs_eventloop_lag_mean_seconds: { type: 'gauge', labels: [] },
  nodejs_eventloop_lag_stddev_seconds: { type: 'gauge', labels: [] },
  nodejs_eventloop_lag_p50_seconds: { type: 'gauge', labels: [] },
  nodejs_eventloop_lag_p90_seconds: { type: 'gauge', labels: [] },
  nodejs_eventloop_lag_p99_seconds: { type: 'gauge', labels: [] },
  nodejs_active_resources: { type: 'gauge', labels: ['type'] },
  nodejs_active_resources_total: { type: 'gauge', labels: [] },
  nodejs_active_handles: { type: 'gauge', labels: ['type'] },
  nodejs_active_handles_total: { type: 'gauge', labels: [] },
  nodejs_active_requests: { type: 'gauge', labels: ['type'] },
  nodejs_active_requests_total: { type: 'gauge', labels: [] },
  nodejs_heap_size_total_bytes: { type: 'gauge', labels: [] },
  nodejs_heap_size_used_bytes: { type: 'gauge', labels: [] },
  nodejs_external_memory_bytes: { type: 'gauge', labels: [] },
  nodejs_heap_space_size_total_bytes: { type: 'gauge', labels: ['space'] },
  nodejs_heap_space_size_used_bytes: { type: 'gauge', labels: ['space'] },
  nodejs_heap_space_size_available_bytes: { type: 'gauge', labels: ['space'] },
  nodejs_version_info: { type: 'gauge', labels: ['version', 'major', 'minor', 'patch'] },
  nodejs_gc_duration_seconds: { type: 'histogram', labels: ['kind'] },
};

/** Series Prometheus adds itself for every target. */
export const PROMETHEUS_SERIES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'];

/** Labels Prometheus attaches from the target (compose: job/instance; k8s scrape adds namespace/pod). */
export const TARGET_LABELS = ['job', 'instance', 'namespace', 'pod'];

/** Metric families declared in packages/core/src/metrics.ts: name → {type, labels}. */
export function parseMetricFamilies(source) {
  const out = {};
  const re = /new (Histogram|Counter|Gauge)\(\{([\s\S]*?)\}\);/g;
  for (const m of source.matchAll(re)) {
    const name = one(/name:\s*'([^']+)'/, m[2], 'metric name').at(1);
    const labels = [...(/labelNames:\s*\[([^\]]*)\]/.exec(m[2])?.[1].matchAll(/'([^']+)'/g) ?? [])].map((x) => x[1]);
    out[name] = { type: m[1].toLowerCase(), labels };
  }
  if (Object.keys(out).length === 0) throw new Error('no metric families found in metrics.ts');
  return out;
}

/** Every series name a family produces, with the labels each may carry. */
export function seriesCatalog(families, defaultLabels) {
  const out = new Map();
  for (const [name, f] of Object.entries(families)) {
    const labels = [...f.labels, ...defaultLabels, ...TARGET_LABELS];
    if (f.type === 'histogram') {
      out.set(`${name}_bucket`, [...labels, 'le']);
      out.set(`${name}_sum`, labels);
      out.set(`${name}_count`, labels);
    } else out.set(name, labels);
  }
  return out;
}

export function readCodeFacts(root) {
  const services = readdirSync(path.join(root, 'services'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(root, 'services', d.name, 'src', 'main.ts')))
    .map((d) => d.name)
    .sort();
  const queuesTs = read(root, 'packages/core/src/queues.ts');
  const queueBlock = one(/export const QUEUES = \{([\s\S]*?)\}/, queuesTs, 'QUEUES').at(1);
  const queuesByKey = Object.fromEntries([...queueBlock.matchAll(/([\w]+|'[^']+'):\s*'([^']+)'/g)].map((m) => [m[1].replace(/'/g, ''), m[2]]));
  const queueStates = [...one(/getJobCounts\(([^)]*)\)/, queuesTs, 'getJobCounts').at(1).matchAll(/'([^']+)'/g)].map((m) => m[1]);
  const stageOutcomes = [...one(/type StageOutcome = ([^;]+);/, queuesTs, 'StageOutcome').at(1).matchAll(/'([^']+)'/g)].map((m) => m[1]);
  const stages = [...one(/export const STAGES = \[([^\]]*)\]/, read(root, 'packages/core/src/labels.ts'), 'STAGES').at(1).matchAll(/'([^']+)'/g)].map((m) => m[1]);
  const webhookLine = one(/webhookDeliveries\.inc\(([^\n]*)/, read(root, 'services/orchestrator/src/webhooks.ts'), 'webhook outcome').at(1);
  const webhookOutcomes = [...new Set([...webhookLine.matchAll(/'([^']+)'/g)].map((m) => m[1]))];
  const runtimeTs = read(root, 'packages/core/src/service-runtime.ts');
  const defaultShutdownMs = num(one(/SHUTDOWN_TIMEOUT_MS \?\? ([\d_]+)/, runtimeTs, 'SHUTDOWN_TIMEOUT_MS default').at(1));
  const configTs = read(root, 'packages/core/src/config.ts');
  const executionProvider = new RegExp(one(/EXECUTION_PROVIDER:[^\n]*?\.regex\(\/(.+?)\/,/, configTs, 'EXECUTION_PROVIDER regex').at(1));

  const svc = {};
  for (const name of services) {
    const main = read(root, 'services', name, 'src', 'main.ts');
    // A service's variables live in main.ts or, once they grow, in its own config.ts.
    const extra = existsSync(path.join(root, 'services', name, 'src', 'config.ts')) ? read(root, 'services', name, 'src', 'config.ts') : '';
    const all = main + extra;
    const s = { name, queue: null, port: null, grpcPort: null, shutdownEnv: true, shutdownMs: defaultShutdownMs, modelWorker: /runModelWorker\(/.test(main), readsModels: /MODEL_DIR/.test(main) };
    const q = /queue:\s*QUEUES\.(\w+)/.exec(main);
    if (q) s.queue = queuesByKey[q[1]];
    if (name === 'gateway') {
      s.port = num(one(/\bPORT:\s*port\((\d[\d_]*)\)/, all, 'gateway PORT').at(1));
      // The gateway's shutdown timeout is a constant, not SHUTDOWN_TIMEOUT_MS from the environment.
      s.shutdownEnv = false;
      s.shutdownMs = num(one(/SHUTDOWN_TIMEOUT_MS = ([\d_]+)/, main, 'gateway SHUTDOWN_TIMEOUT_MS').at(1));
      s.hostEnv = ['HOST'];
    } else {
      const p = /opsPort:\s*(\d[\d_]*)/.exec(all) ?? /OPS_PORT:\s*port\((\d[\d_]*)\)/.exec(all);
      if (!p) throw new Error(`no ops port default for ${name}`);
      s.port = num(p[1]);
      s.hostEnv = ['OPS_HOST'];
    }
    const g = /GRPC_PORT:\s*port\((\d[\d_]*)\)/.exec(all);
    if (g) {
      s.grpcPort = num(g[1]);
      s.hostEnv.push('GRPC_HOST');
    }
    svc[name] = s;
  }
  const families = parseMetricFamilies(read(root, 'packages/core/src/metrics.ts'));
  const catalog = seriesCatalog(families, ['service']);
  for (const [n, f] of Object.entries(PROM_CLIENT_DEFAULTS)) for (const [k, v] of seriesCatalog({ [n]: f }, ['service'])) catalog.set(k, v);
  for (const n of PROMETHEUS_SERIES) catalog.set(n, TARGET_LABELS);
  return { services, svc, queues: Object.values(queuesByKey), queueStates, stageOutcomes, stages, webhookOutcomes, defaultShutdownMs, executionProvider, families, catalog };
}
