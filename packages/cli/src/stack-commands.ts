import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '@omniaffect/core';
import { isTinyPackDir } from '@omniaffect/models';
import { GatewayClient } from './client';
import { localStackOptions, readStackFile, stackFile, writeStackFile } from './local-env';
import { SERVICES, Stack, serviceEntry, type ServiceName } from './stack';

function assertBuilt(): void {
  const missing = SERVICES.filter((s) => !existsSync(path.join(repoRoot(), 'services', s, 'dist', 'src', 'main.js')));
  if (missing.length) throw new Error(`services not built (${missing.join(', ')}): run \`pnpm install && pnpm build\` first`);
}

/** Said on stderr, in the result of a tiny-model stack, and wherever its figures could be mistaken for real ones. */
export const TINY_MODELS_WARNING = 'tiny stand-in models: not a real prediction';

export interface ModelPreflight {
  modelDir: string;
  fusionDir: string;
  /** stand-ins (tiny pack or the real-dimension stand-ins), not real encoders */
  tiny: boolean;
  /** fusion.json provenance.kind: 'zero-shot', 'trained-policy', 'tiny-generated', … */
  fusionKind: string | null;
  /** lines to print before starting */
  notices: string[];
}

/**
 * Before `up` / `demo` start anything: a MODEL_DIR without a fusion model is refused with the command
 * that builds one. Refused rather than built on first start because building writes into MODEL_DIR
 * (often a read-only or shared volume in a deployment), runs the SigLIP text tower for a while, and
 * falls back to assumed SigLIP constants that the user should see and may override with flags; a
 * start-up that silently did all that would hide exactly what makes the predictions what they are.
 */
