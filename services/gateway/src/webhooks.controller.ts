import { Body, Controller, Delete, Get, Header, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ProblemError, WEBHOOK_EVENTS, assertUrlShape, type WebhookDocument } from '@omniaffect/core';
import { Owner } from './auth';
import { GATEWAY, type GatewayContext } from './context';
import { ApiProblems, CallbackSecret, CreateWebhookBody, CreatedWebhook, DeliveryList, WebhookList } from './openapi-models';

const WEBHOOK_ID = /^[A-Za-z0-9_-]{1,64}$/;

@ApiTags('webhooks')
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(@Inject(GATEWAY) private readonly ctx: GatewayContext) {}

  @Post()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Subscribe to video events',
    description:
      'Deliveries follow Standard Webhooks v1 (webhook-id, webhook-timestamp, webhook-signature). ' + 'The signing secret is returned only in this response.',
  })
  @ApiBody({ type: CreateWebhookBody })
  @ApiCreatedResponse({ type: CreatedWebhook })
  @ApiProblems(400, 401, 422, 503)
  async create(@Body() body: unknown, @Owner() owner: string): Promise<WebhookDocument> {
    const { url, events } = (body ?? {}) as { url?: unknown; events?: unknown };
    if (typeof url !== 'string' || url.length === 0) throw new ProblemError('validation', 'url must be a non-empty string');
    const target = assertUrlShape(url).toString();
    const chosen = parseEvents(events);
    const hook = await this.ctx.orchestrator.createWebhook(owner, target, chosen);
    this.ctx.log.info({ webhookId: hook.id, events: chosen }, 'webhook created');
    return { id: hook.id, url: hook.url, events: hook.events, createdAt: hook.createdAt, secret: hook.secret };
  }

  @Get()
  @ApiOperation({ summary: 'List subscriptions (secrets are never listed)' })
  @ApiOkResponse({ type: WebhookList })
  @ApiProblems(401, 503)
  async list(@Owner() owner: string): Promise<{ webhooks: WebhookDocument[] }> {
    const hooks = await this.ctx.orchestrator.listWebhooks(owner);
    return { webhooks: hooks.map(({ secret: _secret, ...rest }) => rest) };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a subscription' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems(401, 404, 503)
  async remove(@Param('id') id: string, @Owner() owner: string): Promise<void> {
    await this.ctx.orchestrator.deleteWebhook(owner, webhookId(id));
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: 'Delivery log of a subscription (attempts, last status, next retry)' })
  @ApiOkResponse({ type: DeliveryList })
  @ApiProblems(401, 404, 503)
  async deliveries(@Param('id') id: string, @Owner() owner: string): Promise<DeliveryList> {
    return { deliveries: await this.ctx.orchestrator.listDeliveries(owner, webhookId(id)) };
  }
}

@ApiTags('webhooks')
@Controller('v1/callback-secret')
export class CallbackSecretController {
  constructor(@Inject(GATEWAY) private readonly ctx: GatewayContext) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'The secret that signs your callbackUrl deliveries',
    description:
      'A video submitted with a callbackUrl is delivered like a webhook (Standard Webhooks v1), signed with a secret ' +
      'derived for the calling API key: another key cannot forge deliveries to your receiver.',
  })
  @ApiOkResponse({ type: CallbackSecret })
  @ApiProblems(401, 501, 503)
  async get(@Owner() owner: string): Promise<CallbackSecret> {
    return { secret: await this.ctx.orchestrator.callbackSecret(owner) };
  }
}

function webhookId(id: string): string {
  if (!WEBHOOK_ID.test(id)) throw new ProblemError('not-found', `no webhook ${id}`);
  return id;
}

/** Missing events subscribe to all of them; an empty or unknown list is a mistake worth reporting. */
function parseEvents(raw: unknown): string[] {
  if (raw === undefined) return [...WEBHOOK_EVENTS];
  if (!Array.isArray(raw) || raw.length === 0 || raw.some((e) => typeof e !== 'string')) {
    throw new ProblemError('validation', `events must be a non-empty array drawn from ${WEBHOOK_EVENTS.join(', ')}`);
  }
  const unknown = raw.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
  if (unknown.length > 0) {
    throw new ProblemError('validation', `unknown events: ${unknown.join(', ')}; expected ${WEBHOOK_EVENTS.join(', ')}`);
  }
  return [...new Set(raw as string[])];
}
