import * as ort from 'onnxruntime-node';
import { createSession, type CreateSessionOptions } from '../session';
import { inputMeta, outputMeta, requireNames, resolveOnnxGraph, type DtypeChoice } from './model-files';
import { newStats, recordRun, type InferenceStats } from './stats';

export const SIGLIP_PIXELS = 3 * 224 * 224;

export interface SiglipLoadOptions {
  provider?: CreateSessionOptions['provider'];
  dtype?: DtypeChoice;
  intraOpThreads?: number;
}

/** SigLIP vision tower: preprocessed CHW images → pooler_output (the image embedding, not L2-normalised). */
export class SiglipRunner {
  readonly stats: InferenceStats = newStats();

  private constructor(
    readonly modelFile: string,
    readonly session: ort.InferenceSession,
  ) {
    requireNames(session, modelFile, ['pixel_values'], ['pooler_output']);
    const t = inputMeta(session, 'pixel_values')?.type;
    if (t !== undefined && t !== 'float32') {
      throw new Error(`${modelFile}: pixel_values is ${t}; this runner feeds float32 (use an export with float32 I/O)`);
    }
  }

  static async load(modelDir: string, options: SiglipLoadOptions = {}): Promise<SiglipRunner> {
    const file = resolveOnnxGraph(modelDir, 'vision_model', options.dtype);
    return new SiglipRunner(file, await createSession(file, { provider: options.provider, intraOpThreads: options.intraOpThreads }));
  }

  get inferenceStats(): InferenceStats {
    return this.stats;
  }

  /** Embedding size from the session, when it is declared. */
  get dim(): number | null {
    const d = outputMeta(this.session, 'pooler_output')?.shape[1];
    return typeof d === 'number' ? d : null;
  }

  /** All images in one run (batch = images.length); one embedding per image, in order. */
  async embed(pixelBatches: Float32Array[]): Promise<Float32Array[]> {
    if (pixelBatches.length === 0) return [];
    const started = performance.now();
    const batch = new Float32Array(pixelBatches.length * SIGLIP_PIXELS);
    pixelBatches.forEach((img, i) => {
      if (img.length !== SIGLIP_PIXELS) {
        throw new Error(`image ${i} has ${img.length} values; expected 3×224×224 = ${SIGLIP_PIXELS} (use preprocessImage)`);
      }
      batch.set(img, i * SIGLIP_PIXELS);
    });
    const out = await this.session.run({ pixel_values: new ort.Tensor('float32', batch, [pixelBatches.length, 3, 224, 224]) }, ['pooler_output']);
    this.stats.sessionRuns += 1;
    const pooled = out['pooler_output']!;
    const [b, dim] = pooled.dims as number[];
    if (b !== pixelBatches.length) throw new Error(`${this.modelFile}: pooler_output batch ${b} for ${pixelBatches.length} images`);
    const data = pooled.data as Float32Array;
    const result = pixelBatches.map((_, i) => data.slice(i * dim!, (i + 1) * dim!));
    recordRun(this.stats, started);
    return result;
  }
}
