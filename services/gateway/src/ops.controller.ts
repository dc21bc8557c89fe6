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
  @ApiServiceUnavailableResponse({ description: 'Not ready; `checks` names the failing dependency (details are in the log)' })
  async readyz(@Res() res: Response): Promise<void> {
    const [orchestrator, artifacts] = await Promise.all([
      checkHealth(this.ctx.config.ORCHESTRATOR_GRPC_URL, ORCHESTRATOR_SERVICE, 2000).then(
        (status) => (status === 'SERVING' ? null : `health status ${status}`),
        (err: Error) => `unreachable: ${err.message}`,
      ),
      this.artifactsProblem(),
    ]);
    // The route is public: anyone may learn *which* dependency fails, only the log learns why
    // (error text carries addresses and paths).
    const failing = Object.entries({ orchestrator, artifacts }).filter(([, why]) => why !== null);
    if (failing.length > 0) this.ctx.log.warn({ failing: Object.fromEntries(failing) }, 'not ready');
    const checks = {
      orchestrator: orchestrator === null ? 'ok' : 'failing',
      artifacts: artifacts === null ? 'ok' : 'failing',
    };
    res.status(failing.length === 0 ? 200 : 503).json({ status: failing.length === 0 ? 'ready' : 'not-ready', checks });
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

  /** null when the artifact directory is writable, else why not (for the log only). */
  private async artifactsProblem(): Promise<string | null> {
    try {
      await fs.mkdir(this.ctx.store.root, { recursive: true });
      await fs.access(this.ctx.store.root, fsConstants.W_OK);
      return null;
    } catch (err) {
      return `not writable: ${(err as Error).message}`;
    }
  }
}
