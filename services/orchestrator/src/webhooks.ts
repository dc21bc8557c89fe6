import { randomUUID } from 'node:crypto';
import {
  ProblemError,
  QUEUES,
  isPublicAddress,
  withTransaction,
  WEBHOOK_EVENTS,
  assertUrlShape,
  callbackSecretFor,
  newWebhookSecret,
  retryDelayMs,
  safeRequest,
  videoLinks,
  webhookHeaders,
  type Db,
  type DeliveryDocument,
  type Logger,
  type Queues,
  type ServiceMetrics,
  type WebhookDocument,
  type WebhookJob,
} from '@omniaffect/core';
import type { Job } from 'bullmq';
import type { PoolClient } from 'pg';
import * as repo from './repository';
import type { DeliveryRow, VideoRow } from './repository';

export interface WebhookConfig {
  allowPrivate: boolean;
  /**
   * The operator secret from which each owner's callbackUrl signing secret is derived
   * (callbackSecretFor); a per-video callbackUrl has no subscription secret of its own.
   */
  callbackSecret: string | null;
  /** Multiplies the retry schedule (tests use a tiny factor; production 1). */
  retryScale: number;
  timeoutMs: number;
  /** Active subscriptions one owner may hold (QUOTA_MAX_WEBHOOKS); 0 or unset = no limit. */
  maxPerOwner?: number;
}

/**
 * Webhook subscriptions and deliveries. Deliveries are rows written in the same transaction that makes
 * a video terminal, so none is lost; each attempt is one BullMQ job (id `<delivery>.<attempt>`),
 * retried on the Standard Webhooks schedule until it succeeds or the schedule runs out.
 */
export class WebhookService {
  constructor(
    private readonly db: Db,
    private readonly queues: Queues,
    private readonly cfg: WebhookConfig,
    private readonly log: Logger,
    private readonly metrics: ServiceMetrics,
  ) {}

  async create(owner: string, url: string, events: string[]): Promise<WebhookDocument> {
    const parsed = assertUrlShape(url);
    // A literal private address can never be delivered to (deliver() would refuse every attempt):
    // say so now rather than with a delivery log full of failures. Names are checked at delivery,
    // where what they resolve to then is what counts.
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    if (!this.cfg.allowPrivate && /^[\d.]+$|:/.test(host) && !isPublicAddress(host)) {
      throw new ProblemError('url-not-allowed', `${host} is not a public address`);
    }
    const list = events.length ? events : [...WEBHOOK_EVENTS];
    const bad = list.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
    if (bad.length) throw new ProblemError('validation', `unknown events: ${bad.join(', ')}; allowed: ${WEBHOOK_EVENTS.join(', ')}`);
    const id = `wh_${randomUUID().replace(/-/g, '')}`;
    const secret = newWebhookSecret();
    const max = this.cfg.maxPerOwner ?? 0;
    const createdAt = await withTransaction(this.db, async (c) => {
      if (max > 0) {
        // count and insert under one per-owner lock: concurrent creates cannot both take the last slot
        await repo.lockOwnerWebhooks(c, owner);
        const n = await repo.countActiveWebhooks(c, owner);
        if (n >= max) {
          throw new ProblemError('quota-exceeded', `at most ${max} webhook subscriptions per API key (QUOTA_MAX_WEBHOOKS); delete one first`, {
            limit: 'QUOTA_MAX_WEBHOOKS',
          });
        }
      }
      return repo.insertWebhook(c, { id, owner, url, events: list, secret });
    });
    return { id, url, events: list, createdAt: createdAt.toISOString(), secret };
  }

  async list(owner: string): Promise<WebhookDocument[]> {
    return (await repo.activeWebhooks(this.db, owner)).map((w) => ({ id: w.id, url: w.url, events: w.events, createdAt: w.created_at.toISOString() }));
  }

  async remove(owner: string, id: string): Promise<void> {
    if (!(await repo.softDeleteWebhook(this.db, owner, id))) throw new ProblemError('not-found', `no webhook ${id}`);
  }

  async deliveries(owner: string, webhookId: string): Promise<DeliveryDocument[]> {
    if (!(await repo.webhookOwnedBy(this.db, webhookId, owner))) throw new ProblemError('not-found', `no webhook ${webhookId}`);
    return (await repo.deliveriesOfWebhook(this.db, webhookId, 500)).map(toDeliveryDocument);
  }

  /** Inside the terminal transition's transaction: one row per matching subscription (+ callbackUrl). */
  async scheduleForVideo(c: PoolClient, video: VideoRow): Promise<void> {
    if (video.status !== 'succeeded' && video.status !== 'failed') return;
    const type = `video.${video.status}`;
    const payload = { type, timestamp: new Date().toISOString(), data: { id: video.id, status: video.status, links: videoLinks(video.id) } };
    const subs = await repo.subscriptionsFor(c, video.owner, type);
    const targets: { webhookId: string | null; url: string }[] = subs.map((s) => ({ webhookId: s.id, url: s.url }));
    if (video.callback_url) targets.push({ webhookId: null, url: video.callback_url });
    for (const t of targets) {
      await repo.insertPendingDelivery(c, {
        id: `msg_${randomUUID().replace(/-/g, '')}`,
        webhookId: t.webhookId,
        targetUrl: t.url,
        videoId: video.id,
        eventType: type,
        payload,
      });
    }
  }

