import { existsSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { serveThread, standInKind } from '@omniaffect/core';
import { TextEncoders, type LanguageTextEmbedding } from '@omniaffect/models';

const { enDir, zhDir, provider, intraOpThreads } = workerData as { enDir: string; zhDir: string; provider: string; intraOpThreads?: number };
let encoders: TextEncoders | null = null;

serveThread({
  async load() {
    encoders = await TextEncoders.load(
      { en: existsSync(enDir) ? enDir : null, zh: existsSync(zhDir) ? zhDir : null },
      { provider, intraOpThreads: intraOpThreads || undefined },
    );
    // one flag for the worker: a stand-in encoder in either slot makes every text result a stand-in's
    const standIn = [enDir, zhDir].map((d) => (existsSync(d) ? standInKind(d) : null)).find((k) => k !== null);
    return { en: encoders.en?.name ?? null, zh: encoders.zh?.name ?? null, provider, ...(standIn ? { standIn } : {}) };
  },
  async embed(text: string, language: string): Promise<{ embedding: LanguageTextEmbedding; ms: number; model: string }> {
    if (!encoders) throw new Error('text encoders not loaded');
    const t0 = performance.now();
    const embedding = await encoders.embed(text, language);
    return { embedding, ms: performance.now() - t0, model: encoders.pick(language).runner.name };
  },
});
