// Checks deploy/, k8s/ and docker-compose.yml against the code: `node --test deploy/test/`.
// Needs only Node; kubectl (kustomize build) and prom-client (default metric names) are used when present.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readCodeFacts } from '../lib/code-facts.mjs';
import { buildKustomization, hasKubectl, parseYamlStream, validateResources } from '../lib/manifests.mjs';
import { checkAlerts, checkCompose, checkDashboard, checkDockerfiles, checkManifests, checkPrometheusConfig } from '../lib/ops-checks.mjs';
import { parsePromql } from '../lib/promql.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (p) => readFileSync(path.join(root, p), 'utf8');
const yaml = (p) => {
  const docs = parseYamlStream(read(p), p);
  assert.equal(docs.length, 1, `${p} holds one YAML document`);
  return docs[0];
};
const facts = readCodeFacts(root);
const dashboard = () => JSON.parse(read('deploy/grafana/dashboards/omniaffect.json'));
const overlays = { base: 'k8s/base', gpu: 'k8s/overlays/gpu' };
// One `kubectl kustomize` per overlay; each test gets its own copy to break.
const KUBECTL = hasKubectl();
const builds = {};
const build = (name) => structuredClone((builds[name] ??= buildKustomization(path.join(root, overlays[name]))));
/** A test of the built manifests: skipped, and said so, where kubectl is not installed. */
const k8sTest = (title, fn) => test(title, { skip: KUBECTL ? false : 'SKIPPED: kubectl is not installed (deploy/check.sh --install-tools)' }, fn);
const deployment = (res, name) => res.find((r) => r.kind === 'Deployment' && r.metadata.name === name);

test('code facts are read from the built modules', () => {
  assert.deepEqual(facts.services, ['asr', 'audio-emotion', 'fusion', 'gateway', 'media', 'orchestrator', 'text', 'vision']);
  assert.ok(facts.queues.includes('stage-completions') && facts.queues.includes('asr'));
  assert.ok(['waiting', 'active', 'prioritized'].every((s) => facts.queueStates.includes(s)));
  assert.equal(facts.svc.asr.port, 9104);
  assert.equal(facts.svc.gateway.port, 8080);
  assert.equal(facts.svc.orchestrator.grpcPort, 50051);
  assert.equal(facts.svc['audio-emotion'].queue, 'audio-emotion');
  assert.ok(facts.catalog.has('omniaffect_stage_duration_seconds_bucket'));
  assert.ok(facts.catalog.has('omniaffect_queue_jobs'));
  assert.ok(!facts.catalog.has('omniaffect_queue_jobs_total'));
});

