/**
 * Graph surgery that turns the public exports people actually find into the contract the workers
 * load (`models adapt <kind> DIR`), instead of refusing them:
 *
 * - text: a BERT fill-mask export (BertForMaskedLM, output `logits [B,S,V]`, e.g. Xenova/bert-base-uncased)
 *   becomes a feature-extraction one: the tensor that feeds the MLM head is made the graph output
 *   `last_hidden_state`, and every node and initializer only the head used is dropped. Nothing is
 *   recomputed, so the encoder's output is bit for bit what the original graph computes there.
 * - audio-emotion: an emotion2vec backbone whose I/O are named otherwise gets `input`/`output`; an
 *   end-to-end graph that ends in probabilities (mean over frames → linear → softmax) gets its frame
 *   features exposed as `output`, and its linear head written to head.json + tokens.txt.
 *
 * The encoder output is located structurally (names of nodes differ between exporters and quantisers):
 * walking back from `logits` along the data path (the first non-constant input of each node), the MLM
 * head holds two matrix products (decoder, then transform.dense); the data input of the second is the
 * encoder's last hidden state. `tensor` overrides the search for graphs laid out otherwise.
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { onnx } from 'onnx-proto';
import { DTYPE_SUFFIX } from './runners/model-files';
import { EMOTION2VEC_TOKENS } from './tiny/audio-emotion';

const MATMUL_OPS = new Set(['MatMul', 'Gemm', 'MatMulInteger', 'MatMulNBits', 'FusedMatMul', 'QLinearMatMul', 'MatMulIntegerToFloat']);
const FLOAT = 1;

export interface GraphSurgeryReport {
  /** false when the graph already had the contract's outputs and was left as it was */
  changed: boolean;
  /** the internal tensor now exposed */
  tensor?: string;
  output: string;
  droppedNodes: number;
  droppedInitializers: number;
  note: string;
}

interface GraphIndex {
  producer: Map<string, onnx.INodeProto>;
  constant: Set<string>;
}

/** Producers and constant-ness: initializers, Constant outputs, and anything computed from constants only. */
function indexGraph(g: onnx.IGraphProto): GraphIndex {
  const producer = new Map<string, onnx.INodeProto>();
  const constant = new Set<string>((g.initializer ?? []).map((t) => t.name ?? ''));
  for (const n of g.node ?? []) {
    for (const o of n.output ?? []) producer.set(o, n);
    const ins = (n.input ?? []).filter((i) => i !== '');
    const fromConstants = n.opType === 'Constant' || (ins.length > 0 && ins.every((i) => constant.has(i)) && !hasSubgraph(n));
    if (fromConstants) for (const o of n.output ?? []) constant.add(o);
  }
  return { producer, constant };
}

function hasSubgraph(n: onnx.INodeProto): boolean {
  return (n.attribute ?? []).some((a) => a.g || (a.graphs && a.graphs.length > 0));
}

/** The first non-constant input: the value flowing through, as opposed to weights and shapes. */
function dataInput(n: onnx.INodeProto, idx: GraphIndex): string | undefined {
  return (n.input ?? []).find((i) => i !== '' && !idx.constant.has(i));
}

/** Names a node reads, including outer-scope names read inside If/Loop/Scan bodies. */
function readsOf(n: onnx.INodeProto): string[] {
  const out = [...(n.input ?? [])];
  for (const a of n.attribute ?? []) {
    for (const sub of [a.g, ...(a.graphs ?? [])]) {
      if (!sub) continue;
      for (const sn of sub.node ?? []) out.push(...readsOf(sn));
    }
  }
  return out.filter((x) => x !== '');
}

/**
 * Keeps only what the graph outputs need: nodes in their original (topological) order, initializers
 * and value_info entries still referenced. Real inputs (not initializers) are kept even if unused, so
 * the session lists the same feeds as before.
 */
