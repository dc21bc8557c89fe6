import { ProblemError, type MediaDocument } from '@omniaffect/core';
import type { Request, Response } from 'express';
import type { GatewayContext } from './context';
import { verifyLink, type LinkedRoute } from './media-link';
import { enforceRateLimit } from './rate-limit';

/**
 * A request KeyOrSignedLink let through without a key: its link must be valid for this route and
 * video, and then the video's owner stands for the key, the owner's rate limit included. Every way a
 * link can be wrong gets one answer, so a guesser learns nothing about which part failed.
 */
export async function acceptSignedLink(ctx: GatewayContext, route: LinkedRoute, videoId: string, req: Request, res: Response): Promise<MediaDocument> {
  if (!verifyLink(route, videoId, req.query.exp, req.query.sig, ctx.mediaLinkSecret)) {
    throw new ProblemError('unauthorized', `the ${route} link is not valid or has expired`);
  }
  const info = await ctx.orchestrator.media('', videoId, true);
  await enforceRateLimit(ctx, info.owner, req, res);
  return info;
}
