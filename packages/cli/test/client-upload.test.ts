import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { GatewayClient } from '../src/client';

// A fake gateway that parses the multipart body with the platform's own parser (Request.formData()).
async function capture(run: (url: string) => Promise<unknown>): Promise<{ headers: http.IncomingHttpHeaders; form: FormData }> {
  let got: { headers: http.IncomingHttpHeaders; body: Buffer } | undefined;
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got = { headers: req.headers, body: Buffer.concat(chunks) };
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"id":"v","status":"queued"}');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    await run(`http://127.0.0.1:${(srv.address() as AddressInfo).port}`);
  } finally {
    srv.close();
  }
  assert.ok(got);
  const form = await new Request('http://x/', { method: 'POST', headers: { 'content-type': String(got.headers['content-type']) }, body: got.body }).formData();
  return { headers: got.headers, form };
}

test('submitFile sends the fields and the file as multipart/form-data with its media type', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oa-upload-'));
  const file = path.join(dir, 'clip "1".mp4');
  const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
  writeFileSync(file, bytes);
  const { headers, form } = await capture((url) =>
    new GatewayClient(url, 'oa_k').submitFile(file, {
      language: 'zh',
      callbackUrl: 'https://h/cb',
      metadata: { a: 'it\'s "x" $y' },
      transcript: '你好 10/10!',
      idempotencyKey: 'k-1',
    }),
  );
  assert.equal(headers.authorization, 'Bearer oa_k');
  assert.equal(headers['idempotency-key'], 'k-1');
  assert.equal(Number(headers['content-length']) > bytes.length, true, 'a known length, not chunked');
  assert.equal(form.get('language'), 'zh');
  assert.equal(form.get('callbackUrl'), 'https://h/cb');
  assert.deepEqual(JSON.parse(String(form.get('metadata'))), { a: 'it\'s "x" $y' });
  assert.equal(form.get('transcript'), '你好 10/10!');
  const f = form.get('file') as File;
  assert.equal(f.type, 'video/mp4');
  assert.equal(f.name, 'clip "1".mp4');
  assert.deepEqual(Buffer.from(await f.arrayBuffer()), bytes);
});

test('a file that is not audio or video is declared application/octet-stream (the gateway leaves it to the probe)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oa-upload-'));
  for (const [name, type] of [
    ['a.txt', 'application/octet-stream'],
    ['noext', 'application/octet-stream'],
    ['b.wav', 'audio/wav'],
    ['c.MKV', 'video/x-matroska'],
  ]) {
    writeFileSync(path.join(dir, name), 'x');
    const { form } = await capture((url) => new GatewayClient(url, 'k').submitFile(path.join(dir, name)));
    assert.equal((form.get('file') as File).type, type, name);
  }
});