export function preflightModels(env: NodeJS.ProcessEnv): ModelPreflight {
  const modelDir = path.resolve(env.MODEL_DIR ?? '.');
  const fusionDir = path.resolve(env.FUSION_MODEL_DIR ?? path.join(modelDir, 'fusion'));
  const tiny = isTinyPackDir(modelDir);
  const missing = ['fusion.onnx', 'fusion.json'].filter((f) => !existsSync(path.join(fusionDir, f)));
  if (missing.length) {
    const custom = env.FUSION_MODEL_DIR ? ` --fusion-dir ${fusionDir}` : '';
    throw new Error(
      `${fusionDir} has no fusion model (${missing.join(', ')} missing): nothing would fuse the encoders in ${modelDir}.\n` +
        `Build one from the encoders alone (no dataset needed):\n\n  omniaffect train --zero-shot --model-dir ${modelDir}${custom}\n\n` +
        'then start again. A policy trained on labelled data replaces it later (omniaffect eval run).',
    );
  }
  let fusionKind: string | null = null;
  try {
    const m = JSON.parse(readFileSync(path.join(fusionDir, 'fusion.json'), 'utf8')) as { provenance?: { kind?: unknown } };
    fusionKind = typeof m.provenance?.kind === 'string' ? m.provenance.kind : null;
  } catch (err) {
    throw new Error(`${path.join(fusionDir, 'fusion.json')} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const notices: string[] = [];
  if (tiny) {
    const bar = '!'.repeat(72);
    notices.push(
      bar,
      `!! ${TINY_MODELS_WARNING.toUpperCase()}`,
      `!! MODEL_DIR=${modelDir} holds generated stand-ins with the real tensor contracts;`,
      '!! every label they give is meaningless. Real encoders: omniaffect models pull --pack standard --out DIR',
      bar,
    );
  }
  if (fusionKind === 'zero-shot') notices.push(`fusion: zero-shot (built from the encoders, no training; text weight 0: no trained text head) — ${fusionDir}`);
  return { modelDir, fusionDir, tiny, fusionKind, notices };
}

/** `omniaffect up`: start every service in the background, wait until each is ready, print the URL. */
export async function up(): Promise<void> {
  assertBuilt();
  const running = readStackFile();
  if (running && Object.entries(running.pids).some(([name, pid]) => isOurs(pid, name))) {
    console.log(`already running at ${running.gatewayUrl} (omniaffect down to stop)`);
    return;
  }
  const opts = localStackOptions();
  const models = preflightModels(opts.env);
  for (const line of models.notices) process.stderr.write(`${line}\n`);
  const stack = new Stack(opts);
  try {
    await stack.start(180_000, true);
  } catch (err) {
    await stack.stop(5000);
    throw new Error(`${(err as Error).message}\nlogs: ${opts.logDir}`);
  }
  // Each service writes its log file directly (see startService): nothing ties it to this process.
  for (const h of stack.handles.values()) h.child.unref();
  writeStackFile({
    pids: Object.fromEntries([...stack.handles.values()].map((h) => [h.name, h.pid])),
    ports: opts.ports,
    gatewayUrl: stack.gatewayUrl,
    apiKeyFile: opts.apiKeyFile ?? '',
    logDir: opts.logDir,
    startedAt: new Date().toISOString(),
  });
  console.log(`OmniAffect is up: ${stack.gatewayUrl}`);
  console.log(opts.apiKeyFile ? `API key: ${opts.apiKeyFile}` : 'API keys: from OMNIAFFECT_API_KEYS');
  console.log(`models: ${opts.env.MODEL_DIR}${models.tiny ? ` (${TINY_MODELS_WARNING})` : ''}\nlogs: ${opts.logDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `pid` still is the service `up` started: alive, and running that service's entry point.
 * A PID from an old stack.json may since have been reused by an unrelated process.
 */
function isOurs(pid: number, name: string): boolean {
  if (!isAlive(pid)) return false;
  if (!(SERVICES as readonly string[]).includes(name)) return false;
  const entry = serviceEntry(name as ServiceName);
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    if (process.platform === 'linux') return false;
    try {
      cmdline = execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    } catch {
      return false;
    }
  }
  return cmdline.includes(entry);
}

/** `omniaffect down`: SIGTERM every service (graceful: in-flight jobs finish), SIGKILL after 30 s. */
export async function down(): Promise<void> {
  const s = readStackFile();
  if (!s) {
    console.log('no local stack recorded');
    return;
  }
  const ours: [string, number][] = [];
  for (const [name, pid] of Object.entries(s.pids)) {
    if (isOurs(pid, name)) ours.push([name, pid]);
    else if (isAlive(pid)) console.log(`${name}: pid ${pid} is no longer ${name} (not running ${serviceEntry(name as ServiceName)}); left alone`);
  }
  for (const [, pid] of ours) if (isAlive(pid)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (ours.some(([, pid]) => isAlive(pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  // re-checked: a PID that exited during the wait may already belong to something else
  for (const [name, pid] of ours) if (isOurs(pid, name)) process.kill(pid, 'SIGKILL');
  rmSync(stackFile(), { force: true });
  console.log('stopped');
}

/** The main job on a bundled sample: start the stack, submit, wait, print the result, write the report, stop. */
export async function demo(sample: string, opts: { keep?: boolean; reportDir: string }): Promise<void> {
  assertBuilt();
  const stackOpts = localStackOptions();
  const models = preflightModels(stackOpts.env);
  const stack = new Stack(stackOpts);
  const t0 = Date.now();
  try {
    process.stderr.write('starting the stack (8 services)...\n');
    await stack.start(180_000);
    process.stderr.write(`stack ready in ${((Date.now() - t0) / 1000).toFixed(1)} s at ${stack.gatewayUrl}\n`);
    for (const line of models.notices) process.stderr.write(`${line}\n`);
    const client = new GatewayClient(stack.gatewayUrl, stackOpts.apiKeys[0]);
    const t1 = Date.now();
    const { id } = await client.submitFile(sample, { language: 'auto' });
    process.stderr.write(`submitted ${path.basename(sample)} as ${id}\n`);
    let last = '';
    const doc = await client.waitForTerminal(id, 600_000, (d) => {
      const line = Object.entries(d.stages)
        .map(([k, v]) => `${k}:${v?.state}`)
        .join(' ');
      if (line !== last) process.stderr.write(`  ${d.status}  ${line}\n`);
      last = line;
    });
    if (doc.status !== 'succeeded') throw new Error(`video ${doc.status}: ${JSON.stringify(doc.error)}`);
    const result = await client.result(id);
    console.log(JSON.stringify(result, null, 2));
    // Again after the JSON: the banner above has scrolled away by now.
    if (models.tiny) process.stderr.write(`\n${TINY_MODELS_WARNING.toUpperCase()} (MODEL_DIR=${models.modelDir})\n`);
    mkdirSync(opts.reportDir, { recursive: true });
    // the file must open on its own: the exported form (no media link that needs the server)
    const html = await client.report(id, { exported: true });
    const reportFile = path.join(opts.reportDir, `${id}.html`);
    writeFileSync(reportFile, html);
    writeFileSync(path.join(opts.reportDir, `${id}.json`), JSON.stringify(result, null, 2));
    process.stderr.write(`\nend-to-end ${((Date.now() - t1) / 1000).toFixed(2)} s; report: ${reportFile}\n`);
  } finally {
    if (!opts.keep) await stack.stop();
  }
}