test('the catalog has every series of the built registry, with its labels', () => {
  assert.deepEqual(facts.catalog.get('omniaffect_queue_jobs').slice(0, 2), ['queue', 'state']);
  assert.ok(facts.catalog.get('nodejs_gc_duration_seconds_bucket').includes('kind'));
  for (const f of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds'])
    assert.ok(facts.promClientDefaults[f], f);
  assert.equal(facts.executionProvider.test('cuda:1'), true);
  assert.equal(facts.executionProvider.test('rocm'), false);
  assert.equal(facts.defaultShutdownMs, 25000);
});

test('PromQL reader finds metrics, matchers and grouping labels', () => {
  const p = parsePromql(
    'sum by (queue) (max by (queue, state) (rate(omniaffect_queue_jobs{state=~"waiting|active", queue!="x"}[$__rate_interval]))) / on() group_left up',
  );
  assert.deepEqual(
    p.selectors.map((s) => s.metric),
    ['omniaffect_queue_jobs', 'up'],
  );
  assert.deepEqual(p.selectors[0].matchers, [
    { label: 'state', op: '=~', value: 'waiting|active' },
    { label: 'queue', op: '!=', value: 'x' },
  ]);
  assert.deepEqual(p.grouping, ['queue', 'queue', 'state']);
  assert.deepEqual(
    parsePromql('histogram_quantile(0.95, sum by (le) (rate(a_bucket[5m])))').selectors.map((s) => s.metric),
    ['a_bucket'],
  );
});

test('YAML is read strictly: merge keys resolve, duplicate keys and syntax errors are refused', () => {
  assert.deepEqual(parseYamlStream('base: &b\n  x: 1\nmerged:\n  <<: *b\n  y: 3\n')[0].merged, { x: 1, y: 3 });
  assert.throws(() => parseYamlStream('a: 1\na: 2', 't'), /unique/i);
  assert.throws(() => parseYamlStream('a: [1', 't'), /t:/);
  assert.equal(parseYamlStream('a: 1\n---\nb: 2\n---\n# only a comment\n').length, 2);
});

test('a PromQL syntax error is a problem, not an empty result', () => {
  assert.throws(() => parsePromql('sum(rate(omniaffect_queue_jobs[5m])'), /syntax error/);
  assert.match(
    checkAlerts({ groups: [{ rules: [{ alert: 'X', expr: 'rate(up[5m] > 0', labels: { severity: 'page' }, annotations: { summary: 's' } }] }] }, facts).join(
      '\n',
    ),
    /syntax error/,
  );
});

test('Grafana dashboard only queries metrics the services export, and shows every family', () => {
  assert.deepEqual(checkDashboard(dashboard(), facts), []);
});

test('a dashboard panel on a metric no service exports is caught', () => {
  const d = dashboard();
  d.panels.find((p) => p.title === 'Mean batch size by model').targets[0].expr = 'sum(rate(omniaffect_frames_decoded_total[5m]))';
  d.panels.find((p) => p.title?.startsWith('Queue depth')).targets[0].expr = 'omniaffect_queue_jobs{queue="thumbnails", state="stalled"}';
  const problems = checkDashboard(d, facts).join('\n');
  assert.match(problems, /metric omniaffect_frames_decoded_total is not exported/);
  assert.match(problems, /no such queue/);
  assert.match(problems, /no such state/);
});

test('Grafana provisioning points at the dashboards folder and a Prometheus datasource', () => {
  const ds = yaml('deploy/grafana/provisioning/datasources/prometheus.yml');
  assert.equal(ds.datasources[0].type, 'prometheus');
  const prov = yaml('deploy/grafana/provisioning/dashboards/omniaffect.yml');
  assert.equal(prov.providers[0].options.path, '/var/lib/grafana/dashboards');
  const compose = yaml('docker-compose.yml');
  assert.ok(compose.services.grafana.volumes.includes('./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro'));
});

test('alert rules cover the required conditions with exported metrics', () => {
  assert.deepEqual(checkAlerts(yaml('deploy/prometheus/alerts.yml'), facts), []);
});

test('an alert on a missing metric or a missing required alert is caught', () => {
  const doc = yaml('deploy/prometheus/alerts.yml');
  const rules = doc.groups.flatMap((g) => g.rules);
  rules.find((r) => r.alert === 'OmniAffectVideosFailing').expr = 'rate(omniaffect_video_failures_total[5m]) > 0';
  const problems = checkAlerts(doc, facts).join('\n');
  assert.match(problems, /omniaffect_video_failures_total is not exported/);
  assert.match(problems, /no alert for videos failing/);
});

test('Prometheus scrapes every service on its metrics port', () => {
  assert.deepEqual(checkPrometheusConfig(yaml('deploy/prometheus/prometheus.yml'), facts), []);
  const broken = yaml('deploy/prometheus/prometheus.yml');
  broken.scrape_configs[0].dns_sd_configs = broken.scrape_configs[0].dns_sd_configs.filter((c) => !c.names.includes('vision'));
  assert.match(checkPrometheusConfig(broken, facts).join('\n'), /does not scrape vision:9106/);
});

test('docker-compose runs the whole stack with healthchecks, noeviction Redis and a GPU profile', () => {
  assert.deepEqual(checkCompose(yaml('docker-compose.yml'), facts), []);
});

test('compose problems are caught: eviction, short grace, wrong bind address', () => {
  const c = yaml('docker-compose.yml');
  c.services.redis.command = ['redis-server'];
  c.services.asr.stop_grace_period = '20s';
  c.services.media.environment.OPS_HOST = '127.0.0.1';
  delete c.services['text-gpu'];
  const problems = checkCompose(c, facts).join('\n');
  assert.match(problems, /noeviction/);
  assert.match(problems, /compose service asr: stop_grace_period 20s/);
  assert.match(problems, /compose service media: OPS_HOST must be 0.0.0.0/);
  assert.match(problems, /no GPU variant of text/);
});

for (const name of Object.keys(overlays)) {
  k8sTest(`k8s ${name}: Deployments, probes, grace periods, volumes, Services, PDBs and ScaledObjects are consistent`, () => {
    assert.deepEqual(checkManifests(build(name), facts, { gpu: name === 'gpu' }), []);
  });
}

k8sTest('k8s gpu overlay pins the model workers to GPUs and leaves the rest on CPU', () => {
  const res = build('gpu');
  for (const n of ['asr', 'audio-emotion', 'vision', 'text']) {
    const c = deployment(res, n).spec.template.spec.containers[0];
    assert.equal(c.resources.limits['nvidia.com/gpu'], 1, n);
    assert.equal(c.env.find((e) => e.name === 'EXECUTION_PROVIDER').value, 'cuda:0');
    assert.ok(deployment(res, n).spec.template.spec.terminationGracePeriodSeconds * 1000 > Number(c.env.find((e) => e.name === 'SHUTDOWN_TIMEOUT_MS').value));
  }
  for (const n of ['gateway', 'orchestrator', 'media', 'fusion']) {
    assert.equal(deployment(res, n).spec.template.spec.containers[0].resources.limits['nvidia.com/gpu'], undefined, n);
  }
});

k8sTest('k8s problems are caught: missing probe, short grace period, ScaledObject on an unknown queue', () => {
  const res = build('base');
  delete deployment(res, 'vision').spec.template.spec.containers[0].readinessProbe;
  deployment(res, 'asr').spec.template.spec.terminationGracePeriodSeconds = 20;
  deployment(res, 'gateway').spec.template.spec.containers[0].livenessProbe.httpGet.port = 9999;
  const so = res.find((r) => r.kind === 'ScaledObject' && r.metadata.name === 'text');
  so.spec.triggers[0].metadata.query = 'sum(omniaffect_queue_jobs{queue="transcripts", state=~"waiting|prioritized|active"})';
  const media = res.find((r) => r.kind === 'ScaledObject' && r.metadata.name === 'media');
  media.spec.triggers[0].metadata.query = 'sum(omniaffect_queue_jobs{queue="media", state="waiting"})';
  const problems = checkManifests(res, facts).join('\n');
  assert.match(problems, /Deployment vision: no readinessProbe/);
  assert.match(problems, /Deployment asr: terminationGracePeriodSeconds 20 must exceed the 25000 ms/);
  assert.match(problems, /Deployment gateway: livenessProbe port 9999/);
  assert.match(problems, /ScaledObject text: .*no such queue/);
  assert.match(problems, /ScaledObject text: query reads queue "transcripts" but text consumes "text"/);
  assert.match(problems, /ScaledObject media: query must count exactly waiting \+ prioritized \+ active/);
});

k8sTest('k8s gpu overlay problems are caught: grace shorter than the GPU shutdown timeout, missing toleration', () => {
  const res = build('gpu');
  deployment(res, 'vision').spec.template.spec.terminationGracePeriodSeconds = 60;
  deployment(res, 'text').spec.template.spec.tolerations = [];
  const problems = checkManifests(res, facts, { gpu: true }).join('\n');
  assert.match(problems, /Deployment vision: terminationGracePeriodSeconds 60 must exceed the 90000 ms/);
  assert.match(problems, /Deployment text: needs a nvidia.com\/gpu NoSchedule toleration/);
});

for (const name of Object.keys(overlays)) {
  k8sTest(`k8s ${name}: every object, KEDA ScaledObjects included, is valid against its API schema`, async () => {
    assert.deepEqual(await validateResources(build(name)), []);
  });
}

k8sTest('k8s schema problems are caught: a wrong type, a ScaledObject field of the wrong kind, an unknown kind', async () => {
  const res = build('gpu');
  deployment(res, 'asr').spec.replicas = 'two';
  res.find((r) => r.kind === 'ScaledObject').spec.minReplicaCount = 'one';
  res.push({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } });
  const problems = (await validateResources(res)).join('\n');
  assert.match(problems, /Deployment\/asr: .*replicas must be integer/);
  assert.match(problems, /ScaledObject\/\S+: .*minReplicaCount must be integer/);
  assert.match(problems, /Widget\/w: no schema/);
});

