// The Kubernetes manifests as the cluster gets them: `kubectl kustomize` builds each kustomization (the
// real kustomize, so every feature it supports is available to k8s/), `yaml` reads its output, and
// kubernetes-models' generated JSON-schema validators check every object against its API schema.
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

/** kubectl is found on PATH; `deploy/check.sh --install-tools` installs it where an apt source has it. */
export function hasKubectl() {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Every YAML document of a stream, parsed strictly (duplicate keys and syntax errors are errors, not warnings). */
export function parseYamlStream(text, where = 'yaml') {
  const out = [];
  for (const doc of parseAllDocuments(text, { uniqueKeys: true, merge: true })) {
    if (doc.errors.length) throw new Error(`${where}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const v = doc.toJS({ maxAliasCount: -1 });
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

export function buildKustomization(dir) {
  return parseYamlStream(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }), `kubectl kustomize ${dir}`);
}

export function containersOf(r) {
  const spec = r.spec?.template?.spec;
  return spec ? [...(spec.initContainers ?? []), ...(spec.containers ?? [])] : [];
}

/** apiVersion/kind → the kubernetes-models module that carries its schema (core group: `v1/<Kind>`; KEDA: its own package). */
function modelModule(apiVersion, kind) {
  if (apiVersion.startsWith('keda.sh/')) return `@kubernetes-models/keda/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

/** Schema problems of every resource (empty = all valid). A kind without a schema is a problem, not a pass. */
export async function validateResources(resources) {
  const problems = [];
  for (const r of resources) {
    const where = `${r.kind}/${r.metadata?.name}`;
    let Model;
    try {
      Model = (await import(modelModule(r.apiVersion, r.kind)))[r.kind];
    } catch {
      problems.push(`${where}: no schema for ${r.apiVersion} ${r.kind} (add its @kubernetes-models package)`);
      continue;
    }
    try {
      new Model(r).validate();
    } catch (err) {
      problems.push(`${where}: ${err.message}`);
    }
  }
  return problems;
}
