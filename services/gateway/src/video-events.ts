import { ProblemError, isTerminalVideoStatus, problemDocument, type VideoDocument } from '@omniaffect/core';
import type { Request, Response } from 'express';
import type { GatewayContext } from './context';
import { publicProblem } from './problem.filter';

/** Open event streams, so shutdown can end them instead of waiting for their clients to leave. */
export const openStreams = new Set<Response>();

/** A client refused a stream slot is told to come back after this long; streams last minutes. */
const STREAM_RETRY_AFTER_S = 10;

/**
 * Caps on open event streams, per API key and in total, on this replica. Each stream holds a socket
 * and polls the orchestrator, so the cost being bounded is this process's; per replica is the right
 * scope, and it needs no shared state that a crashed replica could leave claimed.
 */
export class StreamSlots {
  private readonly perOwner = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly maxPerOwner: number,
    private readonly maxTotal: number,
  ) {}

  get open(): number {
    return this.total;
  }

  /** A release function (idempotent), or a 429 'rate-limited' ProblemError when a cap is reached. */
  acquire(owner: string): () => void {
    const mine = this.perOwner.get(owner) ?? 0;
    if (this.maxTotal > 0 && this.total >= this.maxTotal) {
      throw new ProblemError('rate-limited', 'this gateway has as many event streams open as it allows; retry later', {
        limit: this.maxTotal,
        bucket: 'event-streams',
      });
    }
    if (this.maxPerOwner > 0 && mine >= this.maxPerOwner) {
      throw new ProblemError('rate-limited', `at most ${this.maxPerOwner} open event streams per API key; close one first`, {
        limit: this.maxPerOwner,
        bucket: 'event-streams-per-key',
      });
    }
    this.perOwner.set(owner, mine + 1);
    this.total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.perOwner.get(owner) ?? 1) - 1;
      if (left > 0) this.perOwner.set(owner, left);
      else this.perOwner.delete(owner);
    };
  }
}

/**
 * text/event-stream of a video's status. The orchestrator is polled (it owns the state and the gateway
 * holds no subscription to it), so every replica can serve any stream. The first Get happens before
 * the headers, so an unknown video is a plain 404 problem.
 */
export async function streamVideoEvents(ctx: GatewayContext, owner: string, id: string, req: Request, res: Response): Promise<void> {
  let release: () => void;
  try {
    release = ctx.streams.acquire(owner);
  } catch (err) {
    res.setHeader('Retry-After', String(STREAM_RETRY_AFTER_S));
    throw err;
  }
  let video: VideoDocument;
  try {
    video = await ctx.orchestrator.get(owner, id);
  } catch (err) {
    release();
    throw err;
  }
  // A client gone during that first Get fired its 'close' before anyone listened for it.
  if (res.destroyed || req.socket.destroyed) {
    release();
    return;
  }
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  openStreams.add(res);

  let closed = false;
  let seq = 0;
  // The slot is freed the moment the client goes, not when the poll loop next wakes up.
  const stop = () => {
    closed = true;
    openStreams.delete(res);
    release();
  };
  req.on('close', stop);
  res.on('close', stop);

  const send = (event: string, data: unknown) => {
    seq += 1;
    res.write(`event: ${event}\nid: ${seq}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const heartbeat = setInterval(() => {
    if (!closed) res.write(': keep-alive\n\n');
  }, ctx.sseHeartbeatMs);
  heartbeat.unref();

  res.write('retry: 3000\n\n');
  let last = '';
  try {
    for (;;) {
      const snapshot = JSON.stringify(video);
      if (snapshot !== last) {
        last = snapshot;
        send('status', video);
      }
      if (isTerminalVideoStatus(video.status) || closed) break;
      await sleep(ctx.ssePollMs);
      if (closed) break;
      try {
        video = await ctx.orchestrator.get(owner, id);
      } catch (err) {
        // A short orchestrator outage should not drop every open stream; anything else ends it.
        if (err instanceof ProblemError && err.slug === 'unavailable') continue;
        // Same rule as the problem filter: a 5xx detail is internal text and stays in the log.
        const instance = req.originalUrl.split('?')[0];
        const doc = err instanceof ProblemError ? err.toDocument(instance) : problemDocument('internal', (err as Error)?.message, instance);
        if (doc.status >= 500) ctx.log.error({ err, reqId: req.headers['x-request-id'], videoId: id, detail: doc.detail }, 'event stream failed');
        send('error', publicProblem(doc, String(req.headers['x-request-id'] ?? '')));
        break;
      }
    }
  } finally {
    clearInterval(heartbeat);
    stop();
    if (!res.writableEnded) res.end();
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());
