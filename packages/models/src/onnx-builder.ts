/**
 * A small typed graph builder over `onnx-proto` for generating tiny, deterministic ONNX models in Node
 * (docs/model-contracts.md §5.1). It covers what the tiny pack needs: typed inputs/outputs with symbolic
 * dims, initializers from typed arrays, attributes (including subgraphs for `If`), opset 17 / IR 8.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { onnx } from 'onnx-proto';

export type ElemType = 'float32' | 'int64' | 'int32' | 'bool';
/** number = fixed size; string = symbolic (dynamic) axis */
export type Dim = number | string;

export const ELEM_TYPE_CODE: Record<ElemType, number> = { float32: 1, int32: 6, int64: 7, bool: 9 };

export const DEFAULT_OPSET = 17;
export const DEFAULT_IR_VERSION = 8;

/** Tagged attribute values for the cases a plain JS value cannot disambiguate. */
export type AttrValue =
  | number // integer → INT, otherwise FLOAT
  | string
  | number[] // INTS
  | { f: number }
  | { floats: number[] }
  | { tensor: onnx.ITensorProto }
  | GraphBuilder;

export const attrFloat = (f: number): AttrValue => ({ f });
export const attrFloats = (floats: number[]): AttrValue => ({ floats });

function valueInfo(name: string, type: ElemType, shape?: Dim[]): onnx.IValueInfoProto {
  const tensorType: onnx.TypeProto.ITensor = { elemType: ELEM_TYPE_CODE[type] };
  if (shape) {
    tensorType.shape = {
      dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
    };
  }
  return { name, type: { tensorType } };
}

export function floatTensor(name: string, data: Float32Array | number[], dims: number[]): onnx.ITensorProto {
  const arr = data instanceof Float32Array ? data : Float32Array.from(data);
  checkSize(name, arr.length, dims);
  return { name, dims, dataType: ELEM_TYPE_CODE.float32, rawData: new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength) };
}

export function int64Tensor(name: string, data: BigInt64Array | readonly (number | bigint)[], dims: number[]): onnx.ITensorProto {
  const arr = data instanceof BigInt64Array ? data : BigInt64Array.from(data, (v) => BigInt(v));
  checkSize(name, arr.length, dims);
  return { name, dims, dataType: ELEM_TYPE_CODE.int64, rawData: new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength) };
}

function checkSize(name: string, n: number, dims: number[]): void {
  const want = dims.reduce((a, b) => a * b, 1);
  if (want !== n) throw new Error(`tensor ${name}: ${n} values for dims [${dims.join(',')}] (want ${want})`);
}

function toAttribute(name: string, v: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (v instanceof GraphBuilder) return { name, type: T.GRAPH, g: v.toGraphProto() };
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  }
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('f' in v) return { name, type: T.FLOAT, f: v.f };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  return { name, type: T.TENSOR, t: v.tensor };
}

/**
 * Builds one graph (the main graph or an `If` branch). Node outputs get unique generated names unless
 * given; inner graphs may reference any value of an enclosing graph by name (ONNX outer-scope rule).
 */
export class GraphBuilder {
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private counter = 0;

  constructor(
    readonly name: string,
    /** prefix for generated value names; distinct per subgraph so names never collide with the parent */
    private readonly prefix = name,
  ) {}

  input(name: string, type: ElemType, shape: Dim[]): string {
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  /** Declares a graph output; `shape` may be omitted for `If` branch outputs whose shape differs by branch. */
  output(name: string, type: ElemType, shape?: Dim[]): string {
    this.outputs.push(valueInfo(name, type, shape));
    return name;
  }

  fresh(hint = 'v'): string {
    return `${this.prefix}/${hint}_${this.counter++}`;
  }

  initFloat(data: Float32Array | number[], dims: number[], name = this.fresh('w')): string {
    this.initializers.push(floatTensor(name, data, dims));
    return name;
  }

  initInt64(data: BigInt64Array | readonly (number | bigint)[], dims: number[], name = this.fresh('i')): string {
    this.initializers.push(int64Tensor(name, data, dims));
    return name;
  }

  /** Scalar or 1-D float constant as an initializer. */
  f(...values: number[]): string {
    return values.length === 1 ? this.initFloat(values, []) : this.initFloat(values, [values.length]);
  }

  /** 1-D int64 constant (for shapes, axes, starts/ends). */
  i64(...values: (number | bigint)[]): string {
    return this.initInt64(values, [values.length]);
  }

  /** Scalar int64 constant. */
  i64s(value: number | bigint): string {
    return this.initInt64([value], []);
  }

  /** Adds a node and returns its output names. `outputs` is a count (generated names) or explicit names. */
  node(opType: string, inputs: string[], outputs: number | string[] = 1, attrs: Record<string, AttrValue> = {}): string[] {
    const outNames = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType)) : outputs;
    this.nodes.push({
      opType,
      name: this.fresh(`${opType}_node`),
      input: inputs,
      output: outNames,
      attribute: Object.entries(attrs).map(([k, v]) => toAttribute(k, v)),
    });
    return outNames;
  }

  /** Single-output node; `out` names the output explicitly. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, out?: string): string {
    return this.node(opType, inputs, out ? [out] : 1, attrs)[0]!;
  }

  /** Creates a branch graph for `If`/`Loop`, named uniquely under this graph. */
  subgraph(name: string): GraphBuilder {
    return new GraphBuilder(name, `${this.prefix}/${name}`);
  }

  toGraphProto(): onnx.IGraphProto {
    return {
      name: this.name,
      input: this.inputs,
      output: this.outputs,
      node: this.nodes,
      initializer: this.initializers,
    };
  }
}

export interface ModelOptions {
  opset?: number;
  irVersion?: number;
  producerName?: string;
  docString?: string;
  /** key/value metadata_props stored in the model (ORT exposes them as custom metadata) */
  metadata?: Record<string, string>;
}

export class ModelBuilder {
  constructor(
    readonly graph: GraphBuilder,
    private readonly options: ModelOptions = {},
  ) {}

  toProto(): onnx.ModelProto {
    const o = this.options;
    return onnx.ModelProto.create({
      irVersion: o.irVersion ?? DEFAULT_IR_VERSION,
      producerName: o.producerName ?? 'omniaffect-tiny',
      producerVersion: '1',
      docString: o.docString ?? '',
      opsetImport: [{ domain: '', version: o.opset ?? DEFAULT_OPSET }],
      graph: this.graph.toGraphProto(),
      metadataProps: Object.entries(o.metadata ?? {}).map(([key, value]) => ({ key, value })),
    });
  }

  toBytes(): Uint8Array {
    return onnx.ModelProto.encode(this.toProto()).finish();
  }

  save(path: string): string {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, this.toBytes());
    return path;
  }
}

/** Decodes an ONNX file's bytes (used by tests and `verify` diagnostics). */
export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
