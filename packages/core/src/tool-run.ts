import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';

/** Retryable failure of the tool itself (not of the input): BullMQ tries again, maybe on another worker. */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly reason: 'not-found' | 'spawn' | 'timeout' | 'signal' | 'system' | 'aborted',
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/** stdout grew past the cap; the child was killed. Callers decide whose fault that is. */
export class OutputLimitError extends Error {
  constructor(readonly limitBytes: number) {
    super(`output exceeded ${limitBytes} bytes`);
    this.name = 'OutputLimitError';
  }
}

export interface ToolResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * How a tool is run: runTool spawns a process per run; the media worker's fork server (services/media)
 * forks one from an already-loaded ffmpeg. Both settle the same way (ToolRunState).
 */
export type ToolRunner = (cmd: string, args: string[], timeoutMs: number, maxStdoutBytes?: number, signal?: AbortSignal) => Promise<ToolResult>;

const STDERR_KEEP = 64 * 1024;

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(osConstants.signals).map(([name, n]) => [n as number, name as NodeJS.Signals]));

/** The name of a signal number (`9` → `SIGKILL`), for a wait status read outside Node's child_process. */
export const signalName = (n: number): NodeJS.Signals | null => SIGNAL_NAMES.get(n) ?? null;

/**
 * One run of a tool, however it was started: it keeps the output (stdout up to a cap, stderr's last
 * 64 KiB), owns the deadline and the caller's abort, and turns the way the run ended into a result or an
 * error. Everything that says nothing about the input (binary missing, our timeout, a signal from outside
 * such as the OOM killer or a pod shutdown) rejects with a ToolError, so it is retried instead of being
 * reported to the user as bad media. `kill` must SIGKILL the run; `closed` must be called once the run's
 * process has exited and its output is drained, so no run is still writing to a path the caller is about
 * to remove.
 */
export class ToolRunState {
  private readonly out: Buffer[] = [];
  private outBytes = 0;
  private stderr = '';
  private timedOut = false;
  private overflow = false;
  private aborted = false;
  private settled = false;
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort = () => {
    this.aborted = true;
    this.kill();
  };

  constructor(
    private readonly cmd: string,
    private readonly timeoutMs: number,
    private readonly maxStdoutBytes: number,
    private readonly signal: AbortSignal | undefined,
    private readonly kill: () => void,
    private readonly resolve: (r: ToolResult) => void,
    private readonly reject: (err: Error) => void,
  ) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.kill();
    }, timeoutMs);
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  stdoutData(d: Buffer): void {
    if (this.overflow) return;
    this.outBytes += d.length;
    if (this.outBytes > this.maxStdoutBytes) {
      this.overflow = true;
      this.out.length = 0;
      this.kill();
    } else this.out.push(d);
  }

  stderrData(d: Buffer): void {
    // the last lines say why ffmpeg stopped; a chatty decoder must not push them out or grow memory
    this.stderr += d.toString();
    if (this.stderr.length > STDERR_KEEP) this.stderr = this.stderr.slice(-STDERR_KEEP / 2);
  }

  /** The run never started; `err` says why (a ToolError). */
  failed(err: Error): void {
    if (!this.finish()) return;
    this.reject(err);
  }

  /** The run's process exited (code) or was killed (code null, killedBy). */
  closed(code: number | null, killedBy: NodeJS.Signals | null): void {
    if (!this.finish()) return;
    const cmd = this.cmd;
    if (this.aborted) return this.reject(new ToolError(`${cmd} was stopped by the caller`, 'aborted'));
    if (this.overflow) return this.reject(new OutputLimitError(this.maxStdoutBytes));
    if (this.timedOut) return this.reject(new ToolError(`${cmd} did not finish within ${this.timeoutMs} ms and was killed`, 'timeout'));
    if (code === null) {
      const hint = killedBy === 'SIGKILL' ? ' (the out-of-memory killer?)' : '';
      return this.reject(new ToolError(`${cmd} was killed by ${killedBy ?? 'a signal'}${hint}`, 'signal'));
    }
    this.resolve({ stdout: Buffer.concat(this.out).toString('utf8'), stderr: this.stderr, code });
  }

  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
    return true;
  }
}

/** A run the caller stopped before it started. */
export const notStarted = (cmd: string) => new ToolError(`${cmd} was not started: the caller stopped it`, 'aborted');

/**
 * The one spawn wrapper for external tools (ffprobe/ffmpeg in the media worker when its fork server is
 * off, ffmpeg in the synthetic dataset generator). Resolves with the exit code only when the tool exited
 * by itself (see ToolRunState). `signal` lets the caller stop a run it no longer wants (SIGKILL; rejects
 * with a ToolError whose reason is 'aborted', once the child has closed).
 */
export const runTool: ToolRunner = (cmd, args, timeoutMs, maxStdoutBytes = 1024 * 1024, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(notStarted(cmd));
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const run = new ToolRunState(cmd, timeoutMs, maxStdoutBytes, signal, () => child.kill('SIGKILL'), resolve, reject);
    child.stdout.on('data', (d: Buffer) => run.stdoutData(d));
    child.stderr.on('data', (d: Buffer) => run.stderrData(d));
    // 'close' may or may not follow a spawn failure; the first of the two settles the run
    child.on('error', (err: NodeJS.ErrnoException) =>
      run.failed(
        err.code === 'ENOENT'
          ? new ToolError(`${cmd} not found on PATH: install ffmpeg (Debian: apt-get install -y ffmpeg)`, 'not-found')
          : new ToolError(`${cmd} could not be started: ${err.code ?? err.message}`, 'spawn'),
      ),
    );
    child.on('close', (code, killedBy) => run.closed(code, killedBy));
  });
