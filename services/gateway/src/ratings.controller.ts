import { Body, Controller, Get, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { parseRatingInput, type RatingDocument, type RatingsSummaryDocument } from '@omniaffect/core';
import type { Response } from 'express';
import { Owner } from './auth';
import { GATEWAY, type GatewayContext } from './context';
import { ApiProblems, Rating, RatingBody, RatingList, RatingsSummary } from './openapi-models';
import { routeVideoId } from './videos.controller';

/**
 * Reviewers' ratings of a video's explanation, and their summary per fusion model version: the evidence
 * that a new policy explains better, from the people who read the reports.
 */
@ApiTags('ratings')
@Controller()
export class RatingsController {
  constructor(@Inject(GATEWAY) private readonly ctx: GatewayContext) {}

  @Post('v1/videos/:id/ratings')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Rate the explanation of a succeeded video',
    description:
      'Clarity and relevance from 1 to 5, and an optional comment of at most 2000 characters; other fields are refused. ' +
      'The rating records the fusion model version that made the result.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiBody({ type: RatingBody })
  @ApiCreatedResponse({ type: Rating })
  @ApiProblems(400, 401, 404, 409, 410, 429, 503)
  async add(@Param('id') id: string, @Body() body: unknown, @Owner() owner: string, @Res({ passthrough: true }) res: Response): Promise<RatingDocument> {
    const videoId = routeVideoId(id, res);
    // checked here for a clear 400 before the round trip; the orchestrator checks again at its table
    const rating = parseRatingInput(body);
    // Only the owner's key reaches its video today, so the reviewer is that key's hash; it is stored
    // apart from the owner so that reviewers who are not the submitting key need no new column.
    const stored = await this.ctx.orchestrator.addRating(owner, videoId, owner, rating);
    this.ctx.log.info({ videoId, ratingId: stored.id, fusionModel: stored.fusionModel }, 'rating added');
    return stored;
  }

  @Get('v1/videos/:id/ratings')
  @ApiOperation({ summary: 'The ratings of a video, newest first' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: RatingList })
  @ApiProblems(401, 404, 410, 429, 503)
  async list(@Param('id') id: string, @Owner() owner: string, @Res({ passthrough: true }) res: Response): Promise<{ ratings: RatingDocument[] }> {
    return { ratings: await this.ctx.orchestrator.listRatings(owner, routeVideoId(id, res)) };
  }

  @Get('v1/ratings/summary')
  @ApiOperation({
    summary: 'Ratings per fusion model version',
    description: 'Over the ratings of this API key’s videos (erased videos’ ratings are gone): count, and mean, median and histogram of each score.',
  })
  @ApiOkResponse({ type: RatingsSummary })
  @ApiProblems(401, 429, 503)
  summary(@Owner() owner: string): Promise<RatingsSummaryDocument> {
    return this.ctx.orchestrator.ratingsSummary(owner);
  }
}
