import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '@omniaffect/core';

const run = promisify(execFile);
const root = repoRoot();

// Text that `pnpm <script>` changes (it re-quotes arguments for a shell: a `!` after a `'` gains a
// backslash), and metadata JSON with every character a shell or a re-quoter might touch.
const TEXT = "can't believe it, 10/10!";
const METADATA = JSON.stringify({ title: 'say "hi" $HOME `id` !! \\n \\ end', note: "it's 100% 'fine' ; & | > <", emoji: 'é 情绪' });

// A fake gateway: `omniaffect submit <url>` posts {url, language, callbackUrl} as JSON; we keep what arrived.
let gateway: string;
const received: Buffer[] = [];
const srv = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    received.push(Buffer.concat(chunks));
    res.writeHead(202, { 'content-type': 'application/json' }).end('{"id":"vid_1","status":"queued"}');
  });
});
before(async () => {
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  gateway = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
});
after(() => srv.close());

const env = () => ({ ...process.env, OMNIAFFECT_URL: gateway, OMNIAFFECT_API_KEY: 'oa_test' });
const url = `http://example.test/clip?t=${TEXT}`;
const args = ['submit', url, '--language', 'en', '--callback-url', METADATA, '--json'];

async function submitThrough(cmd: string, argv: string[]): Promise<void> {
  received.length = 0;
  const { stdout } = await run(cmd, argv, { cwd: root, env: env(), timeout: 60_000 });
  assert.deepEqual(JSON.parse(stdout), { id: 'vid_1', status: 'queued' });
  assert.equal(received.length, 1);
  const body = JSON.parse(received[0].toString('utf8')) as { url: string; callbackUrl: string; language: string };
  // Byte for byte, not merely "similar": compare the UTF-8 encodings.
  assert.deepEqual(Buffer.from(body.url, 'utf8'), Buffer.from(url, 'utf8'));
  assert.deepEqual(Buffer.from(body.callbackUrl, 'utf8'), Buffer.from(METADATA, 'utf8'));
  assert.equal(body.language, 'en');
}

/** The argument as a user types it in a POSIX shell: single-quoted, a `'` written as '\''. */
const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

test('./omniaffect passes text and metadata to the CLI byte for byte', async () => {
  await submitThrough(path.join(root, 'omniaffect'), args);
});

test('./omniaffect typed in a shell, quoted as a user quotes, arrives byte for byte', async () => {
  await submitThrough('bash', ['-c', `./omniaffect ${args.map(shq).join(' ')}`]);
});

test('pnpm exec omniaffect (the workspace bin) passes text and metadata byte for byte', async (t) => {
  try {
    execFileSync('pnpm', ['--version'], { stdio: 'ignore' });
  } catch {
    return t.skip('SKIPPED: pnpm is not on PATH');
  }
  await submitThrough('pnpm', ['exec', 'omniaffect', ...args]);
});

test('the README documents the entry point that keeps arguments, not the pnpm script', () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  assert.doesNotMatch(readme, /pnpm (run )?omniaffect\b/);
  assert.match(readme, /^\.\/omniaffect up\b/m);
});
