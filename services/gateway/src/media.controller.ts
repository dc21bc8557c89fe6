import { promises as fs } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiQuery, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ProblemError, artifactPaths, isTerminalVideoStatus, type MediaDocument } from '@omniaffect/core';
import type { Request, Response } from 'express';
import { KeyOrSignedLink, type AuthedRequest } from './auth';
import { GATEWAY, type GatewayContext } from './context';
import { ApiProblems } from './openapi-models';
import { acceptSignedLink } from './signed-link-access';
import { routeVideoId } from './videos.controller';

/** A byte range to serve, inclusive at both ends (as Content-Range writes it). */
export type RangeChoice = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * Reads a Range header for a file of `size` bytes (RFC 9110 §14). Only one `bytes=` range is honoured: a
 * header this does not understand (another unit, several ranges, malformed) is ignored and the whole file
 * served, as the RFC allows; a range that starts past the end is unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): RangeChoice {
  if (header === undefined) return { kind: 'full' };
  const m = /^bytes=[ \t]*([0-9]{0,15})-([0-9]{0,15})[ \t]*$/.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' };
  if (m[1] === '') {
    // a suffix: the last n bytes
    const n = Number(m[2]);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? Infinity : Number(m[2]);
  if (last < start) return { kind: 'full' }; // invalid (RFC 9110 §14.1.1): ignored
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(last, size - 1) };
}

/**
 * The type the stored upload declared, when it names audio or video; anything else is served as bytes.
 * The value came from the client's multipart header: only a plain `type/subtype` is ever echoed back.
 */
export function servedContentType(declared: string | null): string {
  const base = (declared ?? '').split(';')[0].trim().toLowerCase();
  return /^(audio|video)\/[a-z0-9][a-z0-9.+-]{0,100}$/.test(base) ? base : 'application/octet-stream';
}

@ApiTags('videos')
@Controller('v1/videos')
export class MediaController {
  constructor(@Inject(GATEWAY) private readonly ctx: GatewayContext) {}

  @Get(':id/media')
  @KeyOrSignedLink()
  @ApiOperation({
    summary: 'The source media, while it is retained',
    description:
      'The uploaded (or downloaded) file as stored, with Range support (206, 416) for seeking. Either the API key, or a signed link ' +
      '`?exp=<unix seconds>&sig=<base64url HMAC-SHA256 of "<id>.<exp>">` that the gateway issues (for `<video src>` in a browser, which ' +
      'cannot send the key). After MEDIA_RETENTION_HOURS the media is erased and this answers 404 "the media is no longer retained".',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiQuery({ name: 'exp', required: false, schema: { type: 'integer' }, description: 'Signed link: expiry, unix seconds' })
  @ApiQuery({ name: 'sig', required: false, schema: { type: 'string' }, description: 'Signed link: base64url HMAC-SHA256 of "<id>.<exp>"' })
  // either scheme (decorators apply bottom-up: the key comes first in the document)
  @ApiSecurity('mediaLink')
  @ApiSecurity('apiKey')
  @ApiProduces('video/*', 'audio/*', 'application/octet-stream')
  @ApiOkResponse({ description: 'The whole file', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } })
  @ApiResponse({
    status: 206,
    description: 'The requested range (Content-Range)',
    content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
  })
  @ApiResponse({
    status: 401,
    description: 'No valid API key, and no valid signed link (expired or not signed by this gateway) (unauthorized)',
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  })
  @ApiProblems(404, 409, 410, 416, 429, 503)
  async media(@Param('id') id: string, @Req() req: AuthedRequest, @Res() res: Response): Promise<void> {
    const videoId = routeVideoId(id, res);
    let info: MediaDocument;
    if (req.owner) {
      info = await this.ctx.orchestrator.media(req.owner, videoId, false);
    } else {
      info = await acceptSignedLink(this.ctx, 'media', videoId, req, res);
    }
    if (info.mediaErasedAt) throw new ProblemError('not-found', 'the media is no longer retained');
    await this.send(info, req, res);
  }

  /**
   * Streams the file (or one range of it) from an open descriptor: retention may unlink the file while it
   * is being sent, and an open file stays readable; nothing is ever read into memory whole.
   */
  private async send(info: MediaDocument, req: Request, res: Response): Promise<void> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.ctx.store.resolve(artifactPaths.source(info.id)), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // a {url} submission's file appears once the media stage has downloaded it
      if (info.sourceKind === 'url' && !isTerminalVideoStatus(info.status)) {
        throw new ProblemError('not-ready', 'the media has not been downloaded yet', { videoStatus: info.status });
      }
      // Retention may be removing it right now: asked again, the orchestrator waits for that to commit.
      const now = await this.ctx.orchestrator.media(info.owner, info.id, false, true);
      if (now.mediaErasedAt) throw new ProblemError('not-found', 'the media is no longer retained');
      throw new ProblemError('not-found', 'no media is stored for this video');
    }
    let streaming = false;
    try {
      const { size } = await handle.stat();
      const range = parseRange(req.headers.range, size);
      res.setHeader('Accept-Ranges', 'bytes');
      res.setHeader('Cache-Control', 'private, no-store');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      if (range.kind === 'unsatisfiable') {
        res.setHeader('Content-Range', `bytes */${size}`);
        throw new ProblemError('range-not-satisfiable', `the range ${req.headers.range} is outside the media (${size} bytes)`);
      }
      const start = range.kind === 'partial' ? range.start : 0;
      const end = range.kind === 'partial' ? range.end : size - 1;
      res.status(range.kind === 'partial' ? 206 : 200);
      res.setHeader('Content-Type', servedContentType(info.contentType));
      res.setHeader('Content-Length', String(size === 0 ? 0 : end - start + 1));
      if (range.kind === 'partial') res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
      if (size === 0 || req.method === 'HEAD') {
        res.end();
        return;
      }
      streaming = true;
      await pipeline(handle.createReadStream({ start, end, autoClose: true }), res).catch((err: NodeJS.ErrnoException) => {
        // a viewer seeking or closing the tab aborts the response: routine for media, not an error
        if (err.code !== 'ERR_STREAM_PREMATURE_CLOSE') this.ctx.log.warn({ err: err.message, videoId: info.id }, 'media stream failed');
      });
    } finally {
      if (!streaming) await handle.close();
    }
  }
}
