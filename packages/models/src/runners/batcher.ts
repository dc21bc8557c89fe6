export interface DynamicBatcherOptions<I, O> {
  /** Largest batch handed to `run`; a full batch is dispatched at once. */
  maxBatch: number;
  /** How long the first queued item may wait for company before a partial batch is dispatched. */
  maxWaitMs: number;
  /** Runs one batch; must return exactly one output per item, in order. */
  run: (items: I[]) => Promise<O[]> | O[];
}

export interface BatcherCounters {
  batches: number;
  items: number;
  lastBatchSize: number;
  failedBatches: number;
}

interface Pending<I, O> {
  item: I;
  queuedAt: number;
  resolve: (value: O) => void;
  reject: (reason: unknown) => void;
}

/**
 * Collects submissions from concurrent jobs into batches (up to `maxBatch` items or `maxWaitMs`),
 * so one model run serves several callers. Batches run one at a time: the model behind `run`
 * is synchronous inside ORT, so overlapping runs would only queue inside the native code.
 */
export class DynamicBatcher<I, O> {
  readonly counters: BatcherCounters = { batches: 0, items: 0, lastBatchSize: 0, failedBatches: 0 };
  private readonly queue: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(private readonly options: DynamicBatcherOptions<I, O>) {
    if (!Number.isInteger(options.maxBatch) || options.maxBatch < 1) {
      throw new RangeError(`DynamicBatcher: maxBatch must be a positive integer, got ${options.maxBatch}`);
    }
    if (!(options.maxWaitMs >= 0)) {
      throw new RangeError(`DynamicBatcher: maxWaitMs must be >= 0, got ${options.maxWaitMs}`);
    }
  }

  /** Items waiting for a batch (not counting the batch in flight). */
  get pending(): number {
    return this.queue.length;
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, queuedAt: Date.now(), resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.queue.length >= this.options.maxBatch) {
      this.clearTimer();
      void this.dispatch();
    } else if (!this.timer) {
      // Measured from the oldest item, so items that queued behind a running batch do not wait twice.
      const waited = Date.now() - this.queue[0]!.queuedAt;
      this.timer = setTimeout(
        () => {
          this.timer = null;
          void this.dispatch();
        },
        Math.max(0, this.options.maxWaitMs - waited),
      );
    }
  }

  private clearTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private async dispatch(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const batch = this.queue.splice(0, this.options.maxBatch);
    this.counters.batches += 1;
    this.counters.items += batch.length;
    this.counters.lastBatchSize = batch.length;
    try {
      const outputs = await this.options.run(batch.map((p) => p.item));
      if (!Array.isArray(outputs) || outputs.length !== batch.length) {
        throw new Error(`DynamicBatcher: run returned ${Array.isArray(outputs) ? outputs.length : typeof outputs} outputs for ${batch.length} items`);
      }
      batch.forEach((p, i) => p.resolve(outputs[i] as O));
    } catch (err) {
      this.counters.failedBatches += 1;
      for (const p of batch) p.reject(err);
    } finally {
      this.running = false;
      // Items that arrived while the batch ran: a full batch goes now, a partial one waits its turn.
      this.schedule();
    }
  }
}
