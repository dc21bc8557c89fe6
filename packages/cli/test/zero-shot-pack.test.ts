import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '@omniaffect/core';
import { preflightModels } from '../src/stack-commands';

const run = promisify(execFile);
const CLI = path.join(repoRoot(), 'packages', 'cli', 'dist', 'src', 'main.js');

/** The models package's fake hub (compiled test support), loaded at run time so it stays that package's file. */
interface FakeHub {
  endpoint: string;
  close: () => Promise<void>;
}
const { startFakeHub } = require(path.join(repoRoot(), 'packages', 'models', 'dist', 'test', 'fake-hub.js')) as { startFakeHub: () => Promise<FakeHub> };

const dir = mkdtempSync(path.join(os.tmpdir(), 'oa-cli-zero-shot-pack-'));
let hub: FakeHub;
before(async () => {
  hub = await startFakeHub();
});
after(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, OMNIAFFECT_STATE_DIR: path.join(dir, 'state') },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, out: `${r.stdout}${r.stderr}` };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

test('pull --pack standard, then train --zero-shot on what was pulled: the path a new user takes', { timeout: 240_000 }, async () => {
  const out = path.join(dir, 'models');
  const pull = await cli(['models', 'pull', '--pack', 'standard', '--out', out, '--endpoint', hub.endpoint]);
  assert.equal(pull.code, 0, pull.out);
  assert.ok(pull.out.includes(`omniaffect train --zero-shot --model-dir ${out}`), 'the pull points at the next step');
  assert.throws(() => preflightModels({ MODEL_DIR: out }), /no fusion model/);

  const zs = await cli(['train', '--zero-shot', '--model-dir', out]);
  assert.equal(zs.code, 0, zs.out);
  // The hub's SigLIP tokenizer has no CJK pieces, as the English-only base SigLIP: the zh prompts are dropped, and said to be.
  assert.match(zs.out, /dropped 14 prompts the tokenizer cannot read: zh/);
  const m = JSON.parse(readFileSync(path.join(out, 'fusion', 'fusion.json'), 'utf8')) as {
    dims: Record<string, number>;
    provenance: { kind: string; encoders: { audio: { head: { labels: string[] } } }; vision: { prompts: { language: string; used: boolean }[] } };
  };
  assert.equal(m.provenance.kind, 'zero-shot');
  // the widths the pulled graphs declare (the fake hub serves the tiny models: 32-d)
  assert.equal(m.dims.audio, 32);
  assert.equal(m.dims.vision, 32);
  assert.deepEqual(m.provenance.encoders.audio.head.labels, ['angry', 'disgusted', 'fearful', 'happy', 'neutral', 'other', 'sad', 'surprised', 'unknown']);
  assert.ok(m.provenance.vision.prompts.filter((p) => p.language === 'en').every((p) => p.used));

  const verify = await cli(['models', 'verify', 'fusion', path.join(out, 'fusion')]);
  assert.equal(verify.code, 0, verify.out);
  const p = preflightModels({ MODEL_DIR: out });
  assert.equal(p.fusionKind, 'zero-shot');
  assert.equal(p.tiny, false);
});
