import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '@omniaffect/core';
import { STANDARD_PACK, buildTinyPack } from '@omniaffect/models';

const run = promisify(execFile);
const CLI = path.join(repoRoot(), 'packages', 'cli', 'dist', 'src', 'main.js');
const FIXTURE = path.join(repoRoot(), 'packages', 'models', 'test', 'fixtures', 'fill-mask-bert');

/** The models package's fake hub (compiled test support), loaded at run time so it stays that package's file. */
interface FakeHub {
  endpoint: string;
  requests: { path: string }[];
  close: () => Promise<void>;
}
const { startFakeHub } = require(path.join(repoRoot(), 'packages', 'models', 'dist', 'test', 'fake-hub.js')) as { startFakeHub: () => Promise<FakeHub> };

const dir = mkdtempSync(path.join(os.tmpdir(), 'oa-cli-models-'));
let hub: FakeHub;
before(async () => {
  hub = await startFakeHub();
});
after(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, out: `${r.stdout}${r.stderr}` };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

test('models pull --pack standard --dry-run prints every kind with repository, revision, files and total; downloads nothing', async () => {
  hub.requests.length = 0;
  const r = await cli(['models', 'pull', '--pack', 'standard', '--dry-run', '--out', path.join(dir, 'pack'), '--endpoint', hub.endpoint]);
  assert.equal(r.code, 0, r.out);
  for (const m of STANDARD_PACK.models) assert.ok(r.out.includes(`${m.dir} (${m.kind}): ${m.repo}@${m.revision}`), `${m.dir} listed:\n${r.out}`);
  assert.match(r.out, /onnx\/encoder_model\.onnx_data/);
  assert.match(r.out, /^total [\d.]+ (kB|KB|MB|GB|B)|^total \d+ B/m);
  assert.ok(!hub.requests.some((q) => q.path.includes('/resolve/')));
});

test('models pull --pack standard then models list: every worker directory OK', async () => {
  const out = path.join(dir, 'full');
  const r = await cli(['models', 'pull', '--pack', 'standard', '--out', out, '--endpoint', hub.endpoint]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /text-en: contract OK \(adapted: exposed .* as last_hidden_state/);
  assert.match(r.out, /train --zero-shot --model-dir/);
  // fusion/ is not part of the pull (zero-shot or training builds it), so only the encoders are listed OK.
  const list = await cli(['models', 'list'], { MODEL_DIR: out });
  for (const label of ['asr', 'audio-emotion', 'vision', 'text \\(en\\)', 'text \\(zh\\)']) assert.match(list.out, new RegExp(`^${label}\\s+OK`, 'm'));
});

test('models adapt text turns the fill-mask fixture into a graph that passes the contract', async () => {
  const d = path.join(dir, 'bert');
  cpSync(FIXTURE, d, { recursive: true });
  const before = await cli(['models', 'verify', 'text', d]);
  assert.notEqual(before.code, 0);
  const r = await cli(['models', 'adapt', 'text', d]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /text: contract OK/);
  assert.match(r.out, /original kept in source\/model\.onnx/);
  const bad = await cli(['models', 'adapt', 'vision', d]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.out, /adapt applies to text and audio-emotion/);
});

test('eval run refuses the tiny pack unless --allow-tiny-models', async () => {
  const tiny = path.join(dir, 'tiny');
  buildTinyPack(tiny);
  const r = await cli(['eval', 'run', '--dataset', 'sims2', '--root', path.join(dir, 'no-such-dataset'), '--out', path.join(dir, 'eval')], { MODEL_DIR: tiny });
  assert.notEqual(r.code, 0);
  assert.match(r.out, /refusing to evaluate on the tiny stand-in models .*--allow-tiny-models/s);
  // Allowed: it gets past the guard (and then fails on the missing dataset, not on the models).
  const allowed = await cli(
    ['eval', 'run', '--dataset', 'sims2', '--root', path.join(dir, 'no-such-dataset'), '--out', path.join(dir, 'eval'), '--allow-tiny-models'],
    { MODEL_DIR: tiny },
  );
  assert.notEqual(allowed.code, 0);
  assert.match(allowed.out, /WARNING: tiny stand-in models/);
  assert.doesNotMatch(allowed.out, /refusing to evaluate/);
});
