import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConfigError, grpcSecurityIssues } from '../src/config';
import {
  FUSION_SERVICE,
  ORCHESTRATOR_SERVICE,
  checkHealth,
  grpc,
  grpcClient,
  grpcSecurityFromEnv,
  startGrpcServer,
  unary,
  type GrpcSecurity,
  type GrpcServerHandle,
} from '../src/grpc';

const TOKEN = 'a'.repeat(20) + 'service-token-for-tests-0123456789';
const plain = (token: string | null): GrpcSecurity => ({ token, tls: null });

/** A real Orchestrator + Fusion server; counts how often a handler actually ran. */
async function server(security: GrpcSecurity): Promise<GrpcServerHandle & { calls: () => number; owners: string[] }> {
  let calls = 0;
  const owners: string[] = [];
  const h = await startGrpcServer(
    '127.0.0.1:0',
    [
      {
        name: ORCHESTRATOR_SERVICE,
        impl: {
          GetCallbackSecret: (call: grpc.ServerUnaryCall<{ owner: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
            calls++;
            owners.push(call.request.owner);
            // The token must not reach handlers (they log metadata in places).
            assert.equal(call.metadata.get('authorization').length, 0);
            cb(null, { json: '{"secret":"whsec_x"}' });
          },
        },
      },
      {
        name: FUSION_SERVICE,
        impl: {
          PushEmbeddings: (call: grpc.ServerReadableStream<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
            calls++;
            call.on('data', () => undefined);
            call.on('end', () => cb(null, { chunks: 0 }));
          },
        },
      },
    ],
    { security },
  );
  h.setServing(true);
  return Object.assign(h, { calls: () => calls, owners });
}

const unauthenticated = (err: unknown) => (err as grpc.ServiceError).code === grpc.status.UNAUTHENTICATED;
const secretCall = (client: grpc.Client) =>
  unary<{ owner: string }, { json: string }>(client, 'GetCallbackSecret', { owner: 'tenant-a' }, { deadlineMs: 3000, idempotent: false });

test('token: no token and a wrong token are UNAUTHENTICATED before the handler runs; the right one passes', async (t) => {
  const s = await server(plain(TOKEN));
  t.after(() => s.close());
  const addr = `127.0.0.1:${s.port}`;
  for (const [label, token] of [
    ['no token', null],
    ['wrong token', 'b'.repeat(54)],
    ['a prefix of the token', TOKEN.slice(0, 20)],
    ['the token plus a byte', `${TOKEN}x`],
  ] as const) {
    const client = grpcClient(ORCHESTRATOR_SERVICE, addr, { security: plain(token) });
    await assert.rejects(secretCall(client), unauthenticated, label);
    client.close();
  }
  assert.equal(s.calls(), 0, 'no handler ran for a refused call');

  const good = grpcClient(ORCHESTRATOR_SERVICE, addr, { security: plain(TOKEN) });
  t.after(() => good.close());
  assert.equal((await secretCall(good)).json, '{"secret":"whsec_x"}');
  assert.equal(s.calls(), 1);
});

test('token: a client-streaming call without the token is refused too', async (t) => {
  const s = await server(plain(TOKEN));
  t.after(() => s.close());
  const push = (token: string | null) =>
    new Promise<void>((resolve, reject) => {
      const client = grpcClient(FUSION_SERVICE, `127.0.0.1:${s.port}`, { security: plain(token) });
      const fn = (client as unknown as Record<string, Function>).PushEmbeddings!;
      const stream = fn.call(client, { deadline: Date.now() + 3000 }, (err: grpc.ServiceError | null) => {
        client.close();
        if (err) reject(err);
        else resolve();
      }) as grpc.ClientWritableStream<unknown>;
      stream.end();
    });
  await assert.rejects(push(null), unauthenticated);
  assert.equal(s.calls(), 0);
  await push(TOKEN);
  assert.equal(s.calls(), 1);
});

test('token: grpc.health.v1.Health answers without a token (probes carry none)', async (t) => {
  const s = await server(plain(TOKEN));
  t.after(() => s.close());
  assert.equal(await checkHealth(`127.0.0.1:${s.port}`, ORCHESTRATOR_SERVICE, 2000, plain(null)), 'SERVING');
});

test('explicit insecure mode: no token sent, none checked', async (t) => {
  const s = await server(plain(null));
  t.after(() => s.close());
  const client = grpcClient(ORCHESTRATOR_SERVICE, `127.0.0.1:${s.port}`, { security: plain(null) });
  t.after(() => client.close());
  assert.ok(await secretCall(client));
});

test('from the environment: token, insecure opt-in, and the per-process token when neither is set', async (t) => {
  assert.deepEqual(grpcSecurityFromEnv({ OMNIAFFECT_SERVICE_TOKEN: TOKEN }), plain(TOKEN));
  assert.deepEqual(grpcSecurityFromEnv({ OMNIAFFECT_INSECURE_GRPC: 'true' }), plain(null));
  const fallback = grpcSecurityFromEnv({});
  assert.ok(fallback.token && fallback.token.length >= 32, 'unconfigured code still authenticates');
  assert.equal(grpcSecurityFromEnv({}).token, fallback.token, 'one token per process');
  // Same process: works. Anyone else (another token, no token): refused. Fails closed, not open.
  const s = await server(fallback);
  t.after(() => s.close());
  const own = grpcClient(ORCHESTRATOR_SERVICE, `127.0.0.1:${s.port}`, { security: grpcSecurityFromEnv({}) });
  t.after(() => own.close());
  assert.ok(await secretCall(own));
  const stranger = grpcClient(ORCHESTRATOR_SERVICE, `127.0.0.1:${s.port}`, { security: plain(TOKEN) });
  t.after(() => stranger.close());
  await assert.rejects(secretCall(stranger), unauthenticated);
});

test('config: no token and no opt-in is an issue naming OMNIAFFECT_SERVICE_TOKEN; partial TLS names what is missing', () => {
  assert.match(grpcSecurityIssues({}).join('\n'), /OMNIAFFECT_SERVICE_TOKEN: not set.*OMNIAFFECT_INSECURE_GRPC=true/);
  assert.deepEqual(grpcSecurityIssues({ OMNIAFFECT_SERVICE_TOKEN: TOKEN }), []);
  assert.deepEqual(grpcSecurityIssues({ OMNIAFFECT_INSECURE_GRPC: 'true' }), []);
  const partial = grpcSecurityIssues({ OMNIAFFECT_SERVICE_TOKEN: TOKEN, GRPC_TLS_CERT: '/x.pem' });
  assert.equal(partial.length, 1);
  assert.match(partial[0]!, /^GRPC_TLS_KEY, GRPC_TLS_CA: not set/);
  assert.throws(
    () => grpcSecurityFromEnv({ GRPC_TLS_CA: '/ca.pem' }),
    (e: unknown) => e instanceof ConfigError && /GRPC_TLS_CERT, GRPC_TLS_KEY/.test(e.message),
  );
  assert.throws(
    () => grpcSecurityFromEnv({ GRPC_TLS_CERT: '/nope/c.pem', GRPC_TLS_KEY: '/nope/k.pem', GRPC_TLS_CA: '/nope/ca.pem' }),
    (e: unknown) => e instanceof ConfigError && /GRPC_TLS_CERT: cannot read \/nope\/c\.pem \(ENOENT\)/.test(e.message),
  );
});

test('a service loading its own environment refuses to start without a token or the opt-in', () => {
  const core = path.join(__dirname, '..', 'src', 'index.js');
  const script = `const c = require(${JSON.stringify(core)}); try { c.loadConfig('svc', c.baseEnv); console.log('started'); } catch (e) { console.error(e.message); process.exit(78); }`;
  const env = { ...process.env };
  delete env.OMNIAFFECT_SERVICE_TOKEN;
  delete env.OMNIAFFECT_INSECURE_GRPC;
  const refused = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
  assert.equal(refused.status, 78, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /OMNIAFFECT_SERVICE_TOKEN: not set/);
  const short = spawnSync(process.execPath, ['-e', script], { env: { ...env, OMNIAFFECT_SERVICE_TOKEN: 'short-secret' }, encoding: 'utf8' });
  assert.equal(short.status, 78);
  assert.match(short.stderr, /OMNIAFFECT_SERVICE_TOKEN: expected at least 32 characters/);
  assert.ok(!short.stderr.includes('short-secret'), 'the value is never echoed');
  for (const extra of [{ OMNIAFFECT_SERVICE_TOKEN: TOKEN }, { OMNIAFFECT_INSECURE_GRPC: 'true' }]) {
    const ok = spawnSync(process.execPath, ['-e', script], { env: { ...env, ...extra }, encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /started/);
  }
});

// --- mTLS with certificates made by openssl -------------------------------------------------------

let dir: string;
const pem = (name: string) => readFileSync(path.join(dir, name));
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

function makeCa(name: string): void {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`);
}
function makeLeaf(name: string, ca: string, san: string): void {
  writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  );
}
const tls = (leaf: string, ca: string, serverName?: string): GrpcSecurity['tls'] => ({
  cert: pem(`${leaf}.pem`),
  key: pem(`${leaf}.key`),
  ca: pem(`${ca}.pem`),
  serverName,
});

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'oa-mtls-'));
  makeCa('ca');
  makeCa('rogue-ca');
  makeLeaf('server', 'ca', 'DNS:orchestrator,IP:127.0.0.1');
  makeLeaf('client', 'ca', 'DNS:gateway');
  makeLeaf('rogue-client', 'rogue-ca', 'DNS:gateway');
  makeLeaf('rogue-server', 'rogue-ca', 'DNS:orchestrator,IP:127.0.0.1');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('mTLS: a client with a certificate from our CA and the token gets through', async (t) => {
  const s = await server({ token: TOKEN, tls: tls('server', 'ca') });
  t.after(() => s.close());
  const client = grpcClient(ORCHESTRATOR_SERVICE, `127.0.0.1:${s.port}`, { security: { token: TOKEN, tls: tls('client', 'ca') } });
  t.after(() => client.close());
  assert.ok(await secretCall(client));
  // The same files through the environment, with the DNS name the certificate carries.
  const env = {
    OMNIAFFECT_SERVICE_TOKEN: TOKEN,
    GRPC_TLS_CERT: path.join(dir, 'client.pem'),
    GRPC_TLS_KEY: path.join(dir, 'client.key'),
    GRPC_TLS_CA: path.join(dir, 'ca.pem'),
    GRPC_TLS_SERVER_NAME: 'orchestrator',
  };
  const viaEnv = grpcClient(ORCHESTRATOR_SERVICE, `127.0.0.1:${s.port}`, { security: grpcSecurityFromEnv(env) });
  t.after(() => viaEnv.close());
  assert.ok(await secretCall(viaEnv));
  assert.equal(s.calls(), 2);
});

test('mTLS: wrong CA, no client certificate, plaintext, or a server from another CA are all refused', async (t) => {
  const s = await server({ token: TOKEN, tls: tls('server', 'ca') });
  t.after(() => s.close());
  const addr = `127.0.0.1:${s.port}`;
  const attempt = async (label: string, security: GrpcSecurity) => {
    const client = grpcClient(ORCHESTRATOR_SERVICE, addr, { security });
    await assert.rejects(
      secretCall(client),
      (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.UNAUTHENTICATED,
      label,
    );
    client.close();
  };
  await attempt('client certificate from another CA', { token: TOKEN, tls: tls('rogue-client', 'ca') });
  await attempt('plaintext client', plain(TOKEN));
  // No client certificate at all: a channel that only trusts the CA.
  const bare = new (grpc.makeGenericClientConstructor({}, 'x'))(addr, grpc.credentials.createSsl(pem('ca.pem')));
  await new Promise<void>((resolve) => {
    bare.makeUnaryRequest(
      `/${ORCHESTRATOR_SERVICE}/GetCallbackSecret`,
      (x: Buffer) => x,
      (x: Buffer) => x,
      Buffer.alloc(0),
      { deadline: Date.now() + 3000 },
      (err) => {
        assert.ok(err && (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.UNAUTHENTICATED), 'no client certificate');
        resolve();
      },
    );
  });
  bare.close();
  // A client that trusts only our CA must refuse an impostor server signed by another one.
  const impostor = await server({ token: TOKEN, tls: tls('rogue-server', 'rogue-ca') });
  t.after(() => impostor.close());
  const client = grpcClient(ORCHESTRATOR_SERVICE, `127.0.0.1:${impostor.port}`, { security: { token: TOKEN, tls: tls('client', 'ca') } });
  await assert.rejects(secretCall(client), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE, 'impostor server');
  client.close();
  assert.equal(s.calls() + impostor.calls(), 0);
});

test('mTLS still checks the token', async (t) => {
  const s = await server({ token: TOKEN, tls: tls('server', 'ca') });
  t.after(() => s.close());
  const client = grpcClient(ORCHESTRATOR_SERVICE, `127.0.0.1:${s.port}`, { security: { token: 'c'.repeat(40), tls: tls('client', 'ca') } });
  t.after(() => client.close());
  await assert.rejects(secretCall(client), unauthenticated);
});