  async enqueuePendingForVideo(videoId: string): Promise<void> {
    const pending = await repo.pendingDeliveriesOfVideo(this.db, videoId);
    // A replayed terminal event lands here too: an attempt already scheduled keeps its backoff.
    for (const d of pending) await this.enqueueAttempt(d, Math.max(0, (d.next_attempt_at?.getTime() ?? 0) - Date.now()));
  }

  /** Recovery: pending deliveries whose attempt is due but whose job vanished (e.g. Redis flushed). */
  async enqueueDue(): Promise<number> {
    const overdue = await repo.overdueDeliveries(this.db, 500);
    for (const d of overdue) {
      // A job that died inside deliver() (e.g. the database went away) sits in `failed` under this
      // attempt's id, where re-adding it is a no-op: revive it instead.
      const job = await this.queues.get(QUEUES.webhooks).getJob(`${d.id}.${d.attempts}`);
      if (job && (await job.getState()) === 'failed') await job.retry().catch(() => undefined);
      else if (!job) await this.enqueueAttempt(d, 0);
    }
    return overdue.length;
  }

  private async enqueueAttempt(d: DeliveryRow, delayMs: number): Promise<void> {
    await this.queues.get(QUEUES.webhooks).add('deliver', { deliveryId: d.id } satisfies WebhookJob, { jobId: `${d.id}.${d.attempts}`, delay: delayMs });
  }

  /** The secret that signs this owner's callbackUrl deliveries; null when the operator set none. */
  callbackSecret(owner: string): string | null {
    return this.cfg.callbackSecret && owner ? callbackSecretFor(this.cfg.callbackSecret, owner) : null;
  }

  async deliver(job: Job<WebhookJob>): Promise<void> {
    const d = await repo.deliveryForAttempt(this.db, job.data.deliveryId);
    if (!d || d.status !== 'pending') return;
    if (d.webhook_id && d.webhook_deleted_at) {
      await repo.failDelivery(this.db, d.id, 'subscription deleted');
      return;
    }
    const secret = d.webhook_id ? d.secret : this.callbackSecret(d.video_owner ?? '');
    const body = JSON.stringify(d.payload);
    const ts = Math.floor(Date.now() / 1000);
    let status: number | null = null;
    let error: string | null = null;
    // Set when no later attempt can do better: retrying those only fills a day with failed attempts.
    let hopeless = false;
    if (!secret) {
      error = 'no signing secret for callbackUrl deliveries (set OMNIAFFECT_CALLBACK_SECRET)';
      hopeless = true;
    } else {
      try {
        const res = await safeRequest(d.target_url, {
          method: 'POST',
          headers: webhookHeaders(secret, d.id, ts, body),
          body,
          allowPrivate: this.cfg.allowPrivate,
          timeoutMs: this.cfg.timeoutMs,
          maxRedirects: 0,
        });
        status = res.statusCode ?? null;
        res.resume();
      } catch (err) {
        error = err instanceof ProblemError ? err.detail : (err as Error).message;
        // The URL guard refused the target (bad scheme, credentials, a private or loopback address):
        // that is a property of the URL and of this deployment's policy, not a passing fault.
        if (err instanceof ProblemError && err.slug === 'url-not-allowed') hopeless = true;
      }
    }
    const ok = status !== null && status >= 200 && status < 300;
    const attempts = d.attempts + 1;
    // fail the delivery now, where its log shows why
    const delay = ok || hopeless ? null : retryDelayMs(attempts, Math.random, this.cfg.retryScale);
    const final = ok ? 'succeeded' : delay === null ? 'failed' : 'pending';
    this.metrics.webhookDeliveries.inc({ outcome: ok ? 'succeeded' : final === 'failed' ? 'failed' : 'retry' });
    // no row: the video was erased while this attempt was out; nothing may be scheduled for it
    if (!(await repo.recordAttempt(this.db, { id: d.id, status: final, attempts, lastStatus: status, lastError: error, retryInMs: delay }))) return;
    if (final === 'pending' && delay !== null) await this.enqueueAttempt({ ...d, attempts }, delay);
    this.log.info({ deliveryId: d.id, videoId: d.video_id, status, error, attempts, final }, 'webhook attempt');
  }
}

function toDeliveryDocument(d: DeliveryRow): DeliveryDocument {
  return {
    id: d.id,
    webhookId: d.webhook_id,
    videoId: d.video_id,
    eventType: d.event_type,
    status: d.status,
    attempts: d.attempts,
    lastStatus: d.last_status,
    lastError: d.last_error,
    nextAttemptAt: d.next_attempt_at ? d.next_attempt_at.toISOString() : null,
    createdAt: d.created_at.toISOString(),
  };
}
