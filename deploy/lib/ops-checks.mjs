// Checks of the ops files against the code facts. Each returns a list of problems (empty = fine), so the
// test can show that a broken file is caught as well as that the real files pass.
import { containersOf } from './manifests.mjs';
import { checkPromql, parsePromql } from './promql.mjs';

export function knownLabelValues(facts) {
  return {
    queue: facts.queues,
    state: facts.queueStates,
    stage: facts.stages,
    service: facts.services,
    'omniaffect_stage_duration_seconds_count.outcome': facts.stageOutcomes,
    'omniaffect_stage_duration_seconds_bucket.outcome': facts.stageOutcomes,
    'omniaffect_stage_duration_seconds_sum.outcome': facts.stageOutcomes,
    'omniaffect_webhook_deliveries_total.outcome': facts.webhookOutcomes,
  };
}

/** Every PromQL expression of a Grafana dashboard, with where it sits. */
export function dashboardQueries(dash) {
  const out = [];
  const walk = (panels) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dash.panels);
  for (const v of dash.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    // label_values(selector, label): only the selector is PromQL.
    const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q ?? '');
    out.push({ where: `variable ${v.name}`, expr: m ? m[1] : q, label: m?.[2] });
  }
  return out;
}

export function checkDashboard(dash, facts) {
  const problems = [];
  const queries = dashboardQueries(dash);
  if (queries.length === 0) problems.push('dashboard has no queries');
  const used = new Set();
  const ids = new Set();
  const visit = (panels) => {
    for (const p of panels ?? []) {
      if (ids.has(p.id)) problems.push(`panel id ${p.id} is used twice`);
      ids.add(p.id);
      if (p.type !== 'row' && !(p.targets ?? []).length) problems.push(`panel "${p.title}" has no query`);
      if (!p.gridPos) problems.push(`panel "${p.title}" has no gridPos`);
      visit(p.panels);
    }
  };
  visit(dash.panels);
  for (const q of queries) {
    problems.push(...checkPromql(q.expr, facts.catalog, knownLabelValues(facts), q.where));
    for (const s of safeSelectors(q.expr)) used.add(s.metric.replace(/_(bucket|sum|count)$/, ''));
    if (q.label) {
      const sel = safeSelectors(q.expr)[0];
      if (sel && !facts.catalog.get(sel.metric)?.includes(q.label)) problems.push(`${q.where}: ${sel.metric} has no label ${q.label}`);
    }
  }
  // The dashboard is the place to see every family the services export.
  for (const f of Object.keys(facts.families)) if (!used.has(f)) problems.push(`no panel shows ${f}`);
  for (const f of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
    if (!used.has(f)) problems.push(`no panel shows ${f}`);
  }
  return problems;
}

function safeSelectors(expr) {
  try {
    return parsePromql(expr).selectors;
  } catch {
    return [];
  }
}

