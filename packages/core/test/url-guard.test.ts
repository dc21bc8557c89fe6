import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProblemError } from '../src/problems';
import { assertUrlShape, isPublicAddress, safeRequest } from '../src/url-guard';

test('isPublicAddress: public unicast v4 and v6 (also v4-mapped) are public', () => {
  for (const a of ['8.8.8.8', '1.1.1.1', '93.184.216.34', '2001:4860:4860::8888', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
    assert.equal(isPublicAddress(a), true, a);
  }
});

test('isPublicAddress: private, loopback, link-local, CGNAT, multicast and special ranges are not', () => {
  const notPublic = [
    '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', // RFC 1918
    '127.0.0.1', '127.8.9.10', // loopback
    '169.254.169.254', // link-local (cloud metadata)
    '100.64.0.1', '100.127.255.254', // CGNAT
    '224.0.0.1', '239.255.255.250', // multicast
    '0.0.0.0', '255.255.255.255', '192.0.2.1', '198.18.0.1', // unspecified, broadcast, reserved
    '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '2001:db8::1', // v6 specials
    '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::ffff:100.64.0.1', // v4-mapped
    '64:ff9b::7f00:1', // NAT64 of 127.0.0.1
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
    else if (u.pathname === '/hang') return; // never answers
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

test('safeRequest refuses a name that resolves to loopback (checked inside DNS lookup)', async () => {
  const before = hits.length;
  await assert.rejects(safeRequest(`http://localhost:${port}/ok`, { allowPrivate: false, timeoutMs: 2000 }), refusedWith(/localhost resolves to a non-public address/));
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
