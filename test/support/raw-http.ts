import * as net from 'node:net';

/**
 * Hand-written HTTP/1.1 requests over node:net, for bodies no well-behaved client would send
 * (broken multipart, a body cut short, a client that vanishes mid-upload). Loopback only.
 */
export interface RawReply {
  /** null when the server closed the connection without answering */
  status: number | null;
  headers: Record<string, string>;
  body: string;
  json: unknown;
  contentType: string;
}

function parse(raw: Buffer): RawReply {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { status: null, headers: {}, body: '', json: null, contentType: '' };
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = raw.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts: Buffer[] = [];
    let rest = body;
    for (;;) {
      const nl = rest.indexOf('\r\n');
      if (nl < 0) break;
      const size = parseInt(rest.subarray(0, nl).toString('latin1'), 16);
      if (!Number.isFinite(size) || size === 0) break;
      parts.push(rest.subarray(nl + 2, nl + 2 + size));
      rest = rest.subarray(nl + 2 + size + 2);
    }
    body = Buffer.concat(parts);
  }
  const bodyText = body.toString('utf8');
  let json: unknown = null;
  try {
    json = JSON.parse(bodyText);
  } catch {
    /* not JSON */
  }
  return { status: Number.isFinite(status) ? status : null, headers, body: bodyText, json, contentType: (headers['content-type'] ?? '').split(';')[0].trim() };
}

/**
 * Sends `head` (request line and headers, without the blank line) and `body`, then reads until the
 * server closes or `timeoutMs` passes. With `abortAfter` the client sends only that many body bytes and
 * then destroys the socket (a client that vanishes mid-upload): the reply is then whatever had arrived.
 * With `halfClose` the client ends its side after the body (a body shorter than its Content-Length).
 */
export function rawRequest(
  port: number,
  head: string,
  body: Buffer,
  opts: { abortAfter?: number; halfClose?: boolean; timeoutMs?: number } = {},
): Promise<RawReply> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(parse(Buffer.concat(chunks)));
    };
    const timer = setTimeout(finish, opts.timeoutMs ?? 15_000);
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      // a complete answer with Content-Length: no need to wait for the close
      const r = Buffer.concat(chunks);
      const t = r.toString('latin1');
      const end = t.indexOf('\r\n\r\n');
      const len = /\r\ncontent-length:\s*(\d+)/i.exec(t.slice(0, end + 2))?.[1];
      if (end >= 0 && len !== undefined && r.length >= Buffer.byteLength(t.slice(0, end + 4), 'latin1') + Number(len)) finish();
    });
    sock.on('error', finish);
    sock.on('close', finish);
    sock.on('connect', () => {
      sock.write(`${head}\r\n\r\n`);
      if (opts.abortAfter !== undefined) {
        sock.write(body.subarray(0, opts.abortAfter), () => {
          // let the bytes reach the server before the client disappears
          setTimeout(() => {
            sock.destroy();
            finish();
          }, 200);
        });
        return;
      }
      sock.write(body);
      if (opts.halfClose) sock.end();
    });
  });
}

/** A multipart/form-data body from parts, with CRLFs where RFC 7578 wants them. */
export function multipartBody(
  boundary: string,
  parts: { name: string; filename?: string; contentType?: string; data: Buffer | string }[],
  close = true,
): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    const disp = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    out.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disp}\r\n${p.contentType ? `Content-Type: ${p.contentType}\r\n` : ''}\r\n`));
    out.push(Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data));
    out.push(Buffer.from('\r\n'));
  }
  if (close) out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

export function uploadHead(port: number, key: string, contentType: string, contentLength: number, extra: string[] = []): string {
  return [
    'POST /v1/videos HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    `Authorization: Bearer ${key}`,
    `Content-Type: ${contentType}`,
    `Content-Length: ${contentLength}`,
    'Connection: close',
    ...extra,
  ].join('\r\n');
}
