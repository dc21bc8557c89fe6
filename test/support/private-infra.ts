import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { freePort, hasExited } from '@omniaffect/cli';

/**
 * A Redis and a PostgreSQL of a test's own, for tests that restart them: the machine's shared Redis
 * and PostgreSQL serve every other test file at the same time and must never be restarted. Both live
 * in temp dirs on random loopback ports and are removed with the test.
 */

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function ping(port: number, payload: string, expect: RegExp, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean) => {
      clearTimeout(t);
      sock.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    sock.on('connect', () => sock.write(payload));
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (expect.test(buf)) done(true);
    });
    sock.on('error', () => done(false));
  });
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** SIGTERM (Redis writes its AOF and exits), then a fresh process on the same port and data dir after `downMs`. */
  restart(downMs: number): Promise<{ downAt: number; upAt: number }>;
  stop(): Promise<void>;
}

export async function startPrivateRedis(dir: string): Promise<PrivateRedis> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
        '--maxmemory-policy',
        'noeviction',
        '--daemonize',
        'no',
        '--logfile',
        path.join(dir, 'redis.log'),
      ],
      {
        stdio: 'ignore',
      },
    );
    for (let i = 0; i < 100; i++) {
      if (await ping(port, 'PING\r\n', /\+PONG/)) return;
      if (child.exitCode !== null) break;
      await sleep(100);
    }
    throw new Error(`private redis-server on ${port} did not start (see ${dir}/redis.log)`);
  };
  const stop = async () => {
    const c = child;
    if (!c || hasExited(c)) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart(downMs) {
      await stop();
      const downAt = Date.now();
      await sleep(downMs);
      await start();
      return { downAt, upAt: Date.now() };
    },
    stop,
  };
}

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/<db> */
  url(db: string): string;
  port: number;
  /** `pg_ctl stop -m immediate` (a crash: no checkpoint), then start again after `downMs`. */
  restart(downMs: number): Promise<{ downAt: number; upAt: number }>;
  stop(): Promise<void>;
}

function pgBin(name: string): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const p = path.join(root, v, 'bin', name);
      if (existsSync(p)) return p;
    }
  }
  return name; // on PATH
}

/** PostgreSQL refuses to run as root: as root, run the cluster as the `postgres` system user. */
function pgUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

export async function startPrivatePostgres(dir: string): Promise<PrivatePostgres> {
  const port = await freePort();
  const user = pgUser();
  const data = path.join(dir, 'data');
  mkdirSync(data, { recursive: true });
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chownSync(data, user.uid, user.gid);
  }
  const as = user ? { uid: user.uid, gid: user.gid } : {};
  // async: the test process also hosts the webhook receiver, which must keep answering meanwhile
  const run = (bin: string, args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const c = spawn(pgBin(bin), args, { ...as, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d));
      c.stderr.on('data', (d: Buffer) => (out += d));
      const t = setTimeout(() => c.kill('SIGKILL'), 120_000);
      c.on('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
      c.on('close', (code) => {
        clearTimeout(t);
        if (code === 0) resolve();
        else reject(new Error(`${bin} ${args.join(' ')} failed (${code}): ${out.slice(-2000)}`));
      });
    });
  await run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB`;
  const start = () => run('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'postgres.log'), '-w', '-t', '60', 'start']);
  const stop = async (mode: 'fast' | 'immediate') => {
    if (existsSync(path.join(data, 'postmaster.pid'))) await run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
  };
  await start();
  return {
    url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    port,
    async restart(downMs) {
      await stop('immediate');
      const downAt = Date.now();
      await sleep(downMs);
      await start();
      return { downAt, upAt: Date.now() };
    },
    stop: () => stop('fast'),
  };
}
