import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import * as path from 'node:path';
import { ToolError, ToolRunState, notStarted, runTool, signalName, type Logger, type ToolResult, type ToolRunner } from '@omniaffect/core';

/**
 * The LD_PRELOAD library that turns ffmpeg and ffprobe into fork servers (native/forkserver.c, built by
 * native/build.sh during `pnpm install` / `pnpm build`).
 */
export const FORKSERVER_LIB = path.resolve(__dirname, '../../native/build/ffmpeg-forkserver.so');

/** Tools the media worker runs through a fork server; anything else is spawned. */
export const FORKED_TOOLS = ['ffmpeg', 'ffprobe'] as const;

/** How long a server may take to load its libraries and say it is ready (~0.1 s on an idle machine). */
const READY_TIMEOUT_MS = 15_000;

/**
 * What a forked run would otherwise pay again in every process, measured on a 4 s clip (probe + decode,
 * ~95 → ~60 ms of CPU):
 * - LD_BIND_NOW: the server resolves every symbol once; lazily bound calls would be resolved anew in
 *   each run, through ~215 libraries.
 * - malloc (glibc tunables): allocations up to 32 MiB come from a heap that grows 32 MiB at a time on
 *   transparent huge pages, instead of fresh 4 KiB-faulted mmaps for every frame buffer over 128 KiB. One
 *   arena: with one per decoder thread, each growing 32 MiB at a time, a long file's multi-threaded
 *   decode peaked at 168 MiB instead of 70 (74 with one arena; its CPU time unchanged). A run's heap is
 *   its own (fork). Outputs are unchanged (the parity test compares them with spawned ffmpeg's, byte for
 *   byte).
 */
const RUN_ENV = {
  LD_BIND_NOW: '1',
  GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.top_pad=33554432:glibc.malloc.arena_max=1',
};

/**
 * Runs one server forks before it is retired: every run of a server shares its address layout (a fork
 * cannot renew it), so this bounds how many files see one layout. A new server costs ~0.1 s of CPU.
 */
export const MAX_RUNS_PER_SERVER = 200;

/** A run that died of one of these may have been a decoder crash a file caused: its server is retired. */
const CRASH_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGABRT', 'SIGFPE', 'SIGSYS', 'SIGTRAP']);

/** How long a server may leave a kill request unanswered before it is killed itself. */
const KILL_ANSWER_MS = 5_000;

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n as number, name]));

/**
 * One ffmpeg (or ffprobe) process, started once with native/forkserver.c preloaded, that forks a process
 * per run and calls the binary's own main() in it: the run is exactly the tool a spawn would run, minus
 * the ~100 ms of CPU it takes to load the ~215 libraries Debian's build links. The wire format is in
 * forkserver.c. A run settles like runTool's (ToolRunState): timeouts, aborts and the stdout cap kill
 * the run's own process, never the server.
 */
export class ForkServer {
  private readonly runs = new Map<number, ToolRunState>();
  private nextId = 1;
  private started = 0;
  private retiring = false;
  private pending: Buffer = Buffer.alloc(0);
  private exited = false;
  private exitWhy = '';
  private stderrTail = '';

  private constructor(
    readonly cmd: string,
    private readonly child: ChildProcess,
    private readonly maxRuns: number,
    private readonly killAnswerMs: number,
  ) {}