test('Dockerfiles build every service on the right bases as a non-root user', () => {
  const files = {
    cpu: read('deploy/Dockerfile'),
    cuda: read('deploy/Dockerfile.cuda'),
    dockerignore: read('.dockerignore'),
    entrypoint: read('deploy/docker/entrypoint.sh'),
  };
  assert.deepEqual(checkDockerfiles(files, facts), []);
  const broken = { ...files, cpu: files.cpu.replace('USER 10001:10001', 'USER root'), dockerignore: `${files.dockerignore}\nproto\n` };
  const problems = checkDockerfiles(broken, facts).join('\n');
  assert.match(problems, /non-root/);
  assert.match(problems, /excludes proto/);
  const noFlags = checkDockerfiles({ ...files, entrypoint: files.entrypoint.replace('exec node $flags ', 'exec node ') }, facts).join('\n');
  assert.match(noFlags, /omniaffect\.nodeFlags/);
});

k8sTest('every Deployment and compose service gets the gRPC service token from a secret', () => {
  for (const name of ['base', 'gpu']) {
    const res = build(name);
    const deployments = res.filter((r) => r.kind === 'Deployment');
    assert.equal(deployments.length, facts.services.length, name);
    for (const d of deployments) {
      const env = d.spec.template.spec.containers[0].env ?? [];
      const token = env.find((e) => e.name === 'OMNIAFFECT_SERVICE_TOKEN');
      assert.ok(token, `${name}: Deployment ${d.metadata.name} lacks OMNIAFFECT_SERVICE_TOKEN`);
      assert.deepEqual(token.valueFrom?.secretKeyRef, { name: 'omniaffect-secrets', key: 'OMNIAFFECT_SERVICE_TOKEN' }, d.metadata.name);
    }
  }
  const compose = yaml('docker-compose.yml');
  for (const [key, s] of Object.entries(compose.services)) {
    if (!facts.services.includes(s.command?.[0])) continue;
    assert.match(String(s.environment?.OMNIAFFECT_SERVICE_TOKEN ?? ''), /^\$\{OMNIAFFECT_SERVICE_TOKEN:\?/, `compose service ${key}`);
  }
});

k8sTest('NetworkPolicies: default deny ingress, and each allowed path names a real port of its target', () => {
  const res = build('base');
  const policies = new Map(res.filter((r) => r.kind === 'NetworkPolicy').map((p) => [p.metadata.name, p.spec]));
  const deny = policies.get('default-deny-ingress');
  assert.deepEqual(deny?.podSelector, {});
  assert.deepEqual(deny?.policyTypes, ['Ingress']);
  assert.equal(deny?.ingress, undefined, 'default deny admits nothing');
  const portsOf = (app) => deployment(res, app).spec.template.spec.containers[0].ports.map((p) => p.name);
  const expect = {
    'gateway-from-ingress': { target: 'gateway', from: [{ namespace: 'ingress-nginx' }], ports: ['http'] },
    'orchestrator-grpc-from-gateway': { target: 'orchestrator', from: [{ app: 'gateway' }], ports: ['grpc'] },
    'fusion-grpc-from-workers-and-orchestrator': { target: 'fusion', from: [{ component: 'model-worker' }, { app: 'orchestrator' }], ports: ['grpc'] },
  };
  for (const [name, e] of Object.entries(expect)) {
    const p = policies.get(name);
    assert.ok(p, name);
    assert.deepEqual(p.podSelector.matchLabels, { 'app.kubernetes.io/name': e.target }, name);
    const from = p.ingress[0].from.map((f) =>
      f.namespaceSelector
        ? { namespace: f.namespaceSelector.matchLabels['kubernetes.io/metadata.name'] }
        : f.podSelector.matchLabels['app.kubernetes.io/name']
          ? { app: f.podSelector.matchLabels['app.kubernetes.io/name'] }
          : { component: f.podSelector.matchLabels['app.kubernetes.io/component'] },
    );
    assert.deepEqual(from, e.from, name);
    const ports = p.ingress[0].ports.map((x) => x.port);
    assert.deepEqual(ports, e.ports, name);
    for (const port of ports) assert.ok(portsOf(e.target).includes(port), `${name}: ${e.target} has no port named ${port}`);
  }
  // Model workers really carry the component label the fusion policy admits.
  for (const w of ['asr', 'audio-emotion', 'vision', 'text']) {
    assert.equal(deployment(res, w).spec.template.metadata.labels['app.kubernetes.io/component'], 'model-worker', w);
  }
  const ops = policies.get('ops-from-monitoring');
  assert.deepEqual(ops.ingress[0].from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
  for (const d of res.filter((r) => r.kind === 'Deployment')) {
    assert.equal(d.spec.template.metadata.labels['app.kubernetes.io/part-of'], 'omniaffect', `${d.metadata.name} is selected by ops-from-monitoring`);
  }
  assert.ok(policies.get('datastores-from-services'));
});