function pruneToOutputs(g: onnx.IGraphProto): { droppedNodes: number; droppedInitializers: number } {
  const needed = new Set((g.output ?? []).map((o) => o.name ?? ''));
  const nodes = g.node ?? [];
  const keep = new Array<boolean>(nodes.length).fill(false);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if ((n.output ?? []).some((o) => needed.has(o))) {
      keep[i] = true;
      for (const r of readsOf(n)) needed.add(r);
    }
  }
  const before = { nodes: nodes.length, inits: (g.initializer ?? []).length };
  const dropped = new Set((g.initializer ?? []).map((t) => t.name ?? '').filter((n) => !needed.has(n)));
  g.node = nodes.filter((_, i) => keep[i]);
  g.initializer = (g.initializer ?? []).filter((t) => !dropped.has(t.name ?? ''));
  g.sparseInitializer = (g.sparseInitializer ?? []).filter((t) => needed.has(t.values?.name ?? ''));
  // Old IRs also declare initializers as graph inputs; those go with their initializer.
  g.input = (g.input ?? []).filter((i) => !dropped.has(i.name ?? ''));
  g.valueInfo = (g.valueInfo ?? []).filter((v) => needed.has(v.name ?? ''));
  return { droppedNodes: before.nodes - g.node.length, droppedInitializers: before.inits - g.initializer.length };
}

function refuseExternalData(g: onnx.IGraphProto, file: string): void {
  const external = (g.initializer ?? []).find((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL);
  if (external) {
    throw new Error(
      `${file} keeps its weights in an external data file (initializer ${external.name}); adapt rewrites single-file graphs only. ` +
        'Re-export with the weights inline, or pass --tensor and load it with a hand-made output list.',
    );
  }
}

function valueInfo(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function outputDims(g: onnx.IGraphProto, name: string): (number | string)[] | undefined {
  const o = (g.output ?? []).find((x) => x.name === name);
  const dims = o?.type?.tensorType?.shape?.dim;
  return dims?.map((d, i) => (d.dimParam ? d.dimParam : d.dimValue != null ? Number(d.dimValue) : `d${i}`));
}

function initializerDims(g: onnx.IGraphProto, idx: GraphIndex, n: onnx.INodeProto): number[] | undefined {
  const weight = (n.input ?? []).find((i) => idx.constant.has(i));
  const t = (g.initializer ?? []).find((x) => x.name === weight);
  return t?.dims?.map(Number);
}

/** Locates the encoder output feeding a fill-mask head: the data input of the 2nd matrix product back from `logits`. */
export function findMlmHeadInput(g: onnx.IGraphProto, logits = 'logits'): { tensor: string; hidden?: number } {
  const idx = indexGraph(g);
  let cur = logits;
  let products = 0;
  for (let steps = 0; steps < 200; steps++) {
    const n = idx.producer.get(cur);
    if (!n) break;
    const next = dataInput(n, idx);
    if (!next) break;
    if (MATMUL_OPS.has(n.opType ?? '')) {
      products++;
      if (products === 2) {
        const dims = initializerDims(g, idx, n);
        return { tensor: next, hidden: dims && dims.length === 2 ? dims[0] : undefined };
      }
    }
    cur = next;
  }
  throw new Error(
    `could not find the MLM head's input walking back from "${logits}" (found ${products} of 2 matrix products): ` +
      'pass the encoder output tensor explicitly (--tensor NAME)',
  );
}

/** In-memory fill-mask → feature-extraction surgery on a decoded model. */
export function adaptFillMaskModel(model: onnx.ModelProto, options: { tensor?: string; file?: string } = {}): GraphSurgeryReport {
  const g = model.graph;
  if (!g) throw new Error(`${options.file ?? 'model'} has no graph`);
  const outs = (g.output ?? []).map((o) => o.name ?? '');
  if (outs.includes('last_hidden_state')) {
    return { changed: false, output: 'last_hidden_state', droppedNodes: 0, droppedInitializers: 0, note: 'already a feature-extraction graph' };
  }
  const logits = outs.includes('logits') ? 'logits' : outs.length === 1 ? outs[0]! : undefined;
  if (!logits) throw new Error(`${options.file ?? 'model'} has outputs [${outs.join(', ')}]: neither last_hidden_state nor a single logits output`);
  const found = options.tensor ? { tensor: options.tensor, hidden: undefined } : findMlmHeadInput(g, logits);
  const idx = indexGraph(g);
  if (!idx.producer.has(found.tensor)) throw new Error(`no node of ${options.file ?? 'the graph'} produces "${found.tensor}"`);
  const lead = outputDims(g, logits) ?? ['batch_size', 'sequence_length'];
  // Cast to float32: a no-op on fp32 graphs (values unchanged), and float32 I/O for fp16 ones.
  g.node = [
    ...(g.node ?? []),
    {
      opType: 'Cast',
      name: 'omniaffect_adapt/last_hidden_state',
      input: [found.tensor],
      output: ['last_hidden_state'],
      attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }],
    },
  ];
  g.output = [valueInfo('last_hidden_state', [lead[0] ?? 'batch_size', lead[1] ?? 'sequence_length', found.hidden ?? 'hidden_size'])];
  const pruned = pruneToOutputs(g);
  return {
    changed: true,
    tensor: found.tensor,
    output: 'last_hidden_state',
    ...pruned,
    note: `exposed ${found.tensor} (input of the MLM head) as last_hidden_state; dropped ${pruned.droppedNodes} head node(s) and ${pruned.droppedInitializers} initializer(s)`,
  };
}