export const REQUIRED_ALERTS = {
  'service down': /^up\b/,
  'queue backlog growing': /omniaffect_queue_jobs/,
  'stage failure ratio': /omniaffect_stage_duration_seconds_count\{outcome="failed"\}/,
  'webhook failures': /omniaffect_webhook_deliveries_total/,
  'inference latency p95': /histogram_quantile\(0\.95,.*omniaffect_inference_seconds_bucket/,
  'videos failing': /omniaffect_videos_total\{status="failed"\}/,
};

export function checkAlerts(doc, facts) {
  const problems = [];
  const rules = (doc.groups ?? []).flatMap((g) => g.rules ?? []);
  if (rules.length === 0) problems.push('no alert rules');
  for (const r of rules) {
    const where = `alert ${r.alert ?? r.record}`;
    if (!r.alert) problems.push(`${where}: only alerting rules are expected`);
    if (typeof r.expr !== 'string') {
      problems.push(`${where}: no expr`);
      continue;
    }
    problems.push(...checkPromql(r.expr, facts.catalog, knownLabelValues(facts), where));
    if (!r.labels?.severity) problems.push(`${where}: no severity label`);
    if (!r.annotations?.summary) problems.push(`${where}: no summary annotation`);
  }
  for (const [what, re] of Object.entries(REQUIRED_ALERTS)) {
    if (!rules.some((r) => typeof r.expr === 'string' && re.test(r.expr.replace(/\s+/g, ' ')))) problems.push(`no alert for ${what}`);
  }
  return problems;
}

/** The compose Prometheus must scrape every service on the port it serves /metrics on. */
export function checkPrometheusConfig(prom, facts) {
  const problems = [];
  const targets = [];
  for (const sc of prom.scrape_configs ?? []) {
    for (const sd of sc.dns_sd_configs ?? []) for (const n of sd.names ?? []) targets.push({ host: n, port: sd.port });
    for (const st of sc.static_configs ?? [])
      for (const t of st.targets ?? []) {
        const [host, port] = t.split(':');
        targets.push({ host, port: Number(port) });
      }
  }
  for (const name of facts.services) {
    const port = facts.svc[name].port;
    if (!targets.some((t) => t.host === name && t.port === port)) problems.push(`prometheus does not scrape ${name}:${port}`);
  }
  for (const t of targets) {
    const base = t.host.replace(/-gpu$/, '');
    if (!facts.svc[base]) problems.push(`prometheus scrapes unknown host ${t.host}`);
    else if (facts.svc[base].port !== t.port) problems.push(`prometheus scrapes ${t.host}:${t.port} but ${base} serves /metrics on ${facts.svc[base].port}`);
  }
  if (!(prom.rule_files ?? []).includes('alerts.yml')) problems.push('prometheus does not load alerts.yml');
  return problems;
}

const seconds = (v) => {
  const m = /^(\d+)(ms|s|m)$/.exec(String(v));
  if (!m) return NaN;
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[m[2]];
};

export function checkCompose(compose, facts) {
  const problems = [];
  const services = compose.services ?? {};
  const redis = services.redis;
  const redisCmd = [redis?.command ?? []].flat().join(' ');
  if (!/--maxmemory-policy noeviction/.test(redisCmd)) problems.push('redis must run with maxmemory-policy noeviction');
  if (!/--appendonly yes/.test(redisCmd)) problems.push('redis must run with appendonly yes (AOF)');
  if (!/^postgres:15/.test(services.postgres?.image ?? '')) problems.push('postgres must be postgres:15');
  for (const [key, s] of Object.entries(services)) {
    const svcName = [s.command ?? []].flat()[0];
    const f = facts.svc[svcName];
    if (!f) continue;
    const env = s.environment ?? {};
    const where = `compose service ${key}`;
    for (const h of f.hostEnv) if (env[h] !== '0.0.0.0') problems.push(`${where}: ${h} must be 0.0.0.0 (the code binds 127.0.0.1 by default)`);
    const portVar = svcName === 'gateway' ? 'PORT' : 'OPS_PORT';
    const port = env[portVar] !== undefined ? Number(env[portVar]) : f.port;
    if (port !== f.port) problems.push(`${where}: ${portVar}=${port} but probes and Prometheus expect ${f.port}`);
    const hc = [s.healthcheck?.test ?? []].flat().join(' ');
    if (!hc.includes(String(port)) || !hc.includes('/readyz')) problems.push(`${where}: healthcheck must call /readyz on port ${port}`);
    const timeout = f.shutdownEnv && env.SHUTDOWN_TIMEOUT_MS !== undefined ? Number(env.SHUTDOWN_TIMEOUT_MS) : f.shutdownMs;
    if (!(seconds(s.stop_grace_period ?? '10s') * 1000 > timeout))
      problems.push(`${where}: stop_grace_period ${s.stop_grace_period ?? '10s (default)'} is not longer than the ${timeout} ms shutdown timeout`);
    const vols = (s.volumes ?? []).map(String);
    const artifactDir = env.ARTIFACT_DIR;
    if (!artifactDir || !vols.some((v) => v.split(':')[1] === artifactDir && !v.endsWith(':ro')))
      problems.push(`${where}: the shared artifacts volume must be mounted read-write at ARTIFACT_DIR`);
    if (f.readsModels && !vols.some((v) => v.split(':')[1] === env.MODEL_DIR)) problems.push(`${where}: the models volume must be mounted at MODEL_DIR`);
    if (env.EXECUTION_PROVIDER !== undefined && !facts.executionProvider.test(env.EXECUTION_PROVIDER))
      problems.push(`${where}: EXECUTION_PROVIDER ${env.EXECUTION_PROVIDER} is rejected by the config schema`);
    if ((s.profiles ?? []).includes('gpu')) {
      const devices = s.deploy?.resources?.reservations?.devices ?? [];
      if (!devices.some((d) => (d.capabilities ?? []).includes('gpu'))) problems.push(`${where}: GPU profile service must reserve a GPU device`);
      if (!/^cuda/.test(env.EXECUTION_PROVIDER ?? '')) problems.push(`${where}: GPU profile service must set EXECUTION_PROVIDER=cuda:<id>`);
    }
  }
  const run = Object.values(services).map((s) => [s.command ?? []].flat()[0]);
  for (const name of facts.services) if (!run.includes(name)) problems.push(`compose does not run ${name}`);
  for (const name of facts.services.filter((n) => facts.svc[n].modelWorker)) {
    if (!Object.values(services).some((s) => (s.profiles ?? []).includes('gpu') && [s.command ?? []].flat()[0] === name))
      problems.push(`compose has no GPU variant of ${name}`);
  }
  if (!(services.gateway?.ports ?? []).some((p) => /^(\d+\.\d+\.\d+\.\d+:)?8080:8080$/.test(String(p))))
    problems.push('compose must publish the gateway on 8080');
  return problems;
}

/** Resolves a container's environment: explicit env wins over ConfigMap envFrom. */
function containerEnv(c, configMaps) {
  const env = {};
  for (const ef of c.envFrom ?? []) {
    const cm = ef.configMapRef && configMaps.get(ef.configMapRef.name);
    if (ef.configMapRef && !cm) env.__missing = `ConfigMap ${ef.configMapRef.name}`;
    Object.assign(env, cm?.data ?? {});
  }
  for (const e of c.env ?? []) env[e.name] = e.value ?? { from: e.valueFrom };
  return env;
}

export function checkManifests(resources, facts, { gpu = false } = {}) {
  const problems = [];
  const byKind = (k) => resources.filter((r) => r.kind === k);
  const configMaps = new Map(byKind('ConfigMap').map((c) => [c.metadata.name, c]));
  const pvcs = new Map(byKind('PersistentVolumeClaim').map((p) => [p.metadata.name, p]));
  const deployments = byKind('Deployment');
  const podLabels = (d) => d.spec?.template?.metadata?.labels ?? {};
  const selects = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v) && Object.keys(selector ?? {}).length > 0;
  const seen = new Map();

  if (!byKind('Namespace').length) problems.push('no Namespace');
  for (const d of deployments) {
    const where = `Deployment ${d.metadata.name}`;
    const containers = containersOf(d);
    const c = containers[0];
    const svcName = c?.args?.[0];
    const f = facts.svc[svcName];
    if (!f) {
      problems.push(`${where}: args[0] ${svcName} is not a service in services/`);
      continue;
    }
    if (seen.has(svcName)) problems.push(`${where}: ${svcName} is also run by ${seen.get(svcName)}`);
    seen.set(svcName, where);
    if (!selects(d.spec.selector?.matchLabels, podLabels(d))) problems.push(`${where}: selector does not match its pod labels`);
    const env = containerEnv(c, configMaps);
    if (env.__missing) problems.push(`${where}: envFrom refers to a missing ${env.__missing}`);
    const portVar = svcName === 'gateway' ? 'PORT' : 'OPS_PORT';
    const listen = env[portVar] !== undefined ? Number(env[portVar]) : f.port;
    if (listen !== f.port) problems.push(`${where}: ${portVar}=${listen} differs from the port Prometheus and the compose file use (${f.port})`);
    for (const h of f.hostEnv) if (env[h] !== '0.0.0.0') problems.push(`${where}: ${h} must be 0.0.0.0 or the kubelet's probes cannot connect`);
    if (f.grpcPort) {
      const g = env.GRPC_PORT !== undefined ? Number(env.GRPC_PORT) : f.grpcPort;
      if (!(c.ports ?? []).some((p) => p.containerPort === g)) problems.push(`${where}: gRPC port ${g} is not declared`);
    }
    const portOf = (p) => (typeof p === 'number' ? p : (c.ports ?? []).find((x) => x.name === p)?.containerPort);
    for (const [probe, path] of [
      ['readinessProbe', '/readyz'],
      ['livenessProbe', '/healthz'],
    ]) {
      const hg = c[probe]?.httpGet;
      if (!hg) problems.push(`${where}: no ${probe}`);
      else {
        if (hg.path !== path) problems.push(`${where}: ${probe} must GET ${path}, not ${hg.path}`);
        if (portOf(hg.port) !== listen) problems.push(`${where}: ${probe} port ${hg.port} is not the port the service listens on (${listen})`);
      }
    }
    const timeout = f.shutdownEnv && env.SHUTDOWN_TIMEOUT_MS !== undefined ? Number(env.SHUTDOWN_TIMEOUT_MS) : f.shutdownMs;
    const grace = d.spec.template.spec.terminationGracePeriodSeconds ?? 30;
    const sleep = c.lifecycle?.preStop?.exec?.command?.[0] === 'sleep' ? Number(c.lifecycle.preStop.exec.command[1]) : 0;
    if (!(grace * 1000 > timeout + sleep * 1000))
      problems.push(
        `${where}: terminationGracePeriodSeconds ${grace} must exceed the ${timeout} ms shutdown timeout${sleep ? ` plus the ${sleep} s preStop sleep` : ''}`,
      );
    if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory || !c.resources?.limits?.memory)
      problems.push(`${where}: cpu/memory requests and a memory limit are required`);
    if (env.EXECUTION_PROVIDER !== undefined && typeof env.EXECUTION_PROVIDER === 'string' && !facts.executionProvider.test(env.EXECUTION_PROVIDER))
      problems.push(`${where}: EXECUTION_PROVIDER ${env.EXECUTION_PROVIDER} is rejected by the config schema`);
    const secretKeys = (c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.valueFrom.secretKeyRef.key);
    const needs =
      svcName === 'gateway' ? ['OMNIAFFECT_API_KEYS'] : ['REDIS_URL', ...(svcName === 'orchestrator' || svcName === 'fusion' ? ['DATABASE_URL'] : [])];
    for (const k of needs) if (!secretKeys.includes(k)) problems.push(`${where}: ${k} must come from the Secret`);
    // Volumes: the shared artifacts store read-write everywhere, the models read-only where models are loaded.
    const vols = new Map((d.spec.template.spec.volumes ?? []).map((v) => [v.name, v]));
    const mountOf = (dir) => (c.volumeMounts ?? []).find((m) => m.mountPath === dir);
    const claimAt = (dir) => pvcs.get(vols.get(mountOf(dir)?.name)?.persistentVolumeClaim?.claimName);
    const art = claimAt(env.ARTIFACT_DIR);
    if (!art) problems.push(`${where}: ARTIFACT_DIR ${env.ARTIFACT_DIR} is not a mounted PVC`);
    else if (!(art.spec.accessModes ?? []).includes('ReadWriteMany') || mountOf(env.ARTIFACT_DIR).readOnly)
      problems.push(`${where}: the artifacts PVC must be ReadWriteMany and mounted read-write`);
    if (f.readsModels) {
      const models = claimAt(env.MODEL_DIR);
      if (!models) problems.push(`${where}: MODEL_DIR ${env.MODEL_DIR} is not a mounted PVC`);
      else if (!(models.spec.accessModes ?? []).includes('ReadOnlyMany') || !mountOf(env.MODEL_DIR).readOnly)
        problems.push(`${where}: the models PVC must be ReadOnlyMany and mounted read-only`);
    }
    if (!byKind('PodDisruptionBudget').some((p) => selects(p.spec.selector?.matchLabels, podLabels(d))))
      problems.push(`${where}: no PodDisruptionBudget selects it`);
    if (gpu && f.modelWorker) {
      const spec = d.spec.template.spec;
      if (String(c.resources?.limits?.['nvidia.com/gpu']) !== '1') problems.push(`${where}: needs nvidia.com/gpu: 1 in limits`);
      if (!(spec.tolerations ?? []).some((t) => t.key === 'nvidia.com/gpu' && t.effect === 'NoSchedule'))
        problems.push(`${where}: needs a nvidia.com/gpu NoSchedule toleration`);
      if (!Object.keys(spec.nodeSelector ?? {}).length) problems.push(`${where}: needs a GPU nodeSelector`);
      if (!/cuda/.test(c.image)) problems.push(`${where}: image ${c.image} is not the CUDA variant`);
      if (!/^cuda/.test(env.EXECUTION_PROVIDER ?? '')) problems.push(`${where}: EXECUTION_PROVIDER must be cuda:<id>`);
    }
    if (!gpu && c.resources?.limits?.['nvidia.com/gpu']) problems.push(`${where}: the base must not request GPUs`);
  }
  for (const name of facts.services) if (!seen.has(name)) problems.push(`no Deployment runs ${name}`);

  for (const name of ['gateway', 'orchestrator', 'fusion']) {
    const s = byKind('Service').find((x) => x.metadata.name === name);
    const d = deployments.find((x) => containersOf(x)[0]?.args?.[0] === name);
    if (!s) {
      problems.push(`no Service ${name}`);
      continue;
    }
    if (d && !selects(s.spec.selector, podLabels(d))) problems.push(`Service ${name} does not select the ${name} pods`);
    for (const p of s.spec.ports ?? []) {
      const c = d && containersOf(d)[0];
      if (c && typeof p.targetPort === 'string' && !(c.ports ?? []).some((x) => x.name === p.targetPort))
        problems.push(`Service ${name}: targetPort ${p.targetPort} is not a container port`);
    }
  }
  for (const [url, name] of [
    ['ORCHESTRATOR_GRPC_URL', 'orchestrator'],
    ['FUSION_GRPC_URL', 'fusion'],
  ]) {
    const v = [...configMaps.values()].map((c) => c.data?.[url]).find(Boolean);
    const svcPort = byKind('Service')
      .find((x) => x.metadata.name === name)
      ?.spec.ports?.find((p) => p.name === 'grpc')?.port;
    if (v !== `${name}:${svcPort}`) problems.push(`${url}=${v} does not point at the ${name} Service's grpc port (${svcPort})`);
  }

  problems.push(...checkScaledObjects(byKind('ScaledObject'), deployments, facts));
  return problems;
}

