/**
 * Checks a model directory the way a worker would load it: every file of the layout, every ONNX graph
 * opened with ORT and compared tensor by tensor with the contract. The `models verify` CLI prints the
 * rows; workers call `assertSessionContract` at load to refuse a mismatching export with the same reasons.
 */
import { readFileSync } from 'node:fs';
import type * as ort from 'onnxruntime-node';
import {
  CONTRACTS,
  EMOTION2VEC_LABEL_COUNT,
  FILL_MASK_MESSAGE,
  type ContractKind,
  type ModelContract,
  type ModelDirKind,
  type TensorContract,
  countCacheLayers,
  decoderContract,
  resolveModelDir,
} from './contracts';
import { createSession, describeSession, type CreateSessionOptions, type SessionDescription, type TensorMeta } from './session';

export interface VerifyRow {
  /** path relative to the model directory */
  file: string;
  /** tensor name, or '-' for file-level rows */
  tensor: string;
  expected: string;
  actual: string;
  ok: boolean;
  /** why it failed, or a note when ok */
  reason: string;
}

export interface VerifyResult {
  kind: ModelDirKind;
  dir: string;
  ok: boolean;
  rows: VerifyRow[];
}

export interface VerifyOptions {
  provider?: CreateSessionOptions['provider'];
}

function formatShape(shape: (number | string)[]): string {
  return `[${shape.join(',')}]`;
}

function expectedShape(c: TensorContract): string {
  const dims = Array.from({ length: c.rank }, (_, i) => (c.fixed?.[i] !== undefined ? String(c.fixed[i]) : '*'));
  return `${c.type}[${dims.join(',')}]`;
}

function actualShape(m: TensorMeta): string {
  return `${m.type}${formatShape(m.shape)}`;
}

/** Compares one side (inputs or outputs) of a session with contract tensors. */
function checkTensors(file: string, side: 'input' | 'output', want: TensorContract[], have: TensorMeta[]): VerifyRow[] {
  const rows: VerifyRow[] = [];
  const byName = new Map(have.map((m) => [m.name, m]));
  for (const c of want) {
    const m = byName.get(c.name);
    const expected = expectedShape(c);
    if (!m) {
      rows.push({
        file,
        tensor: c.name,
        expected,
        actual: 'absent',
        ok: !!c.optional,
        reason: c.optional ? `optional ${side}, not listed by the session` : `missing ${side}`,
      });
      continue;
    }
    const problems: string[] = [];
    if (m.type !== c.type) problems.push(`wrong dtype: ${m.type}, expected ${c.type}`);
    if (m.shape.length !== c.rank) problems.push(`wrong rank: ${m.shape.length}, expected ${c.rank}`);
    else {
      for (const [axis, size] of Object.entries(c.fixed ?? {})) {
        const d = m.shape[Number(axis)];
        if (typeof d === 'number' && d !== size) problems.push(`axis ${axis} is ${d}, expected ${size}`);
      }
    }
    const symbolicFixed = Object.keys(c.fixed ?? {}).filter((a) => typeof m.shape[Number(a)] === 'string');
    rows.push({
      file,
      tensor: c.name,
      expected,
      actual: actualShape(m),
      ok: problems.length === 0,
      reason: problems.join('; ') || (symbolicFixed.length ? `axis ${symbolicFixed.join(',')} symbolic; size checked at run time` : ''),
    });
  }
  return rows;
}

function contractFor(kind: ContractKind, d: SessionDescription, file: string): { contract?: ModelContract; rows: VerifyRow[] } {
  if (kind !== 'asr-decoder') return { contract: CONTRACTS[kind], rows: [] };
  const past = countCacheLayers(
    d.inputs.map((m) => m.name),
    'past',
  );
  const present = countCacheLayers(
    d.outputs.map((m) => m.name),
    'present',
  );
  const rows: VerifyRow[] = [];
  if (past === 0) {
    rows.push({
      file,
      tensor: 'past_key_values.*',
      expected: 'merged decoder with KV cache',
      actual: 'no past_key_values inputs',
      ok: false,
      reason: 'not a merged decoder: use onnx/decoder_model_merged.onnx (Optimum merged export)',
    });
    return { rows };
  }
  if (past !== present) {
    rows.push({
      file,
      tensor: 'past_key_values.* / present.*',
      expected: 'same layer count',
      actual: `${past} past layers, ${present} present layers`,
      ok: false,
      reason: 'mismatched decoder layer counts between past_key_values inputs and present outputs',
    });
  } else {
    rows.push({ file, tensor: 'decoder layers', expected: 'past = present', actual: String(past), ok: true, reason: '' });
  }
  return { contract: decoderContract(Math.max(past, present)), rows };
}