/** Renames a value everywhere in a graph (and in subgraphs that read it from the outer scope). */
function renameValue(g: onnx.IGraphProto, from: string, to: string): void {
  const swap = (xs: string[] | null | undefined) => (xs ?? []).map((x) => (x === from ? to : x));
  for (const n of g.node ?? []) {
    n.input = swap(n.input);
    n.output = swap(n.output);
    for (const a of n.attribute ?? []) for (const sub of [a.g, ...(a.graphs ?? [])]) if (sub) renameValue(sub, from, to);
  }
  for (const list of [g.input, g.output, g.valueInfo]) for (const v of list ?? []) if (v.name === from) v.name = to;
}

export interface Emotion2vecSurgeryReport extends GraphSurgeryReport {
  /** linear head taken from an end-to-end graph, [9][D] + [9] */
  head?: { weight: number[][]; bias: number[] };
}

function floatValues(t: onnx.ITensorProto): Float32Array {
  if (t.rawData && t.rawData.length) {
    const copy = new Uint8Array(t.rawData);
    return new Float32Array(copy.buffer, copy.byteOffset, copy.byteLength / 4);
  }
  return Float32Array.from(t.floatData ?? []);
}

/**
 * emotion2vec graphs → the FunASR export contract (`input f32[B,N]` → `output f32[B,T,D]`). A backbone
 * with other I/O names is renamed; an end-to-end classifier gets the input of its ReduceMean over frames
 * exposed as `output` and its (mean → linear → softmax) head returned as head.json weights.
 */
export function adaptEmotion2vecModel(model: onnx.ModelProto, file = 'model'): Emotion2vecSurgeryReport {
  const g = model.graph;
  if (!g) throw new Error(`${file} has no graph`);
  const initNames = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
  const realInputs = (g.input ?? []).filter((i) => !initNames.has(i.name ?? ''));
  if (realInputs.length !== 1) throw new Error(`${file} has ${realInputs.length} inputs; an emotion2vec graph takes one waveform`);
  const notes: string[] = [];
  let changed = false;
  const inName = realInputs[0]!.name ?? '';
  if (inName !== 'input') {
    renameValue(g, inName, 'input');
    notes.push(`renamed input ${inName} → input`);
    changed = true;
  }
  const outs = g.output ?? [];
  const rank = (v: onnx.IValueInfoProto) => v.type?.tensorType?.shape?.dim?.length;
  if (outs.some((o) => o.name === 'output' && rank(o) === 3)) {
    return { changed, output: 'output', droppedNodes: 0, droppedInitializers: 0, note: notes.join('; ') || 'already matches the contract' };
  }
  const frames = outs.find((o) => rank(o) === 3);
  if (frames) {
    const was = frames.name ?? '';
    renameValue(g, was, 'output');
    notes.push(`renamed output ${was} → output`);
    g.output = outs.filter((o) => o.name === 'output');
    const pruned = pruneToOutputs(g);
    return { changed: true, output: 'output', ...pruned, note: notes.join('; ') };
  }
  // End-to-end: walk back from the probabilities to the mean over frames, reading the linear head on the way.
  refuseExternalData(g, file);
  const idx = indexGraph(g);
  let cur = outs[0]?.name ?? '';
  let linear: onnx.INodeProto | undefined;
  let biasNode: onnx.INodeProto | undefined;
  for (let steps = 0; steps < 50; steps++) {
    const n = idx.producer.get(cur);
    if (!n) break;
    if (n.opType === 'ReduceMean') {
      const features = dataInput(n, idx)!;
      const head = linear ? headFromLinear(g, idx, linear, biasNode) : undefined;
      if (features !== 'output') g.node = [...(g.node ?? []), { opType: 'Identity', name: 'omniaffect_adapt/output', input: [features], output: ['output'] }];
      g.output = [valueInfo('output', ['batch_size', 'frames', head ? head.weight[0]!.length : 'hidden_size'])];
      const pruned = pruneToOutputs(g);
      notes.push(`exposed ${features} (the frames averaged by the head) as output${head ? '; head read from the graph' : ''}`);
      return { changed: true, tensor: features, output: 'output', ...pruned, head, note: notes.join('; ') };
    }
    if (MATMUL_OPS.has(n.opType ?? '')) linear = n;
    else if (n.opType === 'Add' && !linear) biasNode = n;
    cur = dataInput(n, idx) ?? '';
  }
  throw new Error(`${file}: outputs [${outs.map((o) => o.name).join(', ')}] are neither frame features nor a mean → linear → softmax head`);
}