export function checkScaledObjects(scaled, deployments, facts) {
  const problems = [];
  const wanted = facts.services.filter((n) => facts.svc[n].queue);
  const covered = new Set();
  for (const so of scaled) {
    const where = `ScaledObject ${so.metadata.name}`;
    const d = deployments.find((x) => x.metadata.name === so.spec?.scaleTargetRef?.name);
    if (!d) {
      problems.push(`${where}: scaleTargetRef ${so.spec?.scaleTargetRef?.name} is not a Deployment`);
      continue;
    }
    if (d.spec.replicas !== undefined) problems.push(`${where}: Deployment ${d.metadata.name} sets replicas, which fights the autoscaler`);
    const svcName = containersOf(d)[0]?.args?.[0];
    const expected = facts.svc[svcName]?.queue;
    if (!expected) problems.push(`${where}: ${svcName} consumes no queue`);
    covered.add(svcName);
    const triggers = so.spec.triggers ?? [];
    if (!triggers.length) problems.push(`${where}: no triggers`);
    for (const t of triggers) {
      if (t.type !== 'prometheus') {
        problems.push(`${where}: trigger ${t.type} is not the Prometheus queue-depth scaler`);
        continue;
      }
      const q = t.metadata?.query ?? '';
      problems.push(...checkPromql(q, facts.catalog, knownLabelValues(facts), where));
      if (!(Number(t.metadata?.threshold) > 0)) problems.push(`${where}: threshold must be a positive number`);
      if (!t.metadata?.serverAddress) problems.push(`${where}: no serverAddress`);
      let sels = [];
      try {
        sels = parsePromql(q).selectors;
      } catch {
        /* reported by checkPromql */
      }
      if (sels.length !== 1 || sels[0].metric !== 'omniaffect_queue_jobs') {
        problems.push(`${where}: query must read omniaffect_queue_jobs only`);
        continue;
      }
      const m = Object.fromEntries(sels[0].matchers.map((x) => [x.label, x]));
      if (m.queue?.op !== '=' || m.queue.value !== expected)
        problems.push(`${where}: query reads queue "${m.queue?.value}" but ${svcName} consumes "${expected}"`);
      const states = m.state?.op === '=~' ? m.state.value.split('|') : m.state?.op === '=' ? [m.state.value] : [];
      if ([...states].sort().join() !== ['active', 'prioritized', 'waiting'].join())
        problems.push(`${where}: query must count exactly waiting + prioritized + active, got ${states.join('+') || 'no state filter'}`);
      if (!/^\s*sum\s*\(/.test(q)) problems.push(`${where}: query must sum to a single value`);
    }
  }
  for (const n of wanted) if (!covered.has(n)) problems.push(`no ScaledObject scales ${n} on its queue`);
  return problems;
}

export function checkDockerfiles({ cpu, cuda, dockerignore, entrypoint }, facts) {
  const problems = [];
  const from = (text) => [...text.matchAll(/^ARG (\w+)=(\S+)/gm)].reduce((a, m) => ({ ...a, [m[1]]: m[2] }), {});
  const cpuArgs = from(cpu);
  if (cpuArgs.NODE_IMAGE !== 'node:20-bookworm-slim' || !/^FROM \$\{NODE_IMAGE\} AS build/m.test(cpu))
    problems.push('Dockerfile must build on node:20-bookworm-slim');
  if (!/ONNXRUNTIME_NODE_INSTALL=skip/.test(cpu)) problems.push('Dockerfile must set ONNXRUNTIME_NODE_INSTALL=skip');
  if (!/ONNXRUNTIME_NODE_INSTALL=cuda12/.test(cuda)) problems.push('Dockerfile.cuda must set ONNXRUNTIME_NODE_INSTALL=cuda12');
  if (!/^nvidia\/cuda:12\.[\d.]+-cudnn-runtime-ubuntu/.test(from(cuda).CUDA_IMAGE ?? ''))
    problems.push('Dockerfile.cuda must use a CUDA 12 + cuDNN runtime base');
  for (const [name, text] of [
    ['Dockerfile', cpu],
    ['Dockerfile.cuda', cuda],
  ]) {
    if (!/pnpm install --frozen-lockfile/.test(text)) problems.push(`${name}: pnpm install --frozen-lockfile`);
    if (!/pnpm build/.test(text)) problems.push(`${name}: pnpm build`);
    const users = [...text.matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
    if (!users.length || /^(root|0)(:|$)/.test(users.at(-1))) problems.push(`${name}: must run as a non-root USER`);
    if (!/PROTO_DIR=\/app\/proto/.test(text)) problems.push(`${name}: PROTO_DIR must point at the copied proto/`);
    if (!/entrypoint\.sh/.test(text)) problems.push(`${name}: must use deploy/docker/entrypoint.sh`);
  }
  if (!/apt-get install[^\n]*ffmpeg/.test(cpu)) problems.push('Dockerfile: the runtime needs ffmpeg for the media stage');
  // A pattern that drops these from the context breaks the image at run time, not at build time.
  for (const needed of ['proto', 'pnpm-workspace.yaml', 'deploy', 'services', 'packages']) {
    if (dockerignore.split('\n').some((l) => l.trim() === needed || l.trim() === `${needed}/` || l.trim() === `/${needed}`))
      problems.push(`.dockerignore excludes ${needed}`);
  }
  const cases =
    /case "\$svc" in\s*\n\s*([^)]+)\)/
      .exec(entrypoint)?.[1]
      .split('|')
      .map((s) => s.trim()) ?? [];
  for (const s of facts.services) if (!cases.includes(s)) problems.push(`entrypoint.sh does not start ${s}`);
  if (!/omniaffect \|\| \{\}\)\.nodeFlags/.test(entrypoint) || !/exec node \$flags /.test(entrypoint))
    problems.push("entrypoint.sh must start each service with its package.json's omniaffect.nodeFlags");
  return problems;
}