/** Extra per-kind checks that need the whole description (beyond tensor-by-tensor). */
function semanticChecks(kind: ContractKind, d: SessionDescription, file: string): VerifyRow[] {
  const rows: VerifyRow[] = [];
  const outNames = d.outputs.map((m) => m.name);
  if (kind === 'text' && outNames.includes('logits') && !outNames.includes('last_hidden_state')) {
    rows.push({
      file,
      tensor: 'logits',
      expected: 'last_hidden_state (feature-extraction export)',
      actual: 'logits (fill-mask export)',
      ok: false,
      reason: FILL_MASK_MESSAGE,
    });
  }
  if (kind === 'asr-decoder') {
    // Every KV tensor of one side must agree on heads and head size, whatever the layer count.
    const kv = d.inputs.filter((m) => m.name.startsWith('past_key_values.') && m.shape.length === 4);
    const heads = new Set(kv.map((m) => String(m.shape[1])));
    const headDim = new Set(kv.map((m) => String(m.shape[3])));
    if (heads.size > 1 || headDim.size > 1) {
      rows.push({
        file,
        tensor: 'past_key_values.*',
        expected: 'one [batch,H,*,Dh] layout',
        actual: `H ∈ {${[...heads].join(',')}}, Dh ∈ {${[...headDim].join(',')}}`,
        ok: false,
        reason: 'KV-cache inputs disagree on heads or head size',
      });
    }
  }
  return rows;
}

/** Checks an open session's metadata against the contract of `kind`. */
export function checkSessionContract(kind: ContractKind, d: SessionDescription, file: string = kind): VerifyRow[] {
  const { contract, rows } = contractFor(kind, d, file);
  if (contract) {
    rows.push(...checkTensors(file, 'input', contract.inputs, d.inputs));
    rows.push(...checkTensors(file, 'output', contract.outputs, d.outputs));
  }
  rows.push(...semanticChecks(kind, d, file));
  return rows;
}

