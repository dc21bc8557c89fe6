import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { redisConnection, repoRoot, validateResult } from '@omniaffect/core';
import { readNpy } from '@omniaffect/features';
import { buildTinyPack } from '@omniaffect/models';

const run = promisify(execFile);
const CLI = path.join(repoRoot(), 'packages', 'cli', 'dist', 'src', 'main.js');
const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function cli(args: string[], env: NodeJS.ProcessEnv = {}, timeout = 240_000) {
  return run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout, maxBuffer: 64 * 1024 * 1024 });
}

async function cliFails(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
  try {
    await cli(args, env);
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
  throw new Error(`omniaffect ${args.join(' ')} should have failed`);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'oa-cli-'));
const ffmpeg = (args: string[]) => execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args]);

describe('omniaffect features', () => {
  const wav = path.join(dir, 'tone.wav');
  before(() => ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=220:sample_rate=16000', '-t', '2', '-ac', '1', wav]));

  test('mel writes the first 30 s window as [128, 3000] float32', async () => {
    const out = path.join(dir, 'mel.npy');
    await cli(['features', 'mel', wav, '--out', out]);
    const a = readNpy(readFileSync(out));
    assert.deepEqual(a.shape, [128, 3000]);
    assert.equal(a.dtype, '<f4');
    // after 2 s of tone the rest is padding: the max-8 floor makes it the global floor
    const data = a.data as Float32Array;
    const tail = data[3000 - 1];
    const max = data.reduce((m, x) => Math.max(m, x), -Infinity);
    assert.ok(Math.abs(tail - (max - 2)) < 1e-5, `padding sits at max - 8 (log10) = max - 2 after scaling: ${tail}`);
  });

  test('waveform and prosody', async () => {
    const w = path.join(dir, 'w.npy');
    await cli(['features', 'waveform', wav, '--out', w]);
    const a = readNpy(readFileSync(w));
    assert.deepEqual(a.shape, [32000]);
    const p = path.join(dir, 'p.npy');
    const { stdout } = await cli(['features', 'prosody', wav, '--out', p]);
    assert.match(stdout, /frames\/s/);
    const f0 = readNpy(readFileSync(p)).data as Float32Array;
    const voiced = Array.from(f0).filter((x) => x > 0);
    const median = voiced.sort((x, y) => x - y)[Math.floor(voiced.length / 2)];
    assert.ok(Math.abs(median - 220) / 220 < 0.02, `median f0 ${median}`);
  });

  test('pixels and tokens', async () => {
    const png = path.join(dir, 'red.png');
    ffmpeg(['-f', 'lavfi', '-i', 'color=c=red:s=64x48', '-frames:v', '1', png]);
    const px = path.join(dir, 'px.npy');
    await cli(['features', 'pixels', png, '--out', px]);
    const a = readNpy(readFileSync(px));
    assert.deepEqual(a.shape, [3, 224, 224]);
    const d = a.data as Float32Array;
    assert.ok(Math.abs(d[0] - 1) < 0.02 && Math.abs(d[224 * 224] + 1) < 0.02, 'red → R≈1, G≈−1');
    const pack = path.join(dir, 'pack');
    buildTinyPack(pack);
    const ids = path.join(dir, 'ids.npy');
    await cli(['features', 'tokens', 'I love this', '--tokenizer', path.join(pack, 'text-en', 'tokenizer.json'), '--out', ids]);
    const t = readNpy(readFileSync(ids));
    const list = Array.from(t.data as BigInt64Array, Number);
    assert.equal(list[0], 101);
    assert.equal(list[list.length - 1], 102);
    assert.equal(list.length, 5);
    assert.ok(!list.includes(100), 'no [UNK] for in-vocabulary words');
  });

  test('an unknown kind fails clearly', async () => {
    const r = await cliFails(['features', 'spectrum', wav, '--out', path.join(dir, 'x.npy')]);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /unknown kind spectrum/);
  });
});

describe('omniaffect models', () => {
  const pack = path.join(dir, 'models-pack');
  before(() => buildTinyPack(pack));

  test('verify passes on a matching export and prints the table', async () => {
    const { stdout } = await cli(['models', 'verify', 'asr', path.join(pack, 'asr')]);
    assert.match(stdout, /past_key_values\.0\.decoder\.key/);
    assert.match(stdout, /contract OK/);
  });

  test('verify exits non-zero with the reason on a mismatch', async () => {
    const broken = path.join(dir, 'broken-vision');
    execFileSync('cp', ['-r', path.join(pack, 'vision'), broken]);
    // another model's graph under the vision name: wrong inputs
    execFileSync('cp', [path.join(pack, 'text-en', 'onnx', 'model.onnx'), path.join(broken, 'onnx', 'vision_model.onnx')]);
    const r = await cliFails(['models', 'verify', 'vision', broken]);
    assert.equal(r.code, 1);
    assert.match(r.out, /pixel_values/);
    assert.match(r.out, /MISMATCH/);
  });

  test('list reports every configured model', async () => {
    const { stdout } = await cli(['models', 'list'], { MODEL_DIR: pack });
    for (const m of ['asr', 'audio-emotion', 'vision', 'text (en)', 'text (zh)', 'fusion'])
      assert.match(stdout, new RegExp(`${m.replace(/[()]/g, '\\$&')}\\s+OK`));
  });
});

