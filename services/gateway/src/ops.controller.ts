import { promises as fs, constants as fsConstants } from 'node:fs';
import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { ORCHESTRATOR_SERVICE, RESULT_SCHEMA, checkHealth } from '@omniaffect/core';
import type { Response } from 'express';
import { Public } from './auth';
import { GATEWAY, type GatewayContext } from './context';

/** Holds the OpenAPI document, generated from these controllers once the app is assembled. */
export class OpenApiHolder {
  document: object = {};
}

@ApiTags('operations')
@Controller()
export class OpsController {
  constructor(
    @Inject(GATEWAY) private readonly ctx: GatewayContext,
    private readonly openapi: OpenApiHolder,
  ) {}

  @Public()
  @Get('healthz')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiOkResponse({ schema: { type: 'object', properties: { status: { type: 'string', example: 'ok' } } } })
  healthz(): { status: string } {
    return { status: 'ok' };
  }

  @Public()
  @Get('readyz')
  @ApiOperation({ summary: 'Readiness: the orchestrator reports SERVING and the artifact directory is writable' })
  @ApiOkResponse({ description: 'Ready' })
  @ApiServiceUnavailableResponse({ description: 'Not ready; the body says which dependency' })
  async readyz(@Res() res: Response): Promise<void> {
    const [orchestrator, artifacts] = await Promise.all([
      checkHealth(this.ctx.config.ORCHESTRATOR_GRPC_URL, ORCHESTRATOR_SERVICE, 2000).catch((err: Error) => `unreachable: ${err.message}`),
      this.artifactsWritable(),
    ]);
    const ok = orchestrator === 'SERVING' && artifacts === 'writable';
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not-ready', orchestrator, artifacts });
  }

  @Public()
  @Get('metrics')
  @ApiOperation({ summary: 'Prometheus metrics' })
  @ApiOkResponse({ content: { 'text/plain': { schema: { type: 'string' } } } })
  async metrics(@Res() res: Response): Promise<void> {
    const body = await this.ctx.metrics.render();
    res.status(200).setHeader('Content-Type', this.ctx.metrics.registry.contentType).end(body);
  }

  @Public()
  @Get('v1/openapi.json')
  @ApiOperation({ summary: 'This OpenAPI document' })
  @ApiOkResponse({ schema: { type: 'object' } })
  openapiDocument(): object {
    return this.openapi.document;
  }

  @Get('v1/schemas/result.json')
  @ApiOperation({ summary: 'JSON Schema of the result document' })
  @ApiOkResponse({ schema: { $ref: '#/components/schemas/Result' } })
  resultSchema(@Res() res: Response): void {
    res.status(200).setHeader('Content-Type', 'application/schema+json').end(JSON.stringify(RESULT_SCHEMA));
  }

  private async artifactsWritable(): Promise<string> {
    try {
      await fs.mkdir(this.ctx.store.root, { recursive: true });
      await fs.access(this.ctx.store.root, fsConstants.W_OK);
      return 'writable';
    } catch (err) {
      return `not writable: ${(err as Error).message}`;
    }
  }
}
