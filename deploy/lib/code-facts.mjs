// What the ops files must agree with, taken from the built modules (`pnpm build`) rather than read out of
// the TypeScript with regexes, so the checks see exactly what the services run: the metric registry,
// the queue names, the stages, the default ports and the config schemas. The few facts no module
// exports as a value (noted below) are still read from the sources.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/** Series Prometheus adds itself for every target. */
export const PROMETHEUS_SERIES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'];

/** Labels Prometheus attaches from the target (compose: job/instance; k8s scrape adds namespace/pod). */
export const TARGET_LABELS = ['job', 'instance', 'namespace', 'pod'];

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

function requireBuilt(root, rel) {
  const file = path.resolve(root, rel);
  if (!existsSync(file)) throw new Error(`${rel} is missing: the ops checks read the built modules, run \`pnpm build\` first`);
  return createRequire(import.meta.url)(file);
}

/**
 * The metric registry a service builds (ServiceMetrics registers the omniaffect_* families and
 * prom-client's default metrics): name → {type, labels}, split into ours and prom-client's.
 */
export function registryFamilies(core) {
  const metrics = new core.ServiceMetrics('deploy-check').registry.getMetricsAsArray();
  const families = {};
  const defaults = {};
  for (const m of metrics) (m.name.startsWith('omniaffect_') ? families : defaults)[m.name] = { type: m.type, labels: [...(m.labelNames ?? [])] };
  if (Object.keys(families).length === 0) throw new Error('ServiceMetrics registers no omniaffect_* families');
  return { families, defaults };
}

/** The zod shape a service's config.ts exports (`<name>Env`), if it has one: its defaults are what it binds. */
function serviceEnvShape(root, name) {
  const rel = path.join('services', name, 'dist', 'src', 'config.js');
  if (!existsSync(path.join(root, rel))) return null;
  const mod = createRequire(import.meta.url)(path.resolve(root, rel));
  return Object.values(mod).find((v) => v && typeof v === 'object' && ('OPS_PORT' in v || 'PORT' in v)) ?? null;
}
const defaultOf = (schema) => schema?.safeParse(undefined)?.data;

const read = (root, ...p) => readFileSync(path.join(root, ...p), 'utf8');

function one(re, text, what) {
  const m = re.exec(text);
  if (!m) throw new Error(`could not find ${what}`);
  return m;
}

export function readCodeFacts(root) {
  const core = requireBuilt(root, 'packages/core/dist/src/index.js');
  const services = readdirSync(path.join(root, 'services'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(root, 'services', d.name, 'src', 'main.ts')))
    .map((d) => d.name)
    .sort();
  const queuesByKey = { ...core.QUEUES };
  const defaultShutdownMs = defaultOf(core.baseEnv.SHUTDOWN_TIMEOUT_MS);
  // The config schema itself decides which EXECUTION_PROVIDER values are accepted.
  const executionProvider = { test: (v) => core.modelWorkerEnv.EXECUTION_PROVIDER.safeParse(v).success };
  // Not exported as values (yet): the states the queue-depth gauge reports are the arguments of one
  // getJobCounts() call, and the webhook outcomes the literals of one inc() call.
  const queueStates = [
    ...one(/getJobCounts\(([^)]*)\)/, read(root, 'packages/core/src/queues.ts'), 'getJobCounts')
      .at(1)
      .matchAll(/'([^']+)'/g),
  ].map((m) => m[1]);
  const webhookLine = one(/webhookDeliveries\.inc\(([^\n]*)/, read(root, 'services/orchestrator/src/webhooks.ts'), 'webhook outcome').at(1);
  const webhookOutcomes = [...new Set([...webhookLine.matchAll(/'([^']+)'/g)].map((m) => m[1]))];

  const svc = {};
  for (const name of services) {
    const main = read(root, 'services', name, 'src', 'main.ts');
    const configSrc = existsSync(path.join(root, 'services', name, 'src', 'config.ts')) ? read(root, 'services', name, 'src', 'config.ts') : '';
    const env = serviceEnvShape(root, name);
    const readsModels = (env !== null && 'MODEL_DIR' in env) || /MODEL_DIR|modelWorkerEnv/.test(main + configSrc);
    const s = {
      name,
      queue: null,
      port: null,
      grpcPort: null,
      shutdownEnv: true,
      shutdownMs: defaultShutdownMs,
      modelWorker: /runModelWorker\(/.test(main),
      readsModels,
    };
    // Which queue a worker consumes is an argument in main.ts (`stage: 'asr'` for model workers, whose
    // queue is STAGE_QUEUES[stage]; `queue: QUEUES.x` otherwise), not an exported value.
    const st = /\bstage:\s*'([^']+)'/.exec(main);
    const q = /queue:\s*QUEUES\.(\w+)/.exec(main);
    if (q) s.queue = queuesByKey[q[1]];
    else if (st) s.queue = core.STAGE_QUEUES[st[1]] ?? null;
    if (name === 'gateway') {
      s.port = defaultOf(env?.PORT) ?? core.DEFAULT_PORTS.gateway;
      s.hostEnv = ['HOST'];
    } else {
      s.port = defaultOf(env?.OPS_PORT) ?? core.DEFAULT_PORTS.ops[name];
      if (s.port === undefined) throw new Error(`no ops port default for ${name}`);
      s.hostEnv = ['OPS_HOST'];
    }
    const grpc = defaultOf(env?.GRPC_PORT) ?? { orchestrator: core.DEFAULT_PORTS.orchestratorGrpc, fusion: core.DEFAULT_PORTS.fusionGrpc }[name];
    if (grpc) {
      s.grpcPort = grpc;
      s.hostEnv.push('GRPC_HOST');
    }
    svc[name] = s;
  }
  const { families, defaults } = registryFamilies(core);
  const catalog = seriesCatalog(families, ['service']);
  for (const [k, v] of seriesCatalog(defaults, ['service'])) catalog.set(k, v);
  for (const n of PROMETHEUS_SERIES) catalog.set(n, TARGET_LABELS);
  return {
    services,
    svc,
    queues: Object.values(queuesByKey),
    queueStates,
    stageOutcomes: [...core.STAGE_OUTCOMES],
    stages: [...core.STAGES],
    webhookOutcomes,
    defaultShutdownMs,
    executionProvider,
    families,
    promClientDefaults: defaults,
    catalog,
  };
}