describe('omniaffect up / submit / status / result / down', { timeout: 300_000 }, () => {
  const state = path.join(dir, 'state');
  const tag = randomBytes(4).toString('hex');
  const dbName = `oa_cli_${tag}`;
  // below freePort()'s range and the ephemeral range, so concurrent test stacks and receivers cannot take them
  const base = 10000 + Math.floor(Math.random() * 4980);
  const env: NodeJS.ProcessEnv = {
    OMNIAFFECT_STATE_DIR: state,
    DATABASE_URL: ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`),
    QUEUE_PREFIX: `cli${tag}`,
    PORT: String(base),
    ORCHESTRATOR_GRPC_PORT: String(base + 1),
    FUSION_GRPC_PORT: String(base + 2),
    OPS_PORT_BASE: String(base + 3),
    OMNIAFFECT_API_KEYS: '',
    // all three point away from their defaults, so the test shows `up` passes them on
    REDIS_URL: 'redis://127.0.0.1:6379/5',
    ARTIFACT_DIR: path.join(dir, 'custom-artifacts'),
    MODEL_DIR: path.join(dir, 'custom-models'),
  };
  before(() => buildTinyPack(env.MODEL_DIR!));

  after(async () => {
    await cli(['down'], env).catch(() => undefined);
    const redis = redisConnection(env.REDIS_URL!);
    const keys = await redis.keys(`${env.QUEUE_PREFIX}:*`).catch(() => [] as string[]);
    if (keys.length > 0) await redis.del(...keys).catch(() => undefined);
    redis.disconnect();
    const admin = new Pool({ connectionString: ADMIN_URL, max: 1 });
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the local stack comes up, analyses a file and goes down', async () => {
    const upOut = (await cli(['up'], env)).stdout;
    assert.match(upOut, new RegExp(`OmniAffect is up: http://127\\.0\\.0\\.1:${base}`));
    assert.match(upOut, /API key: .*api-key/);
    // `up` has exited: the services must still be writing their own log files
    const logSize = (name: string) => statSync(path.join(state, 'logs', `${name}.log`)).size;
    const before = { gateway: logSize('gateway'), media: logSize('media') };
    const clip = path.join(dir, 'clip.mp4');
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=160x120:rate=5',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=200:sample_rate=16000',
      '-t',
      '3',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-shortest',
      clip,
    ]);
    const { stdout } = await cli(['submit', clip, '--wait', '--json'], env);
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    assert.ok(validateResult(result).ok, JSON.stringify(validateResult(result).errors));
    const status = JSON.parse((await cli(['status', result.id], env)).stdout);
    assert.equal(status.status, 'succeeded');
    const again = JSON.parse((await cli(['result', result.id], env)).stdout);
    assert.equal(again.id, result.id);
    // REDIS_URL, ARTIFACT_DIR and MODEL_DIR were honoured
    assert.ok(existsSync(path.join(env.ARTIFACT_DIR!, 'videos', result.id, 'media.json')), 'artifacts under ARTIFACT_DIR');
    assert.equal(existsSync(path.join(state, 'models', 'tiny')), false, 'no default tiny pack generated when MODEL_DIR is set');
    const redis = redisConnection(env.REDIS_URL!);
    try {
      assert.ok((await redis.keys(`${env.QUEUE_PREFIX}:*`)).length > 0, 'queues live in Redis database 5');
    } finally {
      redis.disconnect();
    }
    // the submit's requests and the media job were logged after `up` returned
    assert.ok(logSize('gateway') > before.gateway, `gateway.log grew after up (${before.gateway} → ${logSize('gateway')} bytes)`);
    assert.ok(logSize('media') > before.media, `media.log grew after up (${before.media} → ${logSize('media')} bytes)`);
    writeFileSync(path.join(dir, 'done'), '');
    const downOut = (await cli(['down'], env)).stdout;
    assert.match(downOut, /stopped/);
    await assert.rejects(fetch(`http://127.0.0.1:${base}/healthz`), 'gateway is gone after down');
  });

  test('demo: starts the stack, analyses the bundled sample, prints the result, writes the report, stops', async () => {
    const reports = path.join(dir, 'reports');
    const { stdout, stderr } = await cli(['demo', '--report-dir', reports], env);
    const result = JSON.parse(stdout) as { id: string; modalities: Record<string, { present: boolean }> };
    assert.ok(validateResult(result).ok, JSON.stringify(validateResult(result).errors));
    // the bundled sample has speech and a face: every modality takes part
    assert.deepEqual(
      Object.values(result.modalities).map((m) => m.present),
      [true, true, true],
    );
    const report = path.join(reports, `${result.id}.html`);
    assert.match(stderr, new RegExp(`report: ${report.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(readFileSync(report, 'utf8'), /perceived/);
    assert.deepEqual(JSON.parse(readFileSync(path.join(reports, `${result.id}.json`), 'utf8')), result);
    await assert.rejects(fetch(`http://127.0.0.1:${base}/healthz`), 'the demo stops the stack it started');
  });
});

describe('omniaffect down', () => {
  test('leaves alone a recorded PID that is no longer one of our services', async () => {
    const state = mkdtempSync(path.join(os.tmpdir(), 'oa-cli-stale-'));
    // an unrelated process that happens to hold the PID stack.json recorded for the gateway
    const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      writeFileSync(
        path.join(state, 'stack.json'),
        JSON.stringify({
          pids: { gateway: stranger.pid },
          ports: {},
          gatewayUrl: 'http://127.0.0.1:1',
          apiKeyFile: '',
          logDir: path.join(state, 'logs'),
          startedAt: new Date().toISOString(),
        }),
      );
      const { stdout } = await cli(['down'], { OMNIAFFECT_STATE_DIR: state });
      assert.match(stdout, new RegExp(`gateway: pid ${stranger.pid} is no longer gateway .*left alone`));
      assert.match(stdout, /stopped/);
      assert.equal(stranger.exitCode, null, 'the unrelated process was not signalled');
      assert.equal(stranger.signalCode, null);
      process.kill(stranger.pid!, 0);
    } finally {
      stranger.kill('SIGKILL');
      rmSync(state, { recursive: true, force: true });
    }
  });
});
