import { Worker, isMainThread, parentPort, type TransferListItem } from 'node:worker_threads';

/**
 * onnxruntime-node's run() blocks the JS thread, so each model worker keeps its sessions in a
 * worker_thread and talks to it with this minimal request/response protocol. The event loop of the
 * service (BullMQ lock renewal, /metrics, health) stays responsive during inference.
 */
interface Request {
  id: number;
  method: string;
  args: unknown[];
}
interface Response {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { message: string; name: string; stack?: string };
}

export class ThreadClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exitError: Error | null = null;

  constructor(private readonly worker: Worker) {
    worker.on('message', (m: Response) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else {
        const e = new Error(m.error?.message ?? 'thread error');
        e.name = m.error?.name ?? 'Error';
        e.stack = m.error?.stack;
        p.reject(e);
      }
    });
    const failAll = (err: Error) => {
      this.exitError = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(this.exitError ?? new Error(`inference thread exited with code ${code}`)));
  }

  static start(file: string, workerData: unknown): ThreadClient {
    return new ThreadClient(new Worker(file, { workerData }));
  }

  /** Set once the thread has died; the owner should stop taking work (see onExit). */
  get dead(): Error | null {
    return this.exitError;
  }

  /** Called when the thread dies on its own (not after close()). */
  onExit(fn: (err: Error) => void): void {
    this.worker.on('exit', (code) => {
      if (!this.closing) fn(this.exitError ?? new Error(`inference thread exited with code ${code}`));
    });
  }

  private closing = false;

  /**
   * A call that outlives `timeoutMs` (a hung ONNX Runtime/CUDA run) terminates the thread: its
   * native state is unknown, so the whole thread goes and every pending call fails.
   */
  call<T>(method: string, args: unknown[] = [], transfer: TransferListItem[] = [], timeoutMs = this.defaultTimeoutMs): Promise<T> {
    if (this.exitError) return Promise.reject(this.exitError);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.exitError = new Error(`inference call ${method} exceeded ${timeoutMs} ms; thread terminated`);
              void this.worker.terminate();
            }, timeoutMs)
          : null;
      timer?.unref();
      const done =
        <F extends (v: never) => void>(f: F) =>
        (v: never) => {
          if (timer) clearTimeout(timer);
          f(v);
        };
      this.pending.set(id, {
        resolve: done(resolve as (v: never) => void) as (v: unknown) => void,
        reject: done(reject as (v: never) => void) as (e: Error) => void,
      });
      this.worker.postMessage({ id, method, args } satisfies Request, transfer);
    });
  }

  /** 0 = no limit. */
  defaultTimeoutMs = 0;

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}

/**
 * A thread method's result whose buffers move to the caller instead of being copied. A model
 * thread's outputs are garbage in the thread once sent; copied, they pile up there, since the
 * thread allocates too little on its own heap for V8 to collect them soon (fusion: ~25 MB for a
 * 2-hour video's timeline).
 */
export class Transferred<T> {
  constructor(
    readonly value: T,
    readonly transfer: TransferListItem[],
  ) {}
}

/** The distinct buffers under some typed arrays: a transfer list for them (several may share one). */
export function buffersOf(arrays: Iterable<{ data: ArrayBufferView }>): ArrayBuffer[] {
  return [...new Set([...arrays].map((a) => a.data.buffer as ArrayBuffer))];
}

/** Thread side: serve the methods of `impl` (awaited one message at a time, in order). */
export function serveThread(impl: Record<string, (...args: never[]) => unknown>): void {
  if (isMainThread || !parentPort) throw new Error('serveThread must run inside a worker_thread');
  const port = parentPort;
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (req: Request) => {
    chain = chain.then(async () => {
      try {
        const fn = impl[req.method];
        if (!fn) throw new Error(`unknown method ${req.method}`);
        const value = await (fn as (...a: unknown[]) => unknown)(...req.args);
        if (value instanceof Transferred) port.postMessage({ id: req.id, ok: true, value: value.value } satisfies Response, value.transfer);
        else port.postMessage({ id: req.id, ok: true, value } satisfies Response);
      } catch (err) {
        const e = err as Error;
        port.postMessage({
          id: req.id,
          ok: false,
          error: { message: e?.message ?? String(err), name: e?.name ?? 'Error', stack: e?.stack },
        } satisfies Response);
      }
    });
  });
}
