/**
 * Opening ONNX Runtime sessions with an explicit execution provider (docs/model-contracts.md §7).
 * CUDA is requested alone: if it cannot load, the error surfaces instead of a silent CPU fallback.
 */
import * as ort from 'onnxruntime-node';

export type ExecutionProvider = { name: 'cpu' } | { name: 'cuda'; deviceId: number };

export interface CreateSessionOptions {
  provider?: ExecutionProvider | string;
  intraOpThreads?: number;
}

export interface TensorMeta {
  name: string;
  /** 'float32' | 'int64' | 'bool' …; 'non-tensor' for sequence/map values */
  type: string;
  /** number = fixed; string = symbolic axis name */
  shape: (number | string)[];
}

export interface SessionDescription {
  inputs: TensorMeta[];
  outputs: TensorMeta[];
}

/** Parses `cpu`, `cuda` (device 0) or `cuda:<id>`. */
export function parseExecutionProvider(value: string | undefined): ExecutionProvider {
  const v = (value ?? 'cpu').trim().toLowerCase();
  if (v === '' || v === 'cpu') return { name: 'cpu' };
  const m = /^cuda(?::(\d+))?$/.exec(v);
  if (m) return { name: 'cuda', deviceId: m[1] === undefined ? 0 : Number(m[1]) };
  throw new Error(`unknown execution provider "${value}": use cpu, cuda or cuda:<device id>`);
}

export function formatExecutionProvider(p: ExecutionProvider): string {
  return p.name === 'cpu' ? 'cpu' : `cuda:${p.deviceId}`;
}

export const CUDA_HINT =
  'The CUDA execution provider needs onnxruntime-node installed with ONNXRUNTIME_NODE_INSTALL=cuda12 ' +
  '(libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so next to the binding), ' +
  'CUDA 12.x and cuDNN 9.x runtime libraries on the loader path, and a visible GPU. ' +
  'Use provider "cpu" to run without a GPU.';

export async function createSession(path: string, options: CreateSessionOptions = {}): Promise<ort.InferenceSession> {
  const provider = typeof options.provider === 'string' || options.provider === undefined ? parseExecutionProvider(options.provider) : options.provider;
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: provider.name === 'cuda' ? [{ name: 'cuda', deviceId: provider.deviceId }] : ['cpu'],
    graphOptimizationLevel: 'all',
  };
  if (options.intraOpThreads !== undefined) sessionOptions.intraOpNumThreads = options.intraOpThreads;
  try {
    return await ort.InferenceSession.create(path, sessionOptions);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (provider.name === 'cuda') {
      throw new Error(`cannot open ${path} on ${formatExecutionProvider(provider)}: ${message}. ${CUDA_HINT}`, {
        cause: err,
      });
    }
    throw new Error(`cannot open ${path}: ${message}`, { cause: err });
  }
}

function toMeta(m: ort.InferenceSession.ValueMetadata): TensorMeta {
  if (!m.isTensor) return { name: m.name, type: 'non-tensor', shape: [] };
  return { name: m.name, type: m.type, shape: m.shape.map((d) => (typeof d === 'number' ? d : String(d))) };
}

/** Input/output names, element types and shapes as ORT reports them at load. */
export function describeSession(session: ort.InferenceSession): SessionDescription {
  return { inputs: session.inputMetadata.map(toMeta), outputs: session.outputMetadata.map(toMeta) };
}

/** float32 tensors by name, as plain arrays and dims: what crosses a thread boundary or a test. */
export type FloatTensors = Record<string, { data: Float32Array; dims: readonly number[] }>;

/** Runs a session whose inputs and outputs are all float32 (fusion.onnx, docs/model-contracts.md §6). */
export async function runFloatTensors(session: ort.InferenceSession, feeds: FloatTensors): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor('float32', f.data, f.dims);
  const res = await session.run(ortFeeds);
  const out: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const [name, t] of Object.entries(res)) out[name] = { data: t.data as Float32Array, dims: [...t.dims] };
  return out;
}
