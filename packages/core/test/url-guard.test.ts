import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProblemError } from '../src/problems';
import * as dns from 'node:dns';
import * as os from 'node:os';
import { assertHostAllowed, assertUrlShape, guardedLookup, isLoopbackName, isPublicAddress, safeRequest } from '../src/url-guard';

test('isPublicAddress: public unicast v4 and v6 (also v4-mapped) are public', () => {
  for (const a of [
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '2001:4860:4860::8888',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808', // NAT64 of 8.8.8.8
    '2002:808:808::1', // 6to4 of 8.8.8.8: judged by the embedded address
    '2a00:1450:4001:80e::200e',
    '2c0f:fb50::1',
  ]) {
    assert.equal(isPublicAddress(a), true, a);
  }
});

test('isPublicAddress: private, loopback, link-local, CGNAT, multicast and special ranges are not', () => {
  const notPublic = [
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1', // RFC 1918
    '127.0.0.1',
    '127.8.9.10', // loopback
    '169.254.169.254', // link-local (cloud metadata)
    '100.64.0.1',
    '100.127.255.254', // CGNAT
    '224.0.0.1',
    '239.255.255.250', // multicast
    '0.0.0.0',
    '255.255.255.255',
    '192.0.2.1',
    '198.18.0.1', // unspecified, broadcast, reserved
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '2001:db8::1', // v6 specials
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '::ffff:100.64.0.1', // v4-mapped
    '64:ff9b::7f00:1', // NAT64 of 127.0.0.1
    '::127.0.0.1',
    '::7f00:1',
    '::10.0.0.1',
    '::169.254.169.254',
    '::0.0.0.1', // IPv4-compatible (the audit's bypass)
    '::ffff:0:7f00:1', // SIIT of 127.0.0.1
    '2002:7f00:1::1',
    '2002:a9fe:a9fe::1',
    '2002:0a00:0001::', // 6to4 of loopback, metadata, RFC 1918
    '64:ff9b:1::1', // local-use NAT64 (outside 2000::/3)
    '2001::1',
    '2001:0:4136:e378:8000:63bf:3fff:fdd2', // Teredo
    '2001:10::1',
    '2001:20::1', // ORCHID, ORCHIDv2
    '2001:2::1', // benchmarking
    '3fff::1', // documentation (RFC 9637)
    '100::1', // discard
    'fe80::1%eth0',
    'fd00:ec2::254', // zone id; AWS metadata over IPv6
    '4000::1',
    'e000::1', // outside 2000::/3
  ];
  for (const a of notPublic) assert.equal(isPublicAddress(a), false, a);
});

test('isPublicAddress: non-addresses are not public', () => {
  for (const a of ['localhost', 'example.com', '', '999.1.1.1', '[::1]']) assert.equal(isPublicAddress(a), false, a);
});

const refusedWith = (pattern: RegExp) => (err: unknown) => err instanceof ProblemError && err.slug === 'url-not-allowed' && pattern.test(err.detail);

test('assertUrlShape accepts http(s) and refuses other schemes, credentials and garbage', () => {
  assert.equal(assertUrlShape('https://example.com/a?b=1').hostname, 'example.com');
  assert.equal(assertUrlShape('http://[2001:db8::1]:8080/').port, '8080');
  assert.throws(() => assertUrlShape('file:///etc/passwd'), refusedWith(/scheme file: is not allowed/));
  assert.throws(() => assertUrlShape('gopher://example.com/'), refusedWith(/scheme gopher:/));
  assert.throws(() => assertUrlShape('ftp://example.com/x'), refusedWith(/scheme ftp:/));
  assert.throws(() => assertUrlShape('https://user:pw@example.com/'), refusedWith(/credentials/));
  assert.throws(() => assertUrlShape('https://user@example.com/'), refusedWith(/credentials/));
  assert.throws(() => assertUrlShape('not a url'), refusedWith(/not a valid absolute URL/));
  assert.throws(() => assertUrlShape('/relative/path'), refusedWith(/not a valid absolute URL/));
});

