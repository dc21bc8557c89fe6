import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_PORTS, claimPort, waitReady, type StackPorts } from '../src/stack';

test('a port is claimed once across the processes that start local stacks; a dead holder’s claim is taken over', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oa-claims-'));
  assert.equal(claimPort(20001, dir), true);
  assert.equal(readFileSync(path.join(dir, '20001'), 'utf8'), String(process.pid));
  assert.equal(claimPort(20001, dir), false, 'handed out once by this process');
  // held by a live process (this test's parent)
  writeFileSync(path.join(dir, '20002'), String(process.ppid));
  assert.equal(claimPort(20002, dir), false);
  // held by a process that has exited
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(path.join(dir, '20003'), gone.stdout);
  assert.equal(claimPort(20003, dir), true);
  assert.equal(readFileSync(path.join(dir, '20003'), 'utf8'), String(process.pid));
});

async function readyServer(pid: number): Promise<{ ports: StackPorts; close(): void }> {
  const srv = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ready', pid })));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return { ports: { ...DEFAULT_PORTS, ops: { ...DEFAULT_PORTS.ops, text: port } }, close: () => srv.close() };
}

test('readiness counts only when our own child answers: another process on the port is an error at once', async () => {
  const other = await readyServer(4242);
  try {
    await assert.rejects(
      waitReady('text', other.ports, 5000, () => true, 999),
      /answered by another process \(pid 4242\), not by ours \(pid 999\)/,
    );
    await waitReady('text', other.ports, 5000, () => true, 4242);
    // alive when the probe is sent, dead by the time the ready answer comes back
    let checks = 0;
    await assert.rejects(
      waitReady('text', other.ports, 5000, () => checks++ === 0, 4242),
      /text exited while starting/,
    );
  } finally {
    other.close();
  }
});
