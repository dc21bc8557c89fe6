import * as dns from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import ipaddr from 'ipaddr.js';
import type { LookupFunction } from 'node:net';
import { ProblemError } from './problems';

/**
 * Outbound requests to user-supplied URLs (`{url}` submissions, webhook targets) are an SSRF vector.
 * Rules: http(s) only, no credentials in the URL, and — unless the operator allows private ranges —
 * every address the name resolves to must be public unicast. The check runs inside the socket's DNS
 * lookup, so a name that re-resolves to 127.0.0.1 between check and connect (DNS rebinding) is caught.
 */
export function assertUrlShape(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ProblemError('url-not-allowed', 'not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProblemError('url-not-allowed', `scheme ${url.protocol} is not allowed; use http or https`);
  }
  if (url.username || url.password) throw new ProblemError('url-not-allowed', 'credentials in URLs are not allowed');
  return url;
}

export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return parsed.range() === 'unicast';
}

export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as dns.LookupAddress[];
      const bad = list.find((a) => !allowPrivate && !isPublicAddress(a.address));
      if (bad) {
        const e = new ProblemError('url-not-allowed', `${hostname} resolves to a non-public address (${bad.address})`);
        return callback(e as unknown as NodeJS.ErrnoException, '', 0);
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      callback(null, list[0].address, list[0].family);
    });
  };
}

/** Literal IP hosts skip DNS, so check them before connecting. */
function assertLiteralHostAllowed(url: URL, allowPrivate: boolean): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (ipaddr.isValid(host) && !allowPrivate && !isPublicAddress(host)) {
    throw new ProblemError('url-not-allowed', `${host} is not a public address`);
  }
}

export interface SafeRequestOptions {
  method?: 'GET' | 'POST' | 'HEAD';
  headers?: Record<string, string>;
  body?: string;
  allowPrivate: boolean;
  timeoutMs: number;
  maxRedirects?: number;
}

/** Resolves with the response (body unread) after following up to maxRedirects validated redirects. */
export async function safeRequest(raw: string, opts: SafeRequestOptions): Promise<http.IncomingMessage> {
  let url = assertUrlShape(raw);
  for (let hop = 0; ; hop++) {
    assertLiteralHostAllowed(url, opts.allowPrivate);
    const res = await requestOnce(url, opts);
    const location = res.headers.location;
    if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location && opts.method !== 'POST') {
      res.resume();
      if (hop >= (opts.maxRedirects ?? 3)) throw new ProblemError('url-fetch-failed', 'too many redirects');
      url = assertUrlShape(new URL(location, url).toString());
      continue;
    }
    return res;
  }
}

function requestOnce(url: URL, opts: SafeRequestOptions): Promise<http.IncomingMessage> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    // `timeout` is only an idle timer: a server trickling its headers a byte at a time would hold the
    // slot forever. This one bounds the whole wait for the response headers.
    const hard = setTimeout(() => req.destroy(new ProblemError('url-fetch-failed', `no response within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    const req = mod.request(
      url,
      {
        method: opts.method ?? 'GET',
        headers: { 'user-agent': 'OmniAffect/0.1', ...opts.headers },
        lookup: guardedLookup(opts.allowPrivate),
        timeout: opts.timeoutMs,
      },
      (res) => {
        clearTimeout(hard);
        resolve(res);
      },
    );
    req.on('close', () => clearTimeout(hard));
    req.on('timeout', () => req.destroy(new ProblemError('url-fetch-failed', `no response within ${opts.timeoutMs} ms`)));
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}