function headFromLinear(
  g: onnx.IGraphProto,
  idx: GraphIndex,
  lin: onnx.INodeProto,
  add: onnx.INodeProto | undefined,
): { weight: number[][]; bias: number[] } | undefined {
  const init = (name: string | undefined) => (g.initializer ?? []).find((t) => t.name === name);
  const w = init((lin.input ?? []).find((i) => idx.constant.has(i)));
  if (!w || w.dims?.length !== 2) return undefined;
  const [r, c] = w.dims.map(Number) as [number, number];
  const values = floatValues(w);
  const transB = (lin.attribute ?? []).find((a) => a.name === 'transB')?.i;
  // MatMul weights are [D, 9]; Gemm with transB=1 stores [9, D].
  const [labels, dim] = lin.opType === 'Gemm' && Number(transB) === 1 ? [r, c] : [c, r];
  const at = (l: number, d: number) => (lin.opType === 'Gemm' && Number(transB) === 1 ? values[l * c + d]! : values[d * c + l]!);
  const weight = Array.from({ length: labels }, (_, l) => Array.from({ length: dim }, (_, d) => at(l, d)));
  const biasT = init((lin.opType === 'Gemm' ? lin.input?.[2] : undefined) ?? (add?.input ?? []).find((i) => idx.constant.has(i)));
  const bias = biasT ? Array.from(floatValues(biasT)) : new Array<number>(labels).fill(0);
  return labels === bias.length ? { weight, bias } : undefined;
}

// ---------------------------------------------------------------------------------------------
// Model directories.

export interface AdaptDirResult {
  kind: 'text' | 'audio-emotion';
  dir: string;
  source: string;
  written: string[];
  report: GraphSurgeryReport;
}

/** Where pulled originals are kept, so a re-pull finds them by checksum and adapt can be re-run. */
export const ADAPT_SOURCE_DIR = 'source';
export const ADAPT_RECORD = 'adapted.json';

function placeOriginal(dir: string, layoutPath: string, sourceName: string): string {
  const src = join(dir, ADAPT_SOURCE_DIR, sourceName);
  if (existsSync(src)) return src;
  const inPlace = join(dir, layoutPath);
  if (!existsSync(inPlace)) throw new Error(`${dir} has neither ${ADAPT_SOURCE_DIR}/${sourceName} nor ${layoutPath} to adapt`);
  mkdirSync(dirname(src), { recursive: true });
  renameSync(inPlace, src);
  return src;
}

/**
 * External-data locations are relative to the graph file; the adapted graph is written elsewhere
 * than its source, so each location is re-pointed at the same sidecar (nothing is copied).
 */
function relocateExternalData(model: onnx.ModelProto, fromDir: string, toDir: string): void {
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    for (const kv of t.externalData ?? []) {
      if (kv.key === 'location' && kv.value) kv.value = relative(toDir, join(fromDir, kv.value)).split(sep).join('/');
    }
  }
}

function hasExternalData(model: onnx.ModelProto): boolean {
  return (model.graph?.initializer ?? []).some((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL);
}

function writeModel(path: string, model: onnx.ModelProto, source: string): void {
  relocateExternalData(model, dirname(source), dirname(path));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, onnx.ModelProto.encode(model).finish());
  renameSync(`${path}.tmp`, path);
}