  /** Starts `cmd` as a fork server and waits until its libraries are loaded. */
  static start(cmd: string, lib = FORKSERVER_LIB, opts: { readyTimeoutMs?: number; maxRuns?: number; killAnswerMs?: number } = {}): Promise<ForkServer> {
    const readyTimeoutMs = opts.readyTimeoutMs ?? READY_TIMEOUT_MS;
    if (!existsSync(lib)) return Promise.reject(new Error(`the fork server library ${lib} is not built (services/media/native/build.sh)`));
    // LD_PRELOAD splits on spaces and colons: a path holding one would preload pieces of it
    if (/[\s:]/.test(lib)) return Promise.reject(new Error(`the fork server library's path cannot be preloaded (it holds a space or a colon): ${lib}`));
    const preload = [lib, process.env.LD_PRELOAD].filter(Boolean).join(' ');
    const env = { ...process.env, LD_PRELOAD: preload, OMNIAFFECT_FORKSERVER: '1', ...RUN_ENV };
    // an operator's own malloc tuning wins
    if (process.env.GLIBC_TUNABLES) env.GLIBC_TUNABLES = process.env.GLIBC_TUNABLES;
    const child = spawn(cmd, [], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const server = new ForkServer(cmd, child, opts.maxRuns ?? MAX_RUNS_PER_SERVER, opts.killAnswerMs ?? KILL_ANSWER_MS);
    return new Promise((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the ${cmd} fork server did not start within ${readyTimeoutMs} ms`));
      }, readyTimeoutMs);
      server.onReady = () => {
        ready = true;
        clearTimeout(timer);
        resolve(server);
      };
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        server.serverGone(`it could not be started: ${err.code ?? err.message}`);
        if (!ready)
          reject(new Error(`the ${cmd} fork server could not be started: ${err.code === 'ENOENT' ? `${cmd} not found on PATH` : (err.code ?? err.message)}`));
      });
      // 'close', not 'exit': the server's last events may still be in its stdout when it exits
      child.on('close', (code, sig) => {
        clearTimeout(timer);
        const how = sig ? `killed by ${sig}` : `exit ${code}`;
        // A binary that ignored the preload (or could not load it) runs as itself: no arguments, usage, exit 1.
        if (!ready)
          reject(new Error(`the ${cmd} fork server stopped before it was ready (${how}): ${server.stderrTail.trim().split('\n').slice(-1)[0] ?? ''}`));
        server.serverGone(how);
      });
      child.stdout!.on('data', (d: Buffer) => server.onEvents(d));
      child.stderr!.on('data', (d: Buffer) => {
        server.stderrTail = (server.stderrTail + d.toString()).slice(-4096);
      });
      // The worker's own exit closes the server's input, which ends the server and every run (forkserver.c).
      child.stdin!.on('error', () => undefined);
    });
  }

  private onReady: () => void = () => undefined;

  get alive(): boolean {
    return !this.exited;
  }

  /** Alive and taking new runs: not retired (too many runs, or a run that crashed). */
  get usable(): boolean {
    return !this.exited && !this.retiring;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Runs the tool with `args` in a fresh process forked from the server. */
  readonly run = (args: string[], timeoutMs: number, maxStdoutBytes = 1024 * 1024, signal?: AbortSignal): Promise<ToolResult> =>
    new Promise((resolve, reject) => {
      const cmd = this.cmd;
      if (signal?.aborted) return reject(notStarted(cmd));
      if (this.exited) return reject(new ToolError(`the ${cmd} fork server is gone (${this.exitWhy})`, 'spawn'));
      const id = this.nextId;
      this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
      const state = new ToolRunState(cmd, timeoutMs, maxStdoutBytes, signal, () => this.kill(id), resolve, reject);
      this.runs.set(id, state);
      if (++this.started >= this.maxRuns) this.retire();
      const argv = Buffer.from([cmd, ...args].map((a) => `${a}\0`).join(''), 'utf8');
      this.send('R', id, argv);
    });

  /** Ends the server; its runs are killed with it. */
  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('close', () => r()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  }

  /**
   * Takes no new runs, and ends once the ones it has are over (the caller starts another server). A
   * server is retired after MAX_RUNS_PER_SERVER runs and after a run that died of a crash signal.
   */
  retire(): void {
    this.retiring = true;
    if (this.runs.size === 0) void this.close();
  }

  /**
   * SIGKILLs a run (and its process group) through the server. A server that does not answer within
   * KILL_ANSWER_MS (stopped by a run that got its hands on the uid, say) is killed itself: its runs die
   * with it (PR_SET_PDEATHSIG) and fail as retryable.
   */
  private kill(id: number): void {
    this.send('K', id);
    setTimeout(() => {
      if (this.runs.has(id) && !this.exited) this.child.kill('SIGKILL');
    }, this.killAnswerMs).unref();
  }

  private send(type: 'R' | 'K', id: number, payload: Buffer = Buffer.alloc(0)): void {
    if (this.exited) return;
    const head = Buffer.alloc(9);
    head.write(type, 0, 'latin1');
    head.writeUInt32LE(id, 1);
    head.writeUInt32LE(payload.length, 5);
    this.child.stdin!.write(payload.length ? Buffer.concat([head, payload]) : head);
  }

  private onEvents(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= 9) {
      const len = buf.readUInt32LE(5);
      if (buf.length < 9 + len) break;
      const type = String.fromCharCode(buf[0]!);
      const id = buf.readUInt32LE(1);
      const payload = buf.subarray(9, 9 + len);
      buf = buf.subarray(9 + len);
      this.onEvent(type, id, payload);
    }
    // keep only what is left, not the whole chunk it was cut from
    this.pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  }

  private onEvent(type: string, id: number, payload: Buffer): void {
    if (type === 'H') return this.onReady();
    const run = this.runs.get(id);
    if (!run) return;
    if (type === 'O') run.stdoutData(payload);
    else if (type === 'E') run.stderrData(payload);
    else if (type === 'X') {
      this.runs.delete(id);
      const status = payload.readInt32LE(0);
      const sig = status & 0x7f;
      const killedBy = sig === 0 ? null : signalName(sig);
      if (killedBy && CRASH_SIGNALS.has(killedBy)) this.retiring = true;
      run.closed(sig === 0 ? (status >> 8) & 0xff : null, killedBy);
    } else if (type === 'F') {
      this.runs.delete(id);
      const errno = payload.readInt32LE(0);
      run.failed(new ToolError(`${this.cmd} could not be started by its fork server: ${ERRNO_NAMES.get(errno) ?? errno}`, 'spawn'));
    }
    if (this.retiring && this.runs.size === 0) void this.close();
  }

  /** The server is gone: its runs died with it (PR_SET_PDEATHSIG), which is the machine's fault, not the file's. */
  private serverGone(why: string): void {
    if (this.exited) return;
    this.exited = true;
    this.exitWhy = why;
    for (const run of this.runs.values()) run.failed(new ToolError(`the ${this.cmd} fork server exited (${why}) during the run`, 'signal'));
    this.runs.clear();
  }
}

export type ForkServerMode = 'auto' | 'on' | 'off';

/** After a server failed to start, `auto` spawns for this long before it tries again. */
const RETRY_START_AFTER_MS = 60_000;

/**
 * The media worker's ToolRunner: ffmpeg and ffprobe through their fork servers, started at boot and
 * restarted on the next run after one dies. `on` makes a server that cannot start an error (at boot: the
 * worker does not start; later: the run fails with a retryable ToolError); `auto` falls back to a spawn
 * per run, logged, and tries the server again a minute later; `off` always spawns.
 */
export class MediaTools {
  private readonly servers = new Map<string, ForkServer>();
  private readonly starting = new Map<string, Promise<ForkServer | null>>();
  private readonly retryAt = new Map<string, number>();
  private readonly retired = new Set<ForkServer>();
  private closed = false;

  private constructor(
    private readonly mode: ForkServerMode,
    private readonly log: Pick<Logger, 'info' | 'warn'>,
    private readonly lib: string,
  ) {}

  static async start(mode: ForkServerMode, log: Pick<Logger, 'info' | 'warn'>, lib = FORKSERVER_LIB): Promise<MediaTools> {
    const tools = new MediaTools(mode, log, lib);
    if (mode === 'off') return tools;
    if (mode === 'on' && !existsSync(lib))
      throw new Error(
        `MEDIA_FORKSERVER=on but ${lib} is not built: run \`bash services/media/native/build.sh\` (needs a C compiler), or set MEDIA_FORKSERVER=auto`,
      );
    const started = await Promise.all(FORKED_TOOLS.map((cmd) => tools.server(cmd, mode === 'on')));
    if (started.every(Boolean)) log.info({ tools: FORKED_TOOLS }, 'ffmpeg and ffprobe run through fork servers');
    return tools;
  }

  readonly run: ToolRunner = async (cmd, args, timeoutMs, maxStdoutBytes, signal) => {
    if (this.mode === 'off' || !(FORKED_TOOLS as readonly string[]).includes(cmd)) return runTool(cmd, args, timeoutMs, maxStdoutBytes, signal);
    const server = await this.server(cmd, false);
    if (server) return server.run(args, timeoutMs, maxStdoutBytes, signal);
    if (this.mode === 'on') throw new ToolError(`the ${cmd} fork server could not be started (MEDIA_FORKSERVER=on)`, 'spawn');
    return runTool(cmd, args, timeoutMs, maxStdoutBytes, signal);
  };

  /** The live server for `cmd`, started (once, however many runs ask at the same time) if there is none. */
  private server(cmd: string, throwOnFailure: boolean): Promise<ForkServer | null> {
    const live = this.servers.get(cmd);
    if (live?.usable) return Promise.resolve(live);
    if (this.closed) return Promise.resolve(null);
    if (!throwOnFailure && Date.now() < (this.retryAt.get(cmd) ?? 0)) return Promise.resolve(null);
    const inFlight = this.starting.get(cmd);
    if (inFlight) return inFlight;
    if (live?.alive) this.log.info({ tool: cmd }, 'the fork server is retired (run limit, or a run that crashed); starting a new one');
    else if (live) this.log.warn({ tool: cmd }, 'the fork server exited; starting a new one');
    // a retired server still finishing its runs is closed with the rest at shutdown
    for (const old of this.retired) if (!old.alive) this.retired.delete(old);
    if (live?.alive) this.retired.add(live);
    const start = ForkServer.start(cmd, this.lib).then(
      (s) => {
        this.servers.set(cmd, s);
        if (this.closed) void s.close();
        return s;
      },
      (err: Error) => {
        if (throwOnFailure) throw err;
        this.retryAt.set(cmd, Date.now() + RETRY_START_AFTER_MS);
        this.log.warn({ tool: cmd, err: err.message }, `${cmd} runs are spawned one process each (slower) for the next minute`);
        return null;
      },
    );
    this.starting.set(cmd, start);
    void start.finally(() => this.starting.delete(cmd)).catch(() => undefined);
    return start;
  }

  /** Pids of the live servers (the tests watch them and their runs). */
  get serverPids(): number[] {
    return [...this.servers.values()].filter((s) => s.alive && s.pid !== undefined).map((s) => s.pid!);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.servers.values(), ...this.retired].map((s) => s.close()));
  }
}
