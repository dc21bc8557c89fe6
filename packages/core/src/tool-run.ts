import { spawn } from 'node:child_process';

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

const STDERR_KEEP = 64 * 1024;

/**
 * The one spawn wrapper for external tools (ffprobe/ffmpeg in the media worker, ffmpeg in the synthetic
 * dataset generator). Resolves with the exit code only when the tool exited by
 * itself; everything that says nothing about the input (binary missing, our timeout, a signal from
 * outside such as the OOM killer or a pod shutdown) rejects with a ToolError, so it is retried instead
 * of being reported to the user as bad media. It waits for 'close' in every case, so no child is still
 * writing to a path the caller is about to remove. `signal` lets the caller stop a run it no longer
 * wants (SIGKILL; rejects with a ToolError whose reason is 'aborted', once the child has closed).
 */
export function runTool(
  cmd: string,
  args: string[],
  timeoutMs: number,
  maxStdoutBytes = 1024 * 1024,
  signal?: AbortSignal,
): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ToolError(`${cmd} was not started: the caller stopped it`, 'aborted'));
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let timedOut = false;
    let overflow = false;
    let spawnError: NodeJS.ErrnoException | null = null;
    child.stdout.on('data', (d: Buffer) => {
      if (overflow) return;
      outBytes += d.length;
      if (outBytes > maxStdoutBytes) {
        overflow = true;
        out.length = 0;
        child.kill('SIGKILL');
      } else out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      // the last lines say why ffmpeg stopped; a chatty decoder must not push them out or grow memory
      stderr += d.toString();
      if (stderr.length > STDERR_KEEP) stderr = stderr.slice(-STDERR_KEEP / 2);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      // 'close' may or may not follow a spawn failure; settle here and let a later 'close' be a no-op
      spawnError = err;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      reject(
        err.code === 'ENOENT'
          ? new ToolError(`${cmd} not found on PATH: install ffmpeg (Debian: apt-get install -y ffmpeg)`, 'not-found')
          : new ToolError(`${cmd} could not be started: ${err.code ?? err.message}`, 'spawn'),
      );
    });
    child.on('close', (code, killedBy) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (spawnError) return;
      if (aborted) return reject(new ToolError(`${cmd} was stopped by the caller`, 'aborted'));
      if (overflow) return reject(new OutputLimitError(maxStdoutBytes));
      if (timedOut) return reject(new ToolError(`${cmd} did not finish within ${timeoutMs} ms and was killed`, 'timeout'));
      if (code === null) {
        const hint = killedBy === 'SIGKILL' ? ' (the out-of-memory killer?)' : '';
        return reject(new ToolError(`${cmd} was killed by ${killedBy ?? 'a signal'}${hint}`, 'signal'));
      }
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr, code });
    });
  });
}
