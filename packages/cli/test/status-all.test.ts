import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { formatStatusTable, stackStatus, statusAll } from '../src/status-all';
import { SERVICES, freePort, type StackPorts } from '../src/stack';

// Fake services on loopback: one ready, one answering not-ready (as ops-server and the gateway do),
// one answering something that is not ours, the rest on ports where nothing listens.
const servers: http.Server[] = [];
async function serve(status: number, body: string): Promise<number> {
  const srv = http.createServer((req, res) => {
    if (req.url === '/readyz') res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    else res.writeHead(404).end();
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return (srv.address() as AddressInfo).port;
}

let ports: StackPorts;
before(async () => {
  const ops = {} as StackPorts['ops'];
  for (const n of SERVICES) if (n !== 'gateway') ops[n] = await freePort();
  ops.orchestrator = await serve(200, '{"status":"ready"}');
  ops.asr = await serve(503, '{"status":"not-ready","models":{"ok":false},"redis":{"ok":true}}');
  ops.media = await serve(200, '<html>someone else</html>');
  ports = { gateway: await serve(503, '{"status":"not-ready","checks":{"orchestrator":"failing","artifacts":"ok"}}'), orchestratorGrpc: 1, fusionGrpc: 2, ops };
});
after(() => servers.forEach((s) => s.close()));

test('status without an id lists every service with its readiness and metrics URL', async () => {
  const rows = await stackStatus(ports, 1000);
  assert.deepEqual(
    rows.map((r) => r.service),
    [...SERVICES],
  );
  const by = Object.fromEntries(rows.map((r) => [r.service, r]));
  assert.equal(by.orchestrator.state, 'ready');
  assert.equal(by.orchestrator.metricsUrl, `http://127.0.0.1:${ports.ops.orchestrator}/metrics`);
  assert.equal(by.asr.state, 'not-ready');
  assert.deepEqual(by.asr.failing, ['models']);
  assert.equal(by.gateway.state, 'not-ready');
  assert.deepEqual(by.gateway.failing, ['checks.orchestrator']);
  assert.equal(by.gateway.metricsUrl, `http://127.0.0.1:${ports.gateway}/metrics`);
  assert.equal(by.media.state, 'down', 'a 200 that is not our readiness document is not ready');
  for (const s of ['fusion', 'audio-emotion', 'vision', 'text'] as const) {
    assert.equal(by[s].state, 'down', s);
    assert.equal(by[s].detail, 'ECONNREFUSED', s);
  }
  const table = formatStatusTable(rows).split('\n');
  assert.equal(table.length, SERVICES.length + 1);
  assert.match(table[0], /^SERVICE\s+READINESS\s+METRICS$/);
  assert.match(
    table.find((l) => l.startsWith('asr'))!,
    /not-ready \(HTTP 503, models\)\s+http:\/\/127\.0\.0\.1:\d+\/metrics$/,
  );
});

test("statusAll reads the running stack's ports from its stack.json and fails unless all are ready", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oa-status-'));
  writeFileSync(path.join(dir, 'stack.json'), JSON.stringify({ pids: {}, ports, gatewayUrl: '', apiKeyFile: '', logDir: '', startedAt: '' }));
  const before = process.env.OMNIAFFECT_STATE_DIR;
  const log = console.log;
  const printed: string[] = [];
  process.env.OMNIAFFECT_STATE_DIR = dir;
  console.log = (s: string) => printed.push(s);
  try {
    const rows = await statusAll({ json: true });
    assert.equal(rows.find((r) => r.service === 'orchestrator')?.state, 'ready');
    assert.deepEqual(JSON.parse(printed[0]), rows);
    assert.equal(process.exitCode, 1);
  } finally {
    console.log = log;
    process.exitCode = 0;
    if (before === undefined) delete process.env.OMNIAFFECT_STATE_DIR;
    else process.env.OMNIAFFECT_STATE_DIR = before;
  }
});
