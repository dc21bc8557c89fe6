import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_PORTS as CORE_DEFAULT_PORTS, SERVICES, newWebhookSecret, repoRoot, type OpsServiceName, type ServiceName } from '@omniaffect/core';

// The services of the local stack, in start order, and their default ports are core's vocabulary.
export { SERVICES, type ServiceName };

export interface StackPorts {
  gateway: number;
  orchestratorGrpc: number;
  fusionGrpc: number;
  ops: Record<OpsServiceName, number>;
}

/** The ports each service defaults to on its own, so `omniaffect up` and a bare `node main.js` agree. */
export const DEFAULT_PORTS: StackPorts = { ...CORE_DEFAULT_PORTS, ops: { ...CORE_DEFAULT_PORTS.ops } };

export interface StackOptions {
  stateDir: string;
  env: NodeJS.ProcessEnv;
  ports: StackPorts;
  apiKeys: string[];
  /** Where the services' stdout/stderr go: `<logDir>/<service>.log`, appended to by the service itself. */
  logDir: string;
}

export interface ServiceHandle {
  name: ServiceName;
  child: ChildProcess;
  pid: number;
}

export function serviceEntry(name: ServiceName): string {
  return path.join(repoRoot(), 'services', name, 'dist', 'src', 'main.js');
}

/**
 * The Node flags a service runs with: `omniaffect.nodeFlags` in its package.json, the one place every
 * launcher reads (this stack and deploy/docker/entrypoint.sh, hence compose and Kubernetes). Fusion caps
 * V8's young generation (--max-semi-space-size=2): its timeline fusion allocates in bursts, and V8 grew the
 * semi-spaces to their 16 MB maximum for a 2-hour video, ~28 MB of the +77 MB of peak RSS a 2-hour video
 * added over a 10-minute one (bench/README.md). A smaller old-generation growth factor
 * (--heap-growing-percent=20) was measured and dropped: at 768-wide embeddings it made fusion 2.5× slower.
 */
export function serviceNodeFlags(name: ServiceName): string[] {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot(), 'services', name, 'package.json'), 'utf8')) as { omniaffect?: { nodeFlags?: unknown } };
  const flags = pkg.omniaffect?.nodeFlags ?? [];
  if (!Array.isArray(flags) || !flags.every((f) => typeof f === 'string' && /^--[a-z0-9-]+(=[\w.-]+)?$/.test(f)))
    throw new Error(`services/${name}/package.json: omniaffect.nodeFlags must be a list of --flag or --flag=value strings`);
  return flags as string[];
}

/** The services that run ONNX Runtime sessions (and so read INTRA_OP_THREADS). */
const ONNX_SERVICES: readonly ServiceName[] = ['asr', 'audio-emotion', 'vision', 'text', 'fusion'];

/**
 * ONNX Runtime threads per model service when the local stack runs them all on one machine and
 * INTRA_OP_THREADS is not set: the cores shared by the four workers that run at once (asr,
 * audio-emotion, vision, text; fusion runs after them). ORT's own default is every core in each
 * session, so on a small machine four sessions spin for the same cores: on 2 cores that made a
 * 1-hour video 35.2 s instead of 30.4 s and 4 clips in flight 3.58 instead of 4.85 videos/s
 * (bench/README.md).
 */
export function localIntraOpThreads(cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 4));
}

export function serviceEnv(name: ServiceName, o: StackOptions): NodeJS.ProcessEnv {
  const p = o.ports;
  const threads = ONNX_SERVICES.includes(name) && !o.env.INTRA_OP_THREADS ? { INTRA_OP_THREADS: String(localIntraOpThreads()) } : {};
  const common = { ...o.env, ...threads, ORCHESTRATOR_GRPC_URL: `127.0.0.1:${p.orchestratorGrpc}`, FUSION_GRPC_URL: `127.0.0.1:${p.fusionGrpc}` };
  switch (name) {
    case 'gateway':
      return { ...common, PORT: String(p.gateway), OMNIAFFECT_API_KEYS: o.apiKeys.join(',') };
    case 'orchestrator':
      return { ...common, GRPC_PORT: String(p.orchestratorGrpc), OPS_PORT: String(p.ops.orchestrator) };
    case 'fusion':
      return { ...common, GRPC_PORT: String(p.fusionGrpc), OPS_PORT: String(p.ops.fusion) };
    default:
      return { ...common, OPS_PORT: String(p.ops[name]) };
  }
}

export function startService(name: ServiceName, o: StackOptions, detached = false): ServiceHandle {
  mkdirSync(o.logDir, { recursive: true });
  const log = path.join(o.logDir, `${name}.log`);
  // The child gets the log file itself as stdout/stderr (not a pipe through this process), so its
  // output keeps reaching the file after `omniaffect up` has exited.
  const fd = openSync(log, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...serviceNodeFlags(name), serviceEntry(name)], {
      env: serviceEnv(name, o),
      stdio: ['ignore', fd, fd],
      detached,
    });
  } finally {
    closeSync(fd); // the child holds its own copy
  }
  if (!child.pid) throw new Error(`could not start ${name}`);
  return { name, child, pid: child.pid };
}

export function readinessUrl(name: ServiceName, ports: StackPorts): string {
  return name === 'gateway' ? `http://127.0.0.1:${ports.gateway}/readyz` : `http://127.0.0.1:${ports.ops[name]}/readyz`;
}

