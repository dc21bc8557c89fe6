// Builds a kustomization with the few features k8s/ uses (resources, namespace, labels, patches with a
// kind/name/labelSelector target, images), so the manifest checks run where kubectl is not installed.
// Where kubectl is installed, deploy.test.mjs compares this build with `kubectl kustomize`'s output.
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { parseYaml, parseYamlDocuments } from './mini-yaml.mjs';

const SUPPORTED = new Set(['apiVersion', 'kind', 'namespace', 'labels', 'resources', 'patches', 'images']);
const CLUSTER_SCOPED = new Set(['Namespace', 'PersistentVolume', 'StorageClass', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition']);
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

export function buildKustomization(dir) {
  const file = path.join(dir, 'kustomization.yaml');
  if (!existsSync(file)) throw new Error(`${file} is missing`);
  const k = parseYaml(readFileSync(file, 'utf8'), file);
  for (const key of Object.keys(k)) {
    if (!SUPPORTED.has(key)) throw new Error(`${file}: "${key}" is not understood by deploy/lib/kustomize-lite.mjs; extend it`);
  }
  let out = [];
  for (const r of k.resources ?? []) {
    const p = path.join(dir, r);
    if (!existsSync(p)) throw new Error(`${file}: resource ${r} does not exist`);
    if (statSync(p).isDirectory()) out.push(...buildKustomization(p));
    else out.push(...parseYamlDocuments(readFileSync(p, 'utf8'), p));
  }
  for (const res of out) {
    for (const f of ['apiVersion', 'kind']) if (typeof res[f] !== 'string') throw new Error(`${dir}: a resource has no ${f}`);
    if (typeof res.metadata?.name !== 'string') throw new Error(`${dir}: a ${res.kind} has no metadata.name`);
  }
  for (const p of k.patches ?? []) {
    const pf = path.join(dir, p.path ?? '');
    if (!p.path || !existsSync(pf)) throw new Error(`${file}: patch ${p.path} does not exist`);
    const patch = parseYaml(readFileSync(pf, 'utf8'), pf);
    const target = p.target ?? { kind: patch.kind, name: patch.metadata?.name };
    const hits = out.filter((r) => matches(r, target));
    if (hits.length === 0) throw new Error(`${file}: patch ${p.path} matches no resource`);
    out = out.map((r) => (hits.includes(r) ? strategicMerge(r, { ...patch, metadata: { ...patch.metadata, name: r.metadata.name } }) : r));
  }
  if (k.namespace) for (const r of out) if (!CLUSTER_SCOPED.has(r.kind)) r.metadata.namespace = k.namespace;
  for (const l of k.labels ?? []) {
    if (l.includeSelectors) throw new Error(`${file}: labels.includeSelectors is not supported by kustomize-lite`);
    for (const r of out) {
      r.metadata.labels = { ...r.metadata.labels, ...l.pairs };
      if (l.includeTemplates && WORKLOADS.has(r.kind) && r.spec?.template) {
        r.spec.template.metadata ??= {};
        r.spec.template.metadata.labels = { ...r.spec.template.metadata.labels, ...l.pairs };
      }
    }
  }
  for (const img of k.images ?? []) {
    for (const c of out.flatMap(containersOf)) {
      const { name, tag } = splitImage(c.image);
      if (name !== img.name) continue;
      c.image = `${img.newName ?? name}${img.newTag ?? tag ? `:${img.newTag ?? tag}` : ''}`;
    }
  }
  return out;
}

export function containersOf(r) {
  const spec = r.spec?.template?.spec;
  return spec ? [...(spec.initContainers ?? []), ...(spec.containers ?? [])] : [];
}

function splitImage(image) {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? { name: image.slice(0, at), tag: image.slice(at + 1) } : { name: image, tag: undefined };
}

function matches(r, t) {
  if (t.kind && r.kind !== t.kind) return false;
  if (t.name && r.metadata.name !== t.name) return false;
  if (t.labelSelector) {
    for (const term of t.labelSelector.split(',')) {
      const [key, value] = term.split('=');
      if (r.metadata.labels?.[key.trim()] !== value?.trim()) return false;
    }
  }
  return true;
}

/** Strategic merge as it applies to the fields k8s/ patches: maps merge, lists of named items merge by name, other lists are replaced. */
export function strategicMerge(base, patch) {
  if (Array.isArray(patch)) {
    if (!Array.isArray(base) || !patch.every((p) => p && typeof p === 'object' && 'name' in p)) return structuredClone(patch);
    const out = base.map((b) => structuredClone(b));
    const added = [];
    for (const p of patch) {
      const i = out.findIndex((b) => b.name === p.name);
      if (i >= 0) out[i] = strategicMerge(out[i], p);
      else added.push(structuredClone(p));
    }
    // New named items go first, in patch order, as kubectl's strategic merge puts them.
    return [...added, ...out];
  }
  if (patch && typeof patch === 'object') {
    const out = base && typeof base === 'object' && !Array.isArray(base) ? structuredClone(base) : {};
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = strategicMerge(out[k], v);
    }
    return out;
  }
  return patch;
}
