import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as ort from 'onnxruntime-node';

/** transformers.js dtype names → file suffixes (TJS utils/dtypes.js). */
export const DTYPE_SUFFIX: Record<string, string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  quantized: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

export type DtypeChoice = string | Record<string, string>;

export function readJsonIfPresent<T>(file: string): T | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new Error(`cannot parse ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Our optional per-model-dir settings file (`omniaffect.json`). */
export interface OmniaffectModelConfig {
  /** transformers.js dtype name, or one per graph name (`encoder_model`, `decoder_model_merged`, …) */
  dtype?: DtypeChoice;
  /** emotion2vec: where utterance normalisation happens */
  normalize?: 'graph' | 'code';
}

export function readOmniaffectConfig(modelDir: string): OmniaffectModelConfig {
  return readJsonIfPresent<OmniaffectModelConfig>(path.join(modelDir, 'omniaffect.json')) ?? {};
}

/**
 * Picks the dtype variant of `onnx/<graph>.onnx`: an explicit option first, then `omniaffect.json`,
 * then the `transformers.js_config.dtype` of config.json (how onnx-community repos name their
 * default), else fp32. A named variant that is absent is an error, never a silent fallback.
 */
export function resolveOnnxGraph(modelDir: string, graph: string, explicit?: DtypeChoice): string {
  const config = readJsonIfPresent<Record<string, unknown>>(path.join(modelDir, 'config.json'));
  const tjs = (config?.['transformers.js_config'] ?? {}) as { dtype?: DtypeChoice };
  const choices: [DtypeChoice | undefined, string][] = [
    [explicit, 'the dtype option'],
    [readOmniaffectConfig(modelDir).dtype, 'omniaffect.json'],
    [tjs.dtype, 'config.json transformers.js_config'],
  ];
  for (const [choice, source] of choices) {
    if (choice === undefined) continue;
    const dtype = typeof choice === 'string' ? choice : choice[graph];
    if (dtype === undefined) continue;
    const suffix = DTYPE_SUFFIX[dtype];
    if (suffix === undefined) {
      throw new Error(`${source} names dtype "${dtype}" for ${graph}; known: ${Object.keys(DTYPE_SUFFIX).join(', ')}`);
    }
    const file = path.join(modelDir, 'onnx', `${graph}${suffix}.onnx`);
    if (!existsSync(file)) throw new Error(`${source} selects ${path.relative(modelDir, file)}, which is missing. ${listOnnx(modelDir)}`);
    return file;
  }
  const file = path.join(modelDir, 'onnx', `${graph}.onnx`);
  if (!existsSync(file)) throw new Error(`${modelDir} lacks onnx/${graph}.onnx. ${listOnnx(modelDir)}`);
  return file;
}

function listOnnx(modelDir: string): string {
  const dir = path.join(modelDir, 'onnx');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.onnx')) : [];
  return files.length ? `onnx/ holds: ${files.join(', ')}` : 'there is no onnx/ folder with .onnx files';
}

export function inputMeta(session: ort.InferenceSession, name: string): ort.InferenceSession.TensorValueMetadata | undefined {
  const m = session.inputMetadata.find((x) => x.name === name);
  return m && m.isTensor ? m : undefined;
}

export function outputMeta(session: ort.InferenceSession, name: string): ort.InferenceSession.TensorValueMetadata | undefined {
  const m = session.outputMetadata.find((x) => x.name === name);
  return m && m.isTensor ? m : undefined;
}

/** Throws unless the session lists every name, saying which file is wrong and what it has. */
export function requireNames(session: ort.InferenceSession, file: string, inputs: string[], outputs: string[]): void {
  const missingIn = inputs.filter((n) => !session.inputNames.includes(n));
  const missingOut = outputs.filter((n) => !session.outputNames.includes(n));
  if (missingIn.length || missingOut.length) {
    throw new Error(
      `${file} does not match the expected contract: missing ${[...missingIn.map((n) => `input ${n}`), ...missingOut.map((n) => `output ${n}`)].join(
        ', ',
      )}; it has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]`,
    );
  }
}
