import { openAsBlob } from 'node:fs';
import * as path from 'node:path';
import {
  isTerminalStageState,
  isTerminalVideoStatus,
  type RatingDocument,
  type RatingsSummaryDocument,
  type VideoDocument,
  type VideoListDocument,
} from '@omniaffect/core';

/** A small HTTP client of the gateway, used by the CLI, the demo, the evaluator and the e2e tests. */
export class GatewayClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.apiKey}`, ...extra };
  }

  /**
   * The gateway's per-key rate limit answers `429 rate-limited` with Retry-After: a client working
   * through a dataset waits its turn instead of failing clips. `quota-exceeded` is returned as is,
   * since waiting a few seconds does not lift a quota.
   */
  private async send(request: () => Promise<Response>, maxWaits = 30): Promise<Response> {
    for (let i = 0; ; i++) {
      const res = await request();
      if (res.status !== 429 || i >= maxWaits) return res;
      const body = await res.clone().text();
      if (!body.includes('/problems/rate-limited')) return res;
      await res.body?.cancel();
      const waitSec = Math.min(60, Math.max(1, Number(res.headers.get('retry-after')) || 1));
      await new Promise((r) => setTimeout(r, waitSec * 1000));
    }
  }

  private async json<T>(res: Response): Promise<T> {
    const text = await res.text();
    if (!res.ok) {
      let detail = text;
      try {
        const p = JSON.parse(text) as { type?: string; detail?: string; title?: string };
        detail = `${p.title ?? ''} (${p.type ?? res.status}): ${p.detail ?? ''}`;
      } catch {
        /* keep text */
      }
      const err = new Error(`HTTP ${res.status}: ${detail}`) as Error & { status: number; body: string };
      err.status = res.status;
      err.body = text;
      throw err;
    }
    return JSON.parse(text) as T;
  }

  async submitFile(
    file: string,
    opts: { language?: string; callbackUrl?: string; idempotencyKey?: string; metadata?: Record<string, unknown>; transcript?: string } = {},
  ): Promise<{ id: string; status: string }> {
    const type = await mediaType(file);
    const form = async () => {
      const f = new FormData();
      if (opts.language) f.append('language', opts.language);
      if (opts.callbackUrl) f.append('callbackUrl', opts.callbackUrl);
      if (opts.metadata) f.append('metadata', JSON.stringify(opts.metadata));
      if (opts.transcript) f.append('transcript', opts.transcript);
      // openAsBlob reads the file lazily as fetch streams the body: uploads of any size never sit in memory,
      // and fetch computes the boundary and content-length itself. A fresh form per attempt: a body is read once.
      f.append('file', await openAsBlob(file, { type }), path.basename(file));
      return f;
    };
    const res = await this.send(async () =>
      fetch(`${this.baseUrl}/v1/videos`, {
        method: 'POST',
        headers: this.headers(opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {}),
        body: await form(),
      }),
    );
    return this.json(res);
  }

  async submitUrl(url: string, opts: { language?: string; callbackUrl?: string } = {}): Promise<{ id: string; status: string }> {
    const res = await this.send(() =>
      fetch(`${this.baseUrl}/v1/videos`, {
        method: 'POST',
        headers: this.headers({ 'content-type': 'application/json' }),
        body: JSON.stringify({ url, ...opts }),
      }),
    );
    return this.json(res);
  }

  async status(id: string): Promise<VideoDocument> {
    return this.json(await this.send(() => fetch(`${this.baseUrl}/v1/videos/${id}`, { headers: this.headers() })));
  }

  /** The pushed encoder outputs, decoded to Float32Arrays. */
  async features(id: string): Promise<{ modality: string; kind: string; shape: number[]; data: Float32Array; items: unknown[]; model: string | null }[]> {
    const doc = await this.json<{ tensors: { modality: string; kind: string; shape: number[]; data: string; items: unknown[]; model: string | null }[] }>(
      await this.send(() => fetch(`${this.baseUrl}/v1/videos/${id}/features`, { headers: this.headers() })),
    );
    return doc.tensors.map((t) => {
      const buf = Buffer.from(t.data, 'base64');
      const aligned = new Uint8Array(buf.length);
      aligned.set(buf);
      return { ...t, data: new Float32Array(aligned.buffer) };
    });
  }

  async result<T = unknown>(id: string): Promise<T> {
    return this.json(await this.send(() => fetch(`${this.baseUrl}/v1/videos/${id}/result`, { headers: this.headers() })));
  }

  /** The secret that signs this API key's per-video callbackUrl deliveries. */
  async callbackSecret(): Promise<string> {
    return (await this.json<{ secret: string }>(await this.send(() => fetch(`${this.baseUrl}/v1/callback-secret`, { headers: this.headers() })))).secret;
  }

  /** One page of this key's videos, newest first; pass the answer's `next` as `before` for the next page. */
  async videos(opts: { limit?: number; before?: string } = {}): Promise<VideoListDocument> {
    const q = new URLSearchParams();
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    if (opts.before) q.set('before', opts.before);
    const query = q.size > 0 ? `?${q}` : '';
    return this.json(await this.send(() => fetch(`${this.baseUrl}/v1/videos${query}`, { headers: this.headers() })));
  }

  /** A reviewer's rating of a succeeded video's explanation (clarity and relevance 1–5, optional comment). */
  async rate(id: string, body: { clarity: number; relevance: number; comment?: string | null }): Promise<RatingDocument> {
    return this.json(
      await this.send(() =>
        fetch(`${this.baseUrl}/v1/videos/${id}/ratings`, {
          method: 'POST',
          headers: this.headers({ 'content-type': 'application/json' }),
          body: JSON.stringify(body),
        }),
      ),
    );
  }

  /** The video's ratings, newest first. */
  async ratings(id: string): Promise<RatingDocument[]> {
    const doc = await this.json<{ ratings: RatingDocument[] }>(
      await this.send(() => fetch(`${this.baseUrl}/v1/videos/${id}/ratings`, { headers: this.headers() })),
    );
    return doc.ratings;
  }

  /** This key's ratings per fusion model version. `timeoutMs` bounds the whole call (rate-limit waits included). */
  async ratingsSummary(opts: { timeoutMs?: number } = {}): Promise<RatingsSummaryDocument> {
    const signal = opts.timeoutMs === undefined ? undefined : AbortSignal.timeout(opts.timeoutMs);
    return this.json(await this.send(() => fetch(`${this.baseUrl}/v1/ratings/summary`, { headers: this.headers(), signal }), signal ? 0 : undefined));
  }

  /** The HTML report; `exported` gives the self-contained file (no media link, no rating form). */
  async report(id: string, o: { exported?: boolean; lang?: 'en' | 'zh' } = {}): Promise<string> {
    const q = new URLSearchParams({ ...(o.exported ? { export: '1' } : {}), ...(o.lang ? { lang: o.lang } : {}) }).toString();
    const res = await this.send(() => fetch(`${this.baseUrl}/v1/videos/${id}/report${q ? `?${q}` : ''}`, { headers: this.headers() }));
    if (!res.ok) throw new Error(`HTTP ${res.status} for report`);
    return res.text();
  }

  async waitForTerminal(id: string, timeoutMs = 600_000, onStatus?: (d: VideoDocument) => void): Promise<VideoDocument> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const doc = await this.status(id);
      onStatus?.(doc);
      if (isTerminalVideoStatus(doc.status)) return doc;
      if (Date.now() > deadline) throw new Error(`video ${id} still ${doc.status} after ${timeoutMs} ms (${unfinishedStages(doc)})`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

/**
 * The stages a video still waits on, for a timeout's message: which worker to look at ("asr running
 * since 12:00:01Z, attempt 2; fusion pending") instead of a bare "still processing".
 */
export function unfinishedStages(doc: Pick<VideoDocument, 'stages'>): string {
  const open = Object.entries(doc.stages)
    .filter(([, s]) => s && !isTerminalStageState(s.state))
    .map(([name, s]) => `${name} ${s!.state}${s!.startedAt ? ` since ${s!.startedAt}` : ''}${s!.attempts > 1 ? `, attempt ${s!.attempts}` : ''}`);
  return open.length ? `waiting on ${open.join('; ')}` : 'every stage finished; the video was not closed';
}

/**
 * The declared type of an upload. Only audio/* and video/* types are declared; anything else goes as
 * application/octet-stream, which the gateway accepts and leaves to the media worker's probe (a
 * `text/plain` or `chemical/x-xyz` guess would instead be refused with 415 before the probe sees it).
 */
async function mediaType(file: string): Promise<string> {
  // mime is an ES module; this package compiles to CommonJS, so it is loaded with import().
  const { default: mime } = await import('mime');
  const t = mime.getType(file);
  return t && /^(audio|video)\//.test(t) ? t : 'application/octet-stream';
}
