import { readFileSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { Transferred, buffersOf, serveThread, type FusionManifest } from '@omniaffect/core';
import { assertSessionContract, createSession, modelFile, runFloatTensors } from '@omniaffect/models';
import type { Feeds, Outputs } from '@omniaffect/explain';

/** What a run answers: the outputs, ORT's time, and the feeds' buffers, handed back for reuse. */
export interface FusionRun {
  outputs: Outputs;
  ms: number;
  spent: ArrayBuffer[];
}

/** Runs fusion.onnx off the service's event loop (ORT's run() is synchronous in onnxruntime-node). */
const { modelDir, provider, intraOpThreads } = workerData as { modelDir: string; provider: string; intraOpThreads?: number };
let session: ort.InferenceSession | null = null;
let manifest: FusionManifest | null = null;

serveThread({
  async load(): Promise<FusionManifest> {
    session = await createSession(modelFile('fusion', modelDir, 'model'), { provider, intraOpThreads: intraOpThreads || undefined });
    assertSessionContract('fusion', session, 'fusion.onnx');
    manifest = JSON.parse(readFileSync(modelFile('fusion', modelDir, 'manifest'), 'utf8')) as FusionManifest;
    return manifest;
  },
  async run(feeds: Feeds): Promise<Transferred<FusionRun>> {
    if (!session) throw new Error('fusion model not loaded');
    const t0 = performance.now();
    const outputs: Outputs = await runFloatTensors(session, feeds);
    const ms = performance.now() - t0;
    // Outputs and the spent feeds move back to the service, not copied (see Transferred): left here,
    // the feeds would pile up as garbage in a thread that allocates too little for V8 to collect
    // them soon; the service reuses them for its next runs (FeedPool).
    const spent = buffersOf(Object.values(feeds));
    const out = buffersOf(Object.values(outputs));
    return new Transferred({ outputs, ms, spent }, [...out, ...spent]);
  },
});
