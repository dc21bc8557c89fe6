/**
 * Float buffers one fusion reuses: the feeds the model thread hands back after each run, and each
 * window's embeddings once the window is fused. At the encoders' real widths these are megabytes
 * each; made fresh every time, they became garbage faster than V8 collects external memory, so a
 * long video's fusion held tens of MB of spent buffers at its peak, more the longer the video. Small
 * buffers (masks) are left to the collector. One pool per fusion: nothing is shared between requests.
 */
export class FeedPool {
  private free: ArrayBuffer[] = [];

  constructor(
    private readonly minBytes = 64 * 1024,
    private readonly maxBuffers = 6,
  ) {}

  /** Zero-filled floats: the smallest pooled buffer that holds them, else a new array. */
  readonly allocate = (floats: number): Float32Array => {
    const bytes = floats * 4;
    if (bytes >= this.minBytes) {
      let best = -1;
      this.free.forEach((b, i) => {
        if (b.byteLength >= bytes && (best < 0 || b.byteLength < this.free[best]!.byteLength)) best = i;
      });
      if (best >= 0) return new Float32Array(this.free.splice(best, 1)[0]!, 0, floats).fill(0);
    }
    return new Float32Array(floats);
  };

  /** Buffers that are done with; the largest `maxBuffers` are kept. */
  give(buffers: readonly ArrayBuffer[]): void {
    for (const b of buffers) if (b.byteLength >= this.minBytes) this.free.push(b);
    if (this.free.length > this.maxBuffers) this.free = this.free.sort((a, b) => b.byteLength - a.byteLength).slice(0, this.maxBuffers);
  }

  get pooledBytes(): number {
    return this.free.reduce((a, b) => a + b.byteLength, 0);
  }
}
