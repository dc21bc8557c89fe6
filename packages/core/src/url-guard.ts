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

const v6 = (cidr: string) => ipaddr.parseCIDR(cidr) as [ipaddr.IPv6, number];

/** Inside 2000::/3 but not globally reachable unicast (IANA special-purpose registry). */
const V6_SPECIAL_IN_GLOBAL = [
  v6('2001::/23'), // IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID(v2), AMT...
  v6('2001:db8::/32'), // documentation
  v6('3fff::/20'), // documentation (RFC 9637)
  v6('2620:4f:8000::/48'), // AS112 (anycast sinks; nothing to fetch there)
];
const V6_GLOBAL = v6('2000::/3');
const V6_NAT64 = v6('64:ff9b::/96');
const V6_6TO4 = v6('2002::/16');

/** The IPv4 address an IPv6 address stands for, where it stands for one (and so is judged by it). */
function embeddedIPv4(a: ipaddr.IPv6): ipaddr.IPv4 | null {
  const p = a.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (the deprecated "compatible" form): the kernel or a
  // translator may deliver either to the IPv4 address, so ::127.0.0.1 is loopback, not "unicast".
  if (p.slice(0, 5).every((x) => x === 0) && (p[5] === 0xffff || p[5] === 0)) return v4(p[6]!, p[7]!);
  // ::ffff:0:a.b.c.d (SIIT, RFC 6145)
  if (p.slice(0, 4).every((x) => x === 0) && p[4] === 0xffff && p[5] === 0) return v4(p[6]!, p[7]!);
  if (a.match(V6_NAT64)) return v4(p[6]!, p[7]!); // NAT64: the gateway connects to the embedded address
  if (a.match(V6_6TO4)) return v4(p[1]!, p[2]!); // 6to4: relayed to the embedded address (RFC 3056)
  return null;
}

/**
 * Public means: IPv4 unicast outside every special range (private, loopback, link-local incl.
 * 169.254.169.254, CGNAT, multicast, broadcast, reserved, documentation, benchmarking...), or IPv6
 * global unicast 2000::/3 minus its special ranges. An IPv6 form that carries an IPv4 address
 * (mapped, compatible, SIIT, NAT64, 6to4) is judged by that address. Anything else, including every
 * IPv6 range that is not global unicast (::1, ::, fe80::/10, fc00::/7, ff00::/8, 100::/64), is not.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address) || address.includes('%')) return false; // a zone id is link-local by definition
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') {
    // ipaddr.isValid also accepts "127.1" and "0x7f.1"; those are the same addresses, judged the same.
    return parsed.range() === 'unicast';
  }
  const a = parsed as ipaddr.IPv6;
  const v4 = embeddedIPv4(a);
  if (v4) return v4.range() === 'unicast';
  if (!a.match(V6_GLOBAL)) return false;
  return !V6_SPECIAL_IN_GLOBAL.some((r) => a.match(r));
}

/**
 * Names that are loopback by definition (RFC 6761: localhost and *.localhost), with or without the
 * trailing dot: refused by name, because a resolver that does not know them would otherwise turn the
 * refusal into a DNS error instead of `url-not-allowed`.
 */
export function isLoopbackName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.+$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
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

/**
 * The checks that need no network: literal IP hosts (Node skips DNS for them, so guardedLookup never
 * sees them) and loopback names. WHATWG URL parsing has already turned 2130706433, 0177.0.0.1,
 * 0x7f.1, 127.1 and 0 into dotted quads, so every IPv4 spelling arrives here as one.
 */
export function assertHostAllowed(url: URL, allowPrivate: boolean): void {
  if (allowPrivate) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isLoopbackName(host)) throw new ProblemError('url-not-allowed', `${host} is a loopback name`);
  if (ipaddr.isValid(host) && !isPublicAddress(host)) {
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
  /**
   * Exact origins (`host:port` as in URL.host) exempt from the private-address rule, e.g. an
   * in-cluster object store. Each hop is judged on its own: a redirect from an allowed origin to
   * any other private address is still refused.
   */
  allowHosts?: readonly string[];
}

const privateAllowedFor = (url: URL, opts: SafeRequestOptions) => opts.allowPrivate || (opts.allowHosts ?? []).includes(url.host);

/** Resolves with the response (body unread) after following up to maxRedirects validated redirects. */
export async function safeRequest(raw: string, opts: SafeRequestOptions): Promise<http.IncomingMessage> {
  let url = assertUrlShape(raw);
  for (let hop = 0; ; hop++) {
    assertHostAllowed(url, privateAllowedFor(url, opts));
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
        lookup: guardedLookup(privateAllowedFor(url, opts)),
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

/**
 * A URL as it may appear in logs and error details: scheme, host and path only. Query strings and
 * fragments of pre-signed URLs carry credentials (X-Amz-Signature, sig=, token=), and userinfo is a
 * password; none of it may reach a log line. Anything that does not parse becomes a placeholder
 * rather than being echoed.
 */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    const query = u.search ? '?…' : '';
    return `${u.protocol}//${u.host}${u.pathname}${query}`;
  } catch {
    return '<unparseable url>';
  }
}