/** Unchanged graphs are linked, not copied (a real export is hundreds of MB). */
function linkOrCopy(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  rmSync(to, { force: true });
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

/**
 * `models adapt text DIR`: reads `source/model{dtype}.onnx` (or moves `onnx/model{dtype}.onnx` there
 * first) and writes the feature-extraction graph to `onnx/model{dtype}.onnx`.
 */
export function adaptTextDir(dir: string, options: { dtype?: string; tensor?: string } = {}): AdaptDirResult {
  const suffix = DTYPE_SUFFIX[options.dtype ?? 'fp32'];
  if (suffix === undefined) throw new Error(`unknown dtype ${options.dtype}; known: ${Object.keys(DTYPE_SUFFIX).join(', ')}`);
  const layout = `onnx/model${suffix}.onnx`;
  const source = placeOriginal(dir, layout, `model${suffix}.onnx`);
  const model = onnx.ModelProto.decode(readFileSync(source));
  const report = adaptFillMaskModel(model, { tensor: options.tensor, file: source });
  const out = join(dir, layout);
  if (report.changed || hasExternalData(model)) writeModel(out, model, source);
  else linkOrCopy(source, out);
  writeFileSync(
    join(dir, ADAPT_RECORD),
    `${JSON.stringify({ kind: 'text', from: `${ADAPT_SOURCE_DIR}/model${suffix}.onnx`, to: layout, ...report }, null, 2)}\n`,
  );
  return { kind: 'text', dir, source, written: [out], report };
}

/**
 * `models adapt audio-emotion DIR`: the graph in `source/` (or model.onnx / emotion2vec / emotion2vec.onnx,
 * moved there) → `model.onnx`; a `source/emotion2vec_head.json` ({labels, weight, bias}, the
 * pankotaro layout) or a head read from the graph → `head.json` + `tokens.txt`.
 */
export function adaptAudioEmotionDir(dir: string, options: { sourceName?: string } = {}): AdaptDirResult {
  const candidates = options.sourceName ? [options.sourceName] : ['emotion2vec_plus_base.onnx', 'model.onnx', 'emotion2vec.onnx', 'emotion2vec'];
  const name = candidates.find((c) => existsSync(join(dir, ADAPT_SOURCE_DIR, c)) || existsSync(join(dir, c)));
  if (!name) throw new Error(`${dir} holds no emotion2vec graph (looked for ${candidates.join(', ')} in ${ADAPT_SOURCE_DIR}/ and the directory)`);
  const source = placeOriginal(dir, name, name);
  const model = onnx.ModelProto.decode(readFileSync(source));
  const report = adaptEmotion2vecModel(model, source);
  const out = join(dir, 'model.onnx');
  if (report.changed || hasExternalData(model)) writeModel(out, model, source);
  else linkOrCopy(source, out);
  const written = [out];
  const headJson = join(dir, ADAPT_SOURCE_DIR, 'emotion2vec_head.json');
  let head = report.head;
  let labels: string[] = EMOTION2VEC_TOKENS;
  if (existsSync(headJson)) {
    const h = JSON.parse(readFileSync(headJson, 'utf8')) as { labels?: string[]; weight?: number[][]; bias?: number[] };
    if (!Array.isArray(h.weight) || !Array.isArray(h.bias)) throw new Error(`${headJson} must hold {labels, weight: number[9][D], bias: number[9]}`);
    head = { weight: h.weight, bias: h.bias };
    if (Array.isArray(h.labels)) labels = h.labels.map((l) => (l === 'unknown' ? '<unk>' : l));
  }
  if (head) {
    writeFileSync(join(dir, 'head.json'), `${JSON.stringify(head)}\n`);
    writeFileSync(join(dir, 'tokens.txt'), `${labels.join('\n')}\n`);
    written.push(join(dir, 'head.json'), join(dir, 'tokens.txt'));
  }
  writeFileSync(
    join(dir, ADAPT_RECORD),
    `${JSON.stringify({ kind: 'audio-emotion', from: `${ADAPT_SOURCE_DIR}/${name}`, to: 'model.onnx', headFrom: existsSync(headJson) ? `${ADAPT_SOURCE_DIR}/emotion2vec_head.json` : head ? 'graph' : null, ...report, head: undefined }, null, 2)}\n`,
  );
  return { kind: 'audio-emotion', dir, source, written, report };
}
