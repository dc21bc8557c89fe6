import { PROBLEM_BASE } from '@omniaffect/core';

/** One HTTP exchange with the gateway, read in full (status, content type, body as text and JSON when it is JSON). */
export interface ApiReply {
  status: number;
  contentType: string;
  text: string;
  json: unknown;
  headers: Headers;
}

export async function api(
  baseUrl: string,
  key: string | null,
  method: string,
  route: string,
  opts: { json?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ApiReply> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (key) headers.authorization = `Bearer ${key}`;
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), opts.timeoutMs ?? 30_000);
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${baseUrl}${route}`, { method, headers, body, signal: ctl.signal });
    if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      // A stream that answers at all: its first chunk is enough to judge, and it may never end.
      const first = await res.body!.getReader().read();
      text = Buffer.from(first.value ?? new Uint8Array()).toString('utf8');
      ctl.abort();
    } else {
      text = await res.text();
    }
  } finally {
    clearTimeout(timer);
  }
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON (HTML report, event stream) */
  }
  return { status: res.status, contentType: (res.headers.get('content-type') ?? '').split(';')[0].trim(), text, json, headers: res.headers };
}

/** The slug of a problem+json reply (`https://omniaffect.dev/problems/<slug>` → `<slug>`), or a description of what came instead. */
export function problemSlug(r: Pick<ApiReply, 'status' | 'contentType' | 'json'>): string {
  const type = (r.json as { type?: unknown } | null)?.type;
  if (r.contentType !== 'application/problem+json' || typeof type !== 'string') return `(${r.status} ${r.contentType || 'no content type'}, not a problem)`;
  return type.startsWith(PROBLEM_BASE) ? type.slice(PROBLEM_BASE.length) : type;
}

/** The slug of a problem type URI as found in a video document's `error.type`. */
export function slugOf(type: string | undefined | null): string {
  if (!type) return '(none)';
  return type.startsWith(PROBLEM_BASE) ? type.slice(PROBLEM_BASE.length) : type;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A fixed-width text table for the test's stdout (the figures the closing note quotes). */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(cells[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}
