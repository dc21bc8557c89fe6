import { createReadStream, statSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import type { VideoDocument } from '@omniaffect/core';

/** A small HTTP client of the gateway, used by the CLI, the demo, the evaluator and the e2e tests. */
export class GatewayClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.apiKey}`, ...extra };
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

  async submitFile(file: string, opts: { language?: string; callbackUrl?: string; idempotencyKey?: string; metadata?: Record<string, unknown>; transcript?: string } = {}): Promise<{ id: string; status: string }> {
    const boundary = `----omniaffect${Date.now().toString(16)}`;
    const size = statSync(file).size;
    const fields: [string, string][] = [];
    if (opts.language) fields.push(['language', opts.language]);
    if (opts.callbackUrl) fields.push(['callbackUrl', opts.callbackUrl]);
    if (opts.metadata) fields.push(['metadata', JSON.stringify(opts.metadata)]);
    if (opts.transcript) fields.push(['transcript', opts.transcript]);
    const head = fields.map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('');
    const fileHead = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${path.basename(file).replace(/"/g, '')}"\r\nContent-Type: ${guessType(file)}\r\n\r\n`;
    const tail = `\r\n--${boundary}--\r\n`;
    // Streams the file: uploads of any size never sit in memory.
    async function* body() {
      yield Buffer.from(head + fileHead);
      for await (const chunk of createReadStream(file)) yield chunk as Buffer;
      yield Buffer.from(tail);
    }
    const res = await fetch(`${this.baseUrl}/v1/videos`, {
      method: 'POST',
      headers: this.headers({
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(Buffer.byteLength(head + fileHead) + size + Buffer.byteLength(tail)),
        ...(opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {}),
      }),
      body: Readable.toWeb(Readable.from(body())) as unknown as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    return this.json(res);
  }

  async submitUrl(url: string, opts: { language?: string; callbackUrl?: string } = {}): Promise<{ id: string; status: string }> {
    const res = await fetch(`${this.baseUrl}/v1/videos`, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ url, ...opts }),
    });
    return this.json(res);
  }

  async status(id: string): Promise<VideoDocument> {
    return this.json(await fetch(`${this.baseUrl}/v1/videos/${id}`, { headers: this.headers() }));
  }

  /** The pushed encoder outputs, decoded to Float32Arrays. */
  async features(id: string): Promise<{ modality: string; kind: string; shape: number[]; data: Float32Array; items: unknown[]; model: string | null }[]> {
    const doc = await this.json<{ tensors: { modality: string; kind: string; shape: number[]; data: string; items: unknown[]; model: string | null }[] }>(
      await fetch(`${this.baseUrl}/v1/videos/${id}/features`, { headers: this.headers() }),
    );
    return doc.tensors.map((t) => {
      const buf = Buffer.from(t.data, 'base64');
      const aligned = new Uint8Array(buf.length);
      aligned.set(buf);
      return { ...t, data: new Float32Array(aligned.buffer) };
    });
  }

  async result<T = unknown>(id: string): Promise<T> {
    return this.json(await fetch(`${this.baseUrl}/v1/videos/${id}/result`, { headers: this.headers() }));
  }

  /** The secret that signs this API key's per-video callbackUrl deliveries. */
  async callbackSecret(): Promise<string> {
    return (await this.json<{ secret: string }>(await fetch(`${this.baseUrl}/v1/callback-secret`, { headers: this.headers() }))).secret;
  }

  async report(id: string): Promise<string> {
    const res = await fetch(`${this.baseUrl}/v1/videos/${id}/report`, { headers: this.headers() });
    if (!res.ok) throw new Error(`HTTP ${res.status} for report`);
    return res.text();
  }

  async waitForTerminal(id: string, timeoutMs = 600_000, onStatus?: (d: VideoDocument) => void): Promise<VideoDocument> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const doc = await this.status(id);
      onStatus?.(doc);
      if (doc.status === 'succeeded' || doc.status === 'failed' || doc.status === 'canceled') return doc;
      if (Date.now() > deadline) throw new Error(`video ${id} still ${doc.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

function guessType(file: string): string {
  const ext = path.extname(file).toLowerCase();
  const map: Record<string, string> = { '.mp4': 'video/mp4', '.mkv': 'video/x-matroska', '.webm': 'video/webm', '.mov': 'video/quicktime', '.avi': 'video/x-msvideo', '.wav': 'audio/wav', '.mp3': 'audio/mpeg', '.m4a': 'audio/mp4', '.flac': 'audio/flac', '.ogg': 'audio/ogg' };
  return map[ext] ?? 'application/octet-stream';
}
