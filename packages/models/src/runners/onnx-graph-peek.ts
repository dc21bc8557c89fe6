import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { onnx } from 'onnx-proto';

export interface PeekedNode {
  opType: string;
  inputs: string[];
  outputs: string[];
}

export interface PeekedGraph {
  inputs: string[];
  initializers: Set<string>;
  nodes: PeekedNode[];
}

/**
 * Reads a model file's top-level graph nodes and input names without decoding its weights.
 * Real exports are hundreds of MB to GB; decoding the whole ModelProto would hold all of it
 * (twice) in memory just to look at a few ops, so this walks the protobuf framing and seeks over
 * initializers. Only names of initializers are collected (they are graph inputs in old IRs).
 */
export function peekOnnxGraph(file: string): PeekedGraph {
  const fd = openSync(file, 'r');
  try {
    const reader = new WindowReader(fd, fstatSync(fd).size);
    const out: PeekedGraph = { inputs: [], initializers: new Set(), nodes: [] };
    let pos = 0;
    while (pos < reader.size) {
      const field = reader.fieldAt(pos);
      if (field.number === MODEL_GRAPH && field.wire === 2) {
        readGraph(reader, field.dataStart, field.dataStart + field.length, out);
      }
      pos = field.next;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/**
 * Float values of the small tensors whose name `match` accepts: initializers, and `Constant` nodes by
 * output name. For reading a handful of scalars (e.g. SigLIP's logit_scale / logit_bias) out of an
 * 813 MB graph without decoding its weights: only matching initializers of at most 64 bytes are decoded.
 */
export function peekNamedScalars(file: string, match: (name: string) => boolean): Map<string, number[]> {
  const fd = openSync(file, 'r');
  const out = new Map<string, number[]>();
  try {
    const reader = new WindowReader(fd, fstatSync(fd).size);
    let pos = 0;
    while (pos < reader.size) {
      const field = reader.fieldAt(pos);
      if (field.number === MODEL_GRAPH && field.wire === 2) {
        const end = field.dataStart + field.length;
        let p = field.dataStart;
        while (p < end) {
          const f = reader.fieldAt(p);
          if (f.wire === 2 && f.number === GRAPH_INITIALIZER && f.length <= 256) {
            const name = tensorName(reader, f.dataStart, f.dataStart + f.length);
            if (name && match(name)) {
              const values = floatValues(onnx.TensorProto.decode(reader.bytes(f.dataStart, f.length)));
              if (values) out.set(name, values);
            }
          } else if (f.wire === 2 && f.number === GRAPH_NODE && f.length <= 512) {
            const node = onnx.NodeProto.decode(reader.bytes(f.dataStart, f.length));
            const name = node.output[0];
            const t = node.attribute.find((a) => a.name === 'value')?.t;
            if (node.opType === 'Constant' && name && match(name) && t) {
              const values = floatValues(onnx.TensorProto.decode(onnx.TensorProto.encode(t).finish()));
              if (values) out.set(name, values);
            }
          }
          p = f.next;
        }
      }
      pos = field.next;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

function floatValues(t: onnx.TensorProto): number[] | null {
  if (t.dataType !== 1) return null;
  if (t.floatData.length) return [...t.floatData];
  const raw = t.rawData;
  if (!raw || raw.length % 4 !== 0 || raw.length > 64) return null;
  const copy = new Uint8Array(raw);
  return [...new Float32Array(copy.buffer, 0, copy.length / 4)];
}

const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const TENSOR_NAME = 8;

function readGraph(reader: WindowReader, start: number, end: number, out: PeekedGraph): void {
  let pos = start;
  while (pos < end) {
    const field = reader.fieldAt(pos);
    if (field.wire === 2 && field.number === GRAPH_NODE) {
      const node = onnx.NodeProto.decode(reader.bytes(field.dataStart, field.length));
      out.nodes.push({ opType: node.opType, inputs: [...node.input], outputs: [...node.output] });
    } else if (field.wire === 2 && field.number === GRAPH_INPUT) {
      out.inputs.push(onnx.ValueInfoProto.decode(reader.bytes(field.dataStart, field.length)).name);
    } else if (field.wire === 2 && field.number === GRAPH_INITIALIZER) {
      const name = tensorName(reader, field.dataStart, field.dataStart + field.length);
      if (name) out.initializers.add(name);
    }
    pos = field.next;
  }
}

function tensorName(reader: WindowReader, start: number, end: number): string | null {
  let pos = start;
  while (pos < end) {
    const field = reader.fieldAt(pos);
    if (field.wire === 2 && field.number === TENSOR_NAME) {
      return Buffer.from(reader.bytes(field.dataStart, field.length)).toString('utf8');
    }
    pos = field.next;
  }
  return null;
}

interface Field {
  number: number;
  wire: number;
  dataStart: number;
  length: number;
  next: number;
}

/** Positional reads through a small cache window, so walking thousands of small fields stays cheap. */
class WindowReader {
  private window = Buffer.alloc(0);
  private windowStart = 0;
  private static readonly WINDOW = 1 << 20;

  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  bytes(pos: number, length: number): Uint8Array {
    if (pos < 0 || pos + length > this.size) throw new Error(`ONNX file truncated at byte ${pos + length}`);
    if (pos >= this.windowStart && pos + length <= this.windowStart + this.window.length) {
      return this.window.subarray(pos - this.windowStart, pos - this.windowStart + length);
    }
    if (length > WindowReader.WINDOW) {
      const buf = Buffer.alloc(length);
      readSync(this.fd, buf, 0, length, pos);
      return buf;
    }
    const want = Math.min(WindowReader.WINDOW, this.size - pos);
    this.window = Buffer.alloc(want);
    readSync(this.fd, this.window, 0, want, pos);
    this.windowStart = pos;
    return this.window.subarray(0, length);
  }

  private varint(pos: number): { value: number; next: number } {
    const head = this.bytes(pos, Math.min(10, this.size - pos));
    let value = 0;
    let scale = 1;
    for (let i = 0; i < head.length; i++) {
      const b = head[i]!;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return { value, next: pos + i + 1 };
      scale *= 128;
    }
    throw new Error(`malformed varint at byte ${pos} of the ONNX file`);
  }

  fieldAt(pos: number): Field {
    const tag = this.varint(pos);
    const number = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    switch (wire) {
      case 0: {
        const v = this.varint(tag.next);
        return { number, wire, dataStart: tag.next, length: v.next - tag.next, next: v.next };
      }
      case 1:
        return { number, wire, dataStart: tag.next, length: 8, next: tag.next + 8 };
      case 2: {
        const len = this.varint(tag.next);
        return { number, wire, dataStart: len.next, length: len.value, next: len.next + len.value };
      }
      case 5:
        return { number, wire, dataStart: tag.next, length: 4, next: tag.next + 4 };
      default:
        throw new Error(`unsupported protobuf wire type ${wire} at byte ${pos} of the ONNX file`);
    }
  }
}

const PASS_THROUGH = new Set(['Cast', 'Identity', 'Reshape', 'Unsqueeze', 'Squeeze', 'Flatten']);
const NORMALISING_OPS = new Set(['LayerNormalization', 'MeanVarianceNormalization', 'InstanceNormalization', 'GroupNormalization']);

/**
 * True when the graph normalises its waveform input itself: a normalisation op reads the input
 * (possibly through casts/reshapes), or the input minus its own ReduceMean is computed, which is
 * how torch exports `F.layer_norm(x, x.shape)` below opset 17 (ReduceMean, Sub, Pow, ...).
 */
export function graphNormalisesInput(graph: PeekedGraph, inputName: string): boolean {
  const aliases = new Set([inputName]);
  for (let grew = true; grew;) {
    grew = false;
    for (const n of graph.nodes) {
      if (PASS_THROUGH.has(n.opType) && aliases.has(n.inputs[0] ?? '')) {
        for (const o of n.outputs) {
          if (!aliases.has(o)) {
            aliases.add(o);
            grew = true;
          }
        }
      }
    }
  }
  const meansOfInput = new Set<string>();
  for (const n of graph.nodes) {
    const reads = aliases.has(n.inputs[0] ?? '');
    if (reads && NORMALISING_OPS.has(n.opType)) return true;
    if (reads && n.opType === 'ReduceMean') n.outputs.forEach((o) => meansOfInput.add(o));
  }
  return graph.nodes.some((n) => n.opType === 'Sub' && aliases.has(n.inputs[0] ?? '') && meansOfInput.has(n.inputs[1] ?? ''));
}