let server: http.Server;
let base: string;
let port: number;
const hits: string[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/ok') res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
    else if (u.pathname === '/redirect') res.writeHead(302, { location: u.searchParams.get('to') ?? '/ok' }).end();
    else if (u.pathname === '/loop') res.writeHead(302, { location: '/loop' }).end();
    else if (u.pathname === '/hang')
      return; // never answers
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const readBody = async (res: http.IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

test('safeRequest refuses a loopback literal without allowPrivate, before connecting', async () => {
  const before = hits.length;
  await assert.rejects(safeRequest(`${base}/ok`, { allowPrivate: false, timeoutMs: 2000 }), refusedWith(/127\.0\.0\.1 is not a public address/));
  await assert.rejects(safeRequest(`http://[::1]:${port}/ok`, { allowPrivate: false, timeoutMs: 2000 }), refusedWith(/::1 is not a public address/));
  assert.equal(hits.length, before, 'the server must not have been contacted');
});

test('safeRequest refuses localhost by name (the DNS-level check: see the SSRF corpus below)', async () => {
  const before = hits.length;
  await assert.rejects(safeRequest(`http://localhost:${port}/ok`, { allowPrivate: false, timeoutMs: 2000 }), refusedWith(/localhost is a loopback name/));
  assert.equal(hits.length, before);
});

test('safeRequest works against a private target when allowPrivate is set (literal and name)', async () => {
  const res = await safeRequest(`${base}/ok`, { allowPrivate: true, timeoutMs: 2000 });
  assert.equal(res.statusCode, 200);
  assert.equal(await readBody(res), 'hello');
  const viaName = await safeRequest(`http://localhost:${port}/ok`, { allowPrivate: true, timeoutMs: 2000 });
  // localhost may resolve to ::1 first where the server only listens on v4; any answer means the lookup was allowed.
  assert.equal(viaName.statusCode, 200);
  viaName.resume();
});

test('safeRequest follows a redirect to an allowed target', async () => {
  const res = await safeRequest(`${base}/redirect?to=${encodeURIComponent('/ok')}`, { allowPrivate: true, timeoutMs: 2000 });
  assert.equal(res.statusCode, 200);
  assert.equal(await readBody(res), 'hello');
});

test('safeRequest refuses redirects to disallowed targets', async () => {
  const to = (loc: string) => `${base}/redirect?to=${encodeURIComponent(loc)}`;
  await assert.rejects(safeRequest(to('file:///etc/passwd'), { allowPrivate: true, timeoutMs: 2000 }), refusedWith(/scheme file:/));
  await assert.rejects(safeRequest(to(`http://user:pw@127.0.0.1:${port}/ok`), { allowPrivate: true, timeoutMs: 2000 }), refusedWith(/credentials/));
});

test('safeRequest stops after maxRedirects and does not follow redirects of a POST', async () => {
  await assert.rejects(
    safeRequest(`${base}/loop`, { allowPrivate: true, timeoutMs: 2000, maxRedirects: 2 }),
    (err: unknown) => err instanceof ProblemError && err.slug === 'url-fetch-failed' && /too many redirects/.test(err.detail),
  );
  const before = hits.filter((h) => h === '/loop').length;
  await assert.rejects(safeRequest(`${base}/loop`, { allowPrivate: true, timeoutMs: 2000, maxRedirects: 0 }), /too many redirects/);
  assert.equal(hits.filter((h) => h === '/loop').length, before + 1);
  const post = await safeRequest(`${base}/redirect`, { method: 'POST', body: '{}', allowPrivate: true, timeoutMs: 2000 });
  assert.equal(post.statusCode, 302);
  post.resume();
});

test('safeRequest times out against a server that never answers', async () => {
  await assert.rejects(
    safeRequest(`${base}/hang`, { allowPrivate: true, timeoutMs: 200 }),
    (err: unknown) => err instanceof ProblemError && err.slug === 'url-fetch-failed' && /no response within 200 ms/.test(err.detail),
  );
});

test('safeRequest bounds the whole wait for headers, not just idle time (a trickling server)', async () => {
  const { createServer } = await import('node:net');
  const srv = createServer((sock) => {
    sock.write('HTTP/1.1 200 OK\r\n');
    // one header byte every 50 ms: never idle for long, never finished
    const t = setInterval(() => sock.write('X'), 50);
    sock.on('close', () => clearInterval(t));
    sock.on('error', () => clearInterval(t));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as import('node:net').AddressInfo).port;
  const t0 = Date.now();
  await assert.rejects(safeRequest(`http://127.0.0.1:${port}/`, { allowPrivate: true, timeoutMs: 400 }), /no response within 400 ms/);
  assert.ok(Date.now() - t0 < 5000);
  srv.close();
});

// --- the SSRF corpus: every spelling below must be refused with url-not-allowed, through the real
// guard, without the target ever being contacted.

const refused = (err: unknown) => err instanceof ProblemError && err.slug === 'url-not-allowed';

test('SSRF corpus: loopback, metadata, private and special spellings are refused before any connection', async () => {
  const P = port;
  const corpus = [
    // IPv4 literal spellings of 127.0.0.1 (WHATWG URL normalises them; the guard sees a dotted quad)
    `http://127.0.0.1:${P}/ok`,
    `http://2130706433:${P}/ok`,
    `http://0177.0.0.1:${P}/ok`,
    `http://0x7f.1:${P}/ok`,
    `http://0x7f000001:${P}/ok`,
    `http://017700000001:${P}/ok`,
    `http://127.1:${P}/ok`,
    `http://127.0.1:${P}/ok`,
    `http://127.0.0.1.:${P}/ok`,
    `http://127.0.0.1%2e:${P}/ok`,
    `http://\u2460\u2461\u2466.0.0.1:${P}/ok`,
    `http://127.255.255.254:${P}/ok`,
    // unspecified
    `http://0:${P}/ok`,
    `http://0.0.0.0:${P}/ok`,
    `http://[::]:${P}/ok`,
    // IPv6 forms
    `http://[::1]:${P}/ok`,
    `http://[0:0:0:0:0:0:0:1]:${P}/ok`,
    `http://[::ffff:127.0.0.1]:${P}/ok`,
    `http://[::ffff:7f00:1]:${P}/ok`,
    `http://[::127.0.0.1]:${P}/ok`,
    `http://[::7f00:1]:${P}/ok`,
    `http://[0000::0001]:${P}/ok`,
    `http://[fe80::1%25eth0]:${P}/ok`,
    `http://[fe80::1]:${P}/ok`,
    `http://[fc00::1]:${P}/ok`,
    `http://[fd12:3456::1]:${P}/ok`,
    `http://[ff02::1]:${P}/ok`,
    `http://[64:ff9b::7f00:1]:${P}/ok`,
    `http://[2002:7f00:1::1]:${P}/ok`,
    `http://[2001::1]:${P}/ok`,
    `http://[2001:db8::1]:${P}/ok`,
    `http://[2001:10::1]:${P}/ok`,
    // loopback names, any case, trailing dot, subdomains
    `http://localhost:${P}/ok`,
    `http://localhost.:${P}/ok`,
    `http://LOCALHOST:${P}/ok`,
    `http://api.localhost:${P}/ok`,
    `http://a.b.localhost.:${P}/ok`,
    // userinfo
    `http://evil@127.0.0.1:${P}/ok`,
    `http://user:pass@example.com/`,
    `http://example.com@127.0.0.1:${P}/ok`,
    // cloud metadata in several spellings
    'http://169.254.169.254/latest/meta-data/',
    'http://2852039166/latest/meta-data/',
    'http://0xa9fea9fe/',
    'http://0251.0376.0251.0376/',
    'http://169.254.43518/',
    'http://[::ffff:169.254.169.254]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://[fd00:ec2::254]/',
    'http://[2002:a9fe:a9fe::]/',
    // private, CGNAT, multicast, broadcast, reserved
    'http://10.0.0.1/',
    'http://172.16.0.1/',
    'http://192.168.0.1/',
    'http://100.64.0.1/',
    'http://100.127.255.254/',
    'http://224.0.0.1/',
    'http://239.255.255.250/',
    'http://255.255.255.255/',
    'http://240.0.0.1/',
    'http://192.0.2.1/',
    'http://198.18.0.1/',
  ];
  assert.ok(corpus.length >= 40, `${corpus.length} spellings`);
  const before = hits.length;
  const outcomes: string[] = [];
  for (const u of corpus) {
    const err = await safeRequest(u, { allowPrivate: false, timeoutMs: 1000 }).then(
      (res) => (res.resume(), new Error(`answered ${res.statusCode}`)),
      (e: unknown) => e,
    );
    if (!refused(err)) outcomes.push(`${u}: ${(err as Error).message}`);
  }
  assert.deepEqual(outcomes, [], 'every spelling must be url-not-allowed');
  assert.equal(hits.length, before, 'the server was never contacted');
});

test('SSRF corpus: a name that resolves to loopback is refused inside the DNS lookup', async () => {
  // Not refused by name (isLoopbackName only knows localhost): the machine's own hostname resolves
  // to 127.0.0.1 or a private interface address on any test machine, so the lookup check decides.
  const me = os.hostname();
  const resolved = await dns.promises.lookup(me, { all: true }).catch(() => []);
  assert.ok(resolved.length > 0, `${me} should resolve on this machine`);
  assert.equal(isLoopbackName(me), false);
  const before = hits.length;
  await assert.rejects(safeRequest(`http://${me}:${port}/ok`, { allowPrivate: false, timeoutMs: 2000 }), refusedWith(/resolves to a non-public address/));
  assert.equal(hits.length, before);
  // The lookup function itself, on localhost (what a rebinding name would turn into).
  const err = await new Promise<unknown>((resolve) => guardedLookup(false)('localhost', { all: true }, (e) => resolve(e)));
  assert.ok(refused(err), String(err));
});

test('SSRF corpus: redirects from an allowed origin to private targets are refused at the hop', async () => {
  // The test server lives on 127.0.0.1, so its exact origin is allowed (allowHosts); each hop is
  // judged on its own, so where the redirect points is still checked with allowPrivate false.
  const other = http.createServer((_req, res) => res.writeHead(200).end('private'));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  const otherPort = (other.address() as AddressInfo).port;
  let otherHits = 0;
  other.on('request', () => otherHits++);
  try {
    const allowed = { allowPrivate: false, allowHosts: [`127.0.0.1:${port}`], timeoutMs: 1000 };
    const ok = await safeRequest(`${base}/redirect?to=${encodeURIComponent('/ok')}`, allowed);
    assert.equal(ok.statusCode, 200, 'the allowed origin itself works, redirects within it too');
    ok.resume();
    const targets = [
      `http://127.0.0.1:${otherPort}/`,
      `http://2130706433:${otherPort}/`,
      `http://[::ffff:127.0.0.1]:${otherPort}/`,
      `http://[::127.0.0.1]:${otherPort}/`,
      `http://localhost:${otherPort}/`,
      `//127.0.0.1:${otherPort}/`,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/',
      `http://u:p@127.0.0.1:${otherPort}/`,
    ];
    for (const t of targets) {
      await assert.rejects(safeRequest(`${base}/redirect?to=${encodeURIComponent(t)}`, allowed), refused, t);
    }
    assert.equal(otherHits, 0, 'no redirect reached the private server');
    // Two hops: allowed → allowed → private.
    const twoHops = `${base}/redirect?to=${encodeURIComponent(`/redirect?to=${encodeURIComponent(`http://127.0.0.1:${otherPort}/`)}`)}`;
    await assert.rejects(safeRequest(twoHops, allowed), refused);
    assert.equal(otherHits, 0);
  } finally {
    other.closeAllConnections();
    await new Promise<void>((r) => other.close(() => r()));
  }
});

test('public spellings pass the shape and literal checks', () => {
  for (const u of [
    'http://8.8.8.8/',
    'http://134744072/',
    'http://0x08080808/',
    'http://010.010.010.010/',
    'https://example.com:8443/path?q=1',
    'http://[2606:4700:4700::1111]/',
    'http://[::ffff:8.8.8.8]/',
    'http://[64:ff9b::808:808]/',
    'https://media.example.org./clip.mp4',
  ]) {
    const url = assertUrlShape(u);
    assert.doesNotThrow(() => assertHostAllowed(url, false), u);
  }
  // The same private literals are fine when the operator allows private ranges.
  assert.doesNotThrow(() => assertHostAllowed(new URL('http://[::127.0.0.1]/'), true));
});
