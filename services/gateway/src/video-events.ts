import { ProblemError } from '@omniaffect/core';
import type { Request, Response } from 'express';
import type { GatewayContext } from './context';

const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

/** Open event streams, so shutdown can end them instead of waiting for their clients to leave. */
export const openStreams = new Set<Response>();

/**
 * text/event-stream of a video's status. The orchestrator is polled (it owns the state and the gateway
 * holds no subscription to it), so every replica can serve any stream. The first Get happens before
 * the headers, so an unknown video is a plain 404 problem.
 */
export async function streamVideoEvents(ctx: GatewayContext, owner: string, id: string, req: Request, res: Response): Promise<void> {
  let video = await ctx.orchestrator.get(owner, id);
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  openStreams.add(res);

  let closed = false;
  let seq = 0;
  const stop = () => {
    closed = true;
    openStreams.delete(res);
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
      if (TERMINAL.has(video.status) || closed) break;
      await sleep(ctx.ssePollMs);
      if (closed) break;
      try {
        video = await ctx.orchestrator.get(owner, id);
      } catch (err) {
        // A short orchestrator outage should not drop every open stream; anything else ends it.
        if (err instanceof ProblemError && err.slug === 'unavailable') continue;
        send('error', err instanceof ProblemError ? err.toDocument(req.originalUrl) : { title: 'Internal error' });
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