/** Throws one message listing every contract violation; for workers at load time. */
export function assertSessionContract(kind: ContractKind, session: ort.InferenceSession, file: string = kind): void {
  const bad = checkSessionContract(kind, describeSession(session), file).filter((r) => !r.ok);
  if (bad.length) {
    throw new Error(
      `${file} does not match the ${kind} contract:\n` + bad.map((r) => `  ${r.tensor}: ${r.reason} (expected ${r.expected}, got ${r.actual})`).join('\n'),
    );
  }
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

function lastDim(d: SessionDescription | undefined, output: string): number | undefined {
  const m = d?.outputs.find((o) => o.name === output);
  const v = m?.shape[m.shape.length - 1];
  return typeof v === 'number' ? v : undefined;
}

function auxFileChecks(key: string, file: string, path: string, graphs: Map<string, SessionDescription>): VerifyRow {
  const row: VerifyRow = { file, tensor: '-', expected: 'present', actual: 'present', ok: true, reason: '' };
  try {
    if (key === 'generationConfig') {
      const g = readJson(path) as Record<string, unknown>;
      const missing = ['decoder_start_token_id', 'eos_token_id', 'lang_to_id', 'task_to_id'].filter((k) => !(k in g));
      if (missing.length) Object.assign(row, { ok: false, actual: `lacks ${missing.join(', ')}`, reason: 'incomplete generation config' });
    } else if (key === 'head') {
      const h = readJson(path) as { weight?: number[][]; bias?: number[] };
      const D = lastDim(graphs.get('model'), 'output');
      const rowsOk = Array.isArray(h.weight) && h.weight.length === EMOTION2VEC_LABEL_COUNT;
      const biasOk = Array.isArray(h.bias) && h.bias.length === EMOTION2VEC_LABEL_COUNT;
      const width = rowsOk ? h.weight![0]!.length : -1;
      const widthOk = rowsOk && h.weight!.every((r) => r.length === width) && (D === undefined || D === width);
      row.expected = `weight [9][${D ?? 'D'}], bias [9]`;
      row.actual = `weight [${h.weight?.length ?? '?'}][${width}], bias [${h.bias?.length ?? '?'}]`;
      if (!(rowsOk && biasOk && widthOk)) Object.assign(row, { ok: false, reason: 'head.json does not match the backbone output size' });
    } else if (key === 'tokens') {
      const lines = readFileSync(path, 'utf8')
        .split(/\r?\n/)
        .filter((l) => l.trim() !== '');
      row.expected = '9 labels';
      row.actual = `${lines.length} labels`;
      if (lines.length !== EMOTION2VEC_LABEL_COUNT) Object.assign(row, { ok: false, reason: 'tokens.txt must list 9 labels' });
    } else if (key === 'manifest') {
      const m = readJson(path) as { dims?: { text?: number; audio?: number; vision?: number } };
      const d = graphs.get('model');
      const inputDim = (name: string) => {
        const v = d?.inputs.find((i) => i.name === name)?.shape[2];
        return typeof v === 'number' ? v : undefined;
      };
      const mismatched = (['text', 'audio', 'vision'] as const).filter((mod) => {
        const g = inputDim(`${mod}_features`);
        return typeof m.dims?.[mod] !== 'number' || (g !== undefined && g !== m.dims[mod]);
      });
      row.expected = 'dims {text,audio,vision} matching fusion.onnx';
      row.actual = JSON.stringify(m.dims ?? null);
      if (mismatched.length) Object.assign(row, { ok: false, reason: `fusion.json dims disagree with the graph for ${mismatched.join(', ')}` });
    } else if (key === 'tokenizer' && file.endsWith('.json')) {
      const t = readJson(path) as { model?: unknown };
      if (!t.model) Object.assign(row, { ok: false, reason: 'tokenizer.json has no model section' });
    }
  } catch (err) {
    Object.assign(row, { ok: false, actual: 'unreadable', reason: err instanceof Error ? err.message : String(err) });
  }
  return row;
}

function crossGraphChecks(kind: ModelDirKind, graphs: Map<string, SessionDescription>): VerifyRow[] {
  if (kind !== 'asr') return [];
  const enc = graphs.get('encoder');
  const dec = graphs.get('decoder');
  const encD = lastDim(enc, 'last_hidden_state');
  const decIn = dec?.inputs.find((m) => m.name === 'encoder_hidden_states')?.shape[2];
  if (encD === undefined || typeof decIn !== 'number') return [];
  return [
    {
      file: 'onnx/*',
      tensor: 'encoder_hidden_states',
      expected: `hidden size ${encD} (encoder output)`,
      actual: String(decIn),
      ok: encD === decIn,
      reason: encD === decIn ? '' : 'encoder and decoder come from different models',
    },
  ];
}

/** Verifies every file a worker of `kind` would load from `dir`. */
export async function verifyModelDir(kind: ModelDirKind, dir: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const rows: VerifyRow[] = [];
  const entries = resolveModelDir(kind, dir);
  const graphs = new Map<string, SessionDescription>();
  for (const e of entries) {
    if (!e.found || !e.graph || !e.path) continue;
    let session: ort.InferenceSession | undefined;
    try {
      session = await createSession(e.path, { provider: options.provider });
      const d = describeSession(session);
      graphs.set(e.key, d);
      rows.push({ file: e.file, tensor: '-', expected: `loads (${e.graph})`, actual: 'loaded', ok: true, reason: '' });
      rows.push(...checkSessionContract(e.graph, d, e.file));
    } catch (err) {
      rows.push({
        file: e.file,
        tensor: '-',
        expected: `loads (${e.graph})`,
        actual: 'load failed',
        ok: false,
        reason: err instanceof Error ? err.message : String(err),
      });
    } finally {
      await session?.release();
    }
  }
  for (const e of entries) {
    if (e.graph) {
      if (!e.found) rows.unshift({ file: e.file, tensor: '-', expected: 'present', actual: 'missing', ok: false, reason: 'missing file' });
      continue;
    }
    if (!e.found) {
      rows.push({
        file: e.file,
        tensor: '-',
        expected: e.optional ? 'optional' : 'present',
        actual: 'missing',
        ok: e.optional,
        reason: e.optional ? 'optional file absent' : 'missing file',
      });
      continue;
    }
    rows.push(auxFileChecks(e.key, e.file, e.path!, graphs));
  }
  rows.push(...crossGraphChecks(kind, graphs));
  return { kind, dir, ok: rows.every((r) => r.ok), rows };
}

/** Plain-text table for the CLI: one line per row, failures marked. */
export function formatVerifyTable(rows: readonly VerifyRow[]): string {
  const header = ['', 'file', 'tensor', 'expected', 'actual', 'reason'];
  const body = rows.map((r) => [r.ok ? 'ok' : 'FAIL', r.file, r.tensor, r.expected, r.actual, r.reason]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (i === 5 ? 0 : b[i]!.length))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...body.map(line)].join('\n');
}
