import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ProblemError, type VideoListDocument } from '@omniaffect/core';
import { Owner } from './auth';
import { GATEWAY, type GatewayContext } from './context';
import { ApiProblems, VideoList } from './openapi-models';

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

/** GET /v1/videos: its own controller, so the list can never be mistaken for GET /v1/videos/:id. */
@ApiTags('videos')
@Controller('v1/videos')
export class VideoListController {
  constructor(@Inject(GATEWAY) private readonly ctx: GatewayContext) {}

  @Get()
  @ApiOperation({
    summary: "This API key's videos, newest first",
    description: 'Each video as GET /v1/videos/{id} answers it; erased videos are not listed. Follow `next` (as `before`) for older ones.',
  })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT } })
  @ApiQuery({ name: 'before', required: false, schema: { type: 'string' }, description: 'The `next` cursor of the previous page' })
  @ApiOkResponse({ type: VideoList })
  @ApiProblems(400, 401, 429, 503)
  list(@Owner() owner: string, @Query('limit') limit: unknown, @Query('before') before: unknown): Promise<VideoListDocument> {
    return this.ctx.orchestrator.listVideos(owner, parseLimit(limit), parseBefore(before));
  }
}

function parseLimit(raw: unknown): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  if (typeof raw !== 'string' || !/^[0-9]{1,3}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LIMIT) {
    throw new ProblemError('validation', `limit must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return Number(raw);
}

/** The cursor itself is the orchestrator's to read; here only its shape is checked (one short, non-empty value). */
function parseBefore(raw: unknown): string {
  if (raw === undefined) return '';
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 128)
    throw new ProblemError('validation', 'before must be the `next` cursor of a previous page');
  return raw;
}