export async function waitReady(name: ServiceName, ports: StackPorts, timeoutMs: number, isAlive: () => boolean = () => true, pid?: number): Promise<void> {
  const url = readinessUrl(name, ports);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`${name} exited while starting (see its log)`);
    // Only our own readiness document counts: something else answering on the port is not us. Nor is
    // another OmniAffect process that holds the port (a second stack's service, just as ready) while
    // ours died on EADDRINUSE: the answer must come from our child (its pid), and the child must live.
    let ready = false;
    let answeredBy: unknown;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      last = await res.text();
      if (res.ok && /"status":"ready"/.test(last)) {
        answeredBy = (JSON.parse(last) as { pid?: unknown }).pid;
        ready = true;
      }
    } catch (err) {
      last = (err as Error).message;
    }
    if (ready) {
      if (pid !== undefined && typeof answeredBy === 'number' && answeredBy !== pid) {
        throw new Error(`${name}: ${url} is answered by another process (pid ${answeredBy}), not by ours (pid ${pid}); its port was taken`);
      }
      if (!isAlive()) throw new Error(`${name} exited while starting (see its log)`);
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} not ready after ${timeoutMs} ms: ${last}`);
}

/** Whether a child process has ended, by an exit code or a signal. */
export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * A free port below the kernel's ephemeral range (32768+), so a port we pick cannot be taken in the
 * meantime by another process's `listen(0)` (test webhook receivers, file servers). Random, checked by
 * binding, and claimed for this process in a directory every local stack shares: a stack's services
 * bind their ports one by one over many seconds after the ports are picked, and a second stack started
 * meanwhile by another test process could otherwise pick a port that is still unbound (it happened: a
 * text worker died on EADDRINUSE while a service of the other stack answered its readiness probe).
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 15000 + Math.floor(Math.random() * 17000);
    if (claimPort(port) && (await canListen(port))) return port;
  }
  throw new Error('no free port found in 15000-32000');
}

const CLAIMS = path.join(tmpdir(), 'omniaffect-port-claims');

/** Claims `port` for this process; false when a live process holds the claim. A dead holder's claim is taken over. */
export function claimPort(port: number, dir = CLAIMS): boolean {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(readFileSync(file, 'utf8').trim());
    if (holder === process.pid) return false; // already ours: handed out before, not free again
    if (Number.isInteger(holder) && holder > 0 && isRunning(holder)) return false;
    try {
      unlinkSync(file);
    } catch {
      /* another process took it over first */
    }
  }
  return false;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function randomPorts(): Promise<StackPorts> {
  const ops = {} as StackPorts['ops'];
  for (const n of SERVICES) if (n !== 'gateway') ops[n] = await freePort();
  return { gateway: await freePort(), orchestratorGrpc: await freePort(), fusionGrpc: await freePort(), ops };
}

/** Local dev keys live in the state dir; printed by `up`, never committed. */
export function localApiKey(stateDir: string): { key: string; file: string } {
  const file = path.join(stateDir, 'api-key');
  if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), file };
  mkdirSync(stateDir, { recursive: true });
  const key = `oa_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, file };
}

/** A fresh internal gRPC token (see OMNIAFFECT_SERVICE_TOKEN in packages/core/src/config.ts). */
export function newServiceToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The local stack's gRPC service token, kept in the state dir beside the API key so that a service
 * restarted later (`omniaffect up` again, a fault test's restart) still talks to the running ones.
 */
export function localServiceToken(stateDir: string): string {
  const file = path.join(stateDir, 'service-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(stateDir, { recursive: true });
  const token = newServiceToken();
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

export function localCallbackSecret(stateDir: string): string {
  const file = path.join(stateDir, 'callback-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(stateDir, { recursive: true });
  const s = newWebhookSecret();
  writeFileSync(file, `${s}\n`, { mode: 0o600 });
  return s;
}

export class Stack {
  readonly handles = new Map<ServiceName, ServiceHandle>();
  readonly opts: StackOptions;
  constructor(opts: StackOptions) {
    // Every stack authenticates its internal gRPC calls. A caller that brings no token (a test
    // fixture, a script) gets one per Stack, shared by all its services and by restarts of them;
    // two stacks side by side cannot call into each other.
    const insecure = ['true', '1', 'yes'].includes(opts.env.OMNIAFFECT_INSECURE_GRPC ?? '');
    this.opts = opts.env.OMNIAFFECT_SERVICE_TOKEN || insecure ? opts : { ...opts, env: { ...opts.env, OMNIAFFECT_SERVICE_TOKEN: newServiceToken() } };
  }

  async start(timeoutMs = 120_000, detached = false): Promise<void> {
    for (const name of SERVICES) await this.startOne(name, timeoutMs, detached);
    // A service that died after its own probe passed (while later ones started) fails the start too.
    const dead = this.exited();
    if (dead.length) throw new Error(`${dead.map((h) => h.name).join(', ')} exited after starting (see the logs in ${this.opts.logDir})`);
  }

  async startOne(name: ServiceName, timeoutMs = 120_000, detached = false): Promise<void> {
    const h = startService(name, this.opts, detached);
    this.handles.set(name, h);
    await waitReady(name, this.opts.ports, timeoutMs, () => !hasExited(h.child), h.pid);
  }

  /** The services whose processes have ended. */
  exited(): ServiceHandle[] {
    return [...this.handles.values()].filter((h) => hasExited(h.child));
  }

  kill(name: ServiceName, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const h = this.handles.get(name);
    if (!h || hasExited(h.child)) return Promise.resolve();
    return new Promise((resolve) => {
      h.child.once('exit', () => resolve());
      h.child.kill(signal);
    });
  }

  async stop(graceMs = 15_000): Promise<void> {
    for (const name of [...SERVICES].reverse()) {
      const h = this.handles.get(name);
      if (!h || hasExited(h.child)) continue;
      const exited = new Promise<void>((r) => h.child.once('exit', () => r()));
      h.child.kill('SIGTERM');
      const t = setTimeout(() => h.child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    }
  }

  get gatewayUrl(): string {
    return `http://127.0.0.1:${this.opts.ports.gateway}`;
  }
}
