import { Controller, Delete, Get, Headers, Inject, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiConsumes,
  ApiExtraModels,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import {
  ProblemError,
  isTerminalVideoStatus,
  isVideoId,
  newVideoId,
  isProblemSlug,
  redactUrl,
  type AnalysisResult,
  type ErasedVideoDocument,
  type VideoDocument,
} from '@omniaffect/core';
import type { Request, Response } from 'express';
import { KeyOrSignedLink, Owner, type AuthedRequest } from './auth';
import { signedLink, signedMediaLink } from './media-link';
import { GATEWAY, type GatewayContext } from './context';
import { ApiProblems, ErasedVideo, SubmitUploadBody, SubmitUrlBody, Video, VideoAccepted } from './openapi-models';
import { randomBytes } from 'node:crypto';
import { pickLanguage } from './report/i18n';
import { keyFrames, mediaRetained } from './report/report-assets';
import { renderReport, reportCsp, type ReportOptions } from './report/report-page';
import { acceptSignedLink } from './signed-link-access';
import { streamVideoEvents } from './video-events';
import { checkIngestUrl, parseIdempotencyKey, parseOptions } from './submission';
import { receiveMultipart } from './upload';
import type { SubmitInput } from './orchestrator-client';

/**
 * The `:id` of a video route. Ids that cannot exist are answered here instead of costing an orchestrator
 * round trip (with the answer any unknown id gets); a real one is kept for the request's log line.
 */
export function routeVideoId(id: string, res: Response): string {
  if (!isVideoId(id)) throw new ProblemError('not-found', `no video ${id}`);
  res.locals.videoId = id;
  return id;
}

/** A report link is for opening the page now; the media link inside it must outlast a long viewing. */
const REPORT_LINK_TTL_SECONDS = 600;
const REPORT_MEDIA_LINK_TTL_SECONDS = 6 * 3600;

@ApiTags('videos')
@ApiExtraModels(SubmitUrlBody, SubmitUploadBody)
@Controller('v1/videos')
export class VideosController {
  constructor(@Inject(GATEWAY) private readonly ctx: GatewayContext) {}

  @Post()
  @ApiOperation({
    summary: 'Submit a video',
    description:
      'Either a multipart upload (field `file`, streamed to storage) or JSON `{url}` that the media worker downloads. ' +
      'A repeated request with the same `Idempotency-Key` returns the same video with 200.',
  })
  @ApiConsumes('multipart/form-data', 'application/json')
  @ApiBody({ type: SubmitUrlBody, description: 'multipart: SubmitUploadBody; JSON: SubmitUrlBody (see openapi.ts)' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Same key (per API key) → same video' })
  @ApiAcceptedResponse({ type: VideoAccepted, description: 'Accepted; `Location` points at the video' })
  @ApiOkResponse({ type: VideoAccepted, description: 'An earlier request with this Idempotency-Key created the video' })
  @ApiProblems(400, 401, 413, 415, 422, 429, 503)
  async submit(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Owner() owner: string,
    @Headers('idempotency-key') idempotencyHeader: string | undefined,
  ): Promise<{ id: string; status: string; links: VideoDocument['links'] }> {
    const idempotencyKey = parseIdempotencyKey(idempotencyHeader);
    const videoId = newVideoId();
    res.locals.videoId = videoId;
    let input: SubmitInput;
    const base = { owner, videoId, idempotencyKey };
    if (req.is('multipart/form-data')) {
      const { fields, file } = await receiveMultipart(req, res, this.ctx.store, videoId, {
        fileBytes: this.ctx.config.MAX_UPLOAD_BYTES,
        idleTimeoutMs: this.ctx.config.UPLOAD_IDLE_TIMEOUT_MS,
      });
      try {
        if (!file) throw new ProblemError('validation', 'the multipart field `file` is missing');
        const opts = parseOptions(fields);
        // The orchestrator derives the path from the video id and ignores this one; it is still sent
        // so an orchestrator from before that change finds the upload where it always was.
        input = {
          ...base,
          ...opts,
          sourceKind: 'upload',
          sourcePath: file.path,
          sourceUrl: '',
          filename: file.filename,
          contentType: file.contentType,
          sizeBytes: file.sizeBytes,
        };
      } catch (err) {
        await this.ctx.store.removeVideo(videoId);
        throw err;
      }
    } else if (req.is('application/json')) {
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (typeof body !== 'object' || Array.isArray(body)) throw new ProblemError('validation', 'the body must be a JSON object');
      const opts = parseOptions(body);
      const sourceUrl = await checkIngestUrl(body.url, this.ctx.config.OMNIAFFECT_INGEST_ALLOW_PRIVATE);
      input = { ...base, ...opts, sourceKind: 'url', sourcePath: '', sourceUrl, filename: '', contentType: '', sizeBytes: 0 };
    } else {
      throw new ProblemError('unsupported-content-type', 'send multipart/form-data (field `file`) or application/json `{url}`');
    }

    let video: VideoDocument;
    let created: boolean;
    try {
      ({ video, created } = await this.ctx.orchestrator.submit(input));
    } catch (err) {
      // Only a definite refusal frees the upload. After a timeout or an outage the orchestrator may
      // have committed the video; its media stage then needs this file (a retried request with the
      // same Idempotency-Key gets that video back).
      const definite = err instanceof ProblemError && err.slug !== 'unavailable' && err.slug !== 'internal';
      if (definite && input.sourceKind === 'upload') await this.ctx.store.removeVideo(videoId);
      throw err;
    }
    // A different id means the Idempotency-Key named an earlier video: this upload is a duplicate.
    const isOurs = video.id === videoId;
    if (!isOurs && input.sourceKind === 'upload') await this.ctx.store.removeVideo(videoId);
    res.locals.videoId = video.id;
    this.ctx.log.info(
      {
        reqId: req.headers['x-request-id'],
        videoId: video.id,
        sourceKind: input.sourceKind,
        // Pre-signed URLs carry their credentials in the query string: only the redacted form is logged.
        sourceUrl: input.sourceUrl ? redactUrl(input.sourceUrl) : undefined,
        sizeBytes: input.sizeBytes,
        created: created || isOurs,
      },
      'video submitted',
    );
    res.status(created || isOurs ? 202 : 200);
    res.setHeader('Location', `${this.ctx.config.PUBLIC_BASE_URL ?? ''}${video.links.self}`);
    return { id: video.id, status: video.status, links: video.links };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Status and per-stage progress' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: Video })
  @ApiProblems(401, 404, 410, 429, 503)
  get(@Param('id') id: string, @Owner() owner: string, @Res({ passthrough: true }) res: Response): Promise<VideoDocument> {
    return this.ctx.orchestrator.get(owner, this.videoId(id, res));
  }

  @Get(':id/result')
  @ApiOperation({ summary: 'The analysis result', description: 'JSON document described by `#/components/schemas/Result`.' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ schema: { $ref: '#/components/schemas/Result' } })
  @ApiProblems(401, 404, 409, 410, 422, 429, 503)
  result(@Param('id') id: string, @Owner() owner: string, @Res({ passthrough: true }) res: Response): Promise<AnalysisResult> {
    return this.loadResult(owner, this.videoId(id, res));
  }

  @Get(':id/report')
  @ApiOperation({
    summary: 'HTML report',
    description:
      'Bilingual (zh/en: `?lang=` or Accept-Language, with a switch in the page) self-contained page: verdict, emotion timeline (click a segment to play it while the media is retained), ' +
      'transcript with the verified evidence words, voice contour, key frames, modality contributions, decision diagram and path, faithfulness, a rating form. ' +
      '`?export=1` gives the file for `omniaffect report --out` (no media link, no rating form).',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiProduces('text/html')
  @ApiOkResponse({ content: { 'text/html': { schema: { type: 'string' } } } })
  @ApiSecurity('mediaLink')
  @ApiProblems(401, 404, 409, 410, 422, 429, 503)
  @KeyOrSignedLink()
  async report(@Param('id') id: string, @Req() req: AuthedRequest, @Res() res: Response): Promise<void> {
    const videoId = this.videoId(id, res);
    // without a key: a browser tab opened from the console, whose signed link stands for the key
    const owner = req.owner || (await acceptSignedLink(this.ctx, 'report', videoId, req, res)).owner;
    const result = await this.loadResult(owner, videoId);
    const exported = req.query.export === '1' || req.query.export === 'true';
    const nonce = randomBytes(16).toString('base64');
    const options: ReportOptions = {
      lang: pickLanguage(req.headers['accept-language'], req.query.lang),
      nonce,
      exported,
      media: exported
        ? { none: 'report.video.exported' }
        : !result.modalities.vision.present && result.modalities.vision.reason === 'no video stream'
          ? { none: 'report.video.audio' }
          : (await mediaRetained(this.ctx.store, videoId))
            ? { url: signedMediaLink(videoId, REPORT_MEDIA_LINK_TTL_SECONDS, this.ctx.mediaLinkSecret), type: '' }
            : { none: 'report.video.erased' },
      frames: await keyFrames(this.ctx.store, result),
    };
    res
      .status(200)
      .setHeader('Content-Type', 'text/html; charset=utf-8')
      .setHeader('Content-Security-Policy', reportCsp(nonce, exported))
      .setHeader('Content-Language', options.lang === 'zh' ? 'zh-CN' : 'en')
      .setHeader('Vary', 'Accept-Language')
      .setHeader('Cache-Control', 'private, no-store')
      .setHeader('X-Content-Type-Options', 'nosniff')
      .end(renderReport(result, options));
  }

  @Post(':id/report-link')
  @ApiOperation({
    summary: 'A short-lived link to the report',
    description:
      'For opening the report in a browser tab (the console does), which cannot send the API key: the link is signed for this video and this route only and expires after 10 minutes. The API key itself is never put in a URL.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({
    schema: { type: 'object', required: ['url', 'expiresAt'], properties: { url: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' } } },
  })
  @ApiProblems(401, 404, 409, 410, 429, 503)
  async reportLink(@Param('id') id: string, @Owner() owner: string, @Res({ passthrough: true }) res: Response): Promise<{ url: string; expiresAt: string }> {
    const videoId = this.videoId(id, res);
    const doc = await this.ctx.orchestrator.get(owner, videoId);
    if (doc.status !== 'succeeded') throw new ProblemError('not-ready', `the video is ${doc.status}`, { videoStatus: doc.status });
    const now = Date.now();
    res.setHeader('Cache-Control', 'no-store');
    return {
      url: signedLink('report', videoId, REPORT_LINK_TTL_SECONDS, this.ctx.mediaLinkSecret, now),
      expiresAt: new Date(now + REPORT_LINK_TTL_SECONDS * 1000).toISOString(),
    };
  }

  @Get(':id/events')
  @ApiOperation({
    summary: 'Server-sent events',
    description: '`event: status` with the video document whenever it changes; the stream ends after a terminal status.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ content: { 'text/event-stream': { schema: { type: 'string' } } } })
  @ApiProblems(401, 404, 410, 429, 503)
  async events(@Param('id') id: string, @Owner() owner: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    await streamVideoEvents(this.ctx, owner, this.videoId(id, res), req, res);
  }

  @Get(':id/features')
  @ApiOperation({
    summary: 'The encoder outputs the workers pushed (research use)',
    description: 'Per modality and kind: shape, float32 data (base64, little-endian) and per-item metadata (times, text offsets, prosody).',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ schema: { type: 'object' } })
  @ApiProblems(401, 404, 410, 429, 503)
  features(@Param('id') id: string, @Owner() owner: string, @Res({ passthrough: true }) res: Response): Promise<unknown> {
    return this.ctx.orchestrator.features(owner, this.videoId(id, res));
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Cancel the video (in any status) and erase everything about it',
    description:
      'Media, frames, features, result, transcript, metadata, URLs, stage outputs and delivery rows are erased; ' +
      'only a tombstone (id, owner, erasure time) is kept. Afterwards every route of the video answers 410 `gone`, a second DELETE included.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiAcceptedResponse({ type: ErasedVideo })
  @ApiProblems(401, 404, 410, 429, 503)
  async cancel(@Param('id') id: string, @Owner() owner: string, @Res({ passthrough: true }) res: Response): Promise<ErasedVideoDocument> {
    const video = await this.ctx.orchestrator.cancel(owner, this.videoId(id, res));
    res.status(202);
    return video;
  }

  private videoId(id: string, res: Response): string {
    return routeVideoId(id, res);
  }

  /**
   * GetResult answers the result document, or a gRPC problem (not-ready, the video's failure). An
   * orchestrator may also answer the video document for a video without a result; mapped the same way.
   */
  private async loadResult(owner: string, id: string): Promise<AnalysisResult> {
    const doc = await this.ctx.orchestrator.getResult(owner, id);
    if (doc.status === 'succeeded' && 'sentiment' in doc) return doc as unknown as AnalysisResult;
    const status = String(doc.status ?? '');
    if (status === 'failed') {
      const error = (doc as Partial<VideoDocument>).error;
      const slug = typeof error?.type === 'string' ? (error.type.split('/').pop() ?? '') : '';
      throw new ProblemError(isProblemSlug(slug) ? slug : 'internal', error?.detail ?? 'the video failed');
    }
    if (!isTerminalVideoStatus(status)) throw new ProblemError('not-ready', `the video is ${status || 'not finished'}`, { videoStatus: status });
    throw new ProblemError('internal', 'the orchestrator returned no result');
  }
}
