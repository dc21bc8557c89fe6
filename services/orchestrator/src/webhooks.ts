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
import type { VideoRow } from './repository';

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

/** Advisory-lock namespace serialising one owner's CreateWebhook calls (count, then insert). */
const OWNER_WEBHOOK_LOCK = 0x0a11_0002;

interface DeliveryRow {
  id: string;
  webhook_id: string | null;
  target_url: string;
  video_id: string;
  event_type: string;
  payload: Record<string, unknown>;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: Date | null;
  created_at: Date;
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
        await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [OWNER_WEBHOOK_LOCK, owner]);
        const n = (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM webhooks WHERE owner = $1 AND deleted_at IS NULL', [owner])).rows[0].n;
        if (n >= max) {
          throw new ProblemError('quota-exceeded', `at most ${max} webhook subscriptions per API key (QUOTA_MAX_WEBHOOKS); delete one first`, { limit: 'QUOTA_MAX_WEBHOOKS' });
        }
      }
      const r = await c.query<{ created_at: Date }>(
        'INSERT INTO webhooks (id, owner, url, events, secret) VALUES ($1,$2,$3,$4,$5) RETURNING created_at',
        [id, owner, url, list, secret],
      );
      return r.rows[0].created_at;
    });
    return { id, url, events: list, createdAt: createdAt.toISOString(), secret };
  }

  async list(owner: string): Promise<WebhookDocument[]> {
    const r = await this.db.query<{ id: string; url: string; events: string[]; created_at: Date }>(
      'SELECT id, url, events, created_at FROM webhooks WHERE owner = $1 AND deleted_at IS NULL ORDER BY created_at',
      [owner],
    );
    return r.rows.map((w) => ({ id: w.id, url: w.url, events: w.events, createdAt: w.created_at.toISOString() }));
  }

  async remove(owner: string, id: string): Promise<void> {
    const r = await this.db.query('UPDATE webhooks SET deleted_at = now() WHERE id = $1 AND owner = $2 AND deleted_at IS NULL', [id, owner]);
    if (r.rowCount === 0) throw new ProblemError('not-found', `no webhook ${id}`);
  }

  async deliveries(owner: string, webhookId: string): Promise<DeliveryDocument[]> {
    const own = await this.db.query('SELECT 1 FROM webhooks WHERE id = $1 AND owner = $2', [webhookId, owner]);
    if (own.rowCount === 0) throw new ProblemError('not-found', `no webhook ${webhookId}`);
    const r = await this.db.query<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC LIMIT 500', [webhookId]);
    return r.rows.map(toDeliveryDocument);
  }

  /** Inside the terminal transition's transaction: one row per matching subscription (+ callbackUrl). */
  async scheduleForVideo(c: PoolClient, video: VideoRow): Promise<void> {
    if (video.status !== 'succeeded' && video.status !== 'failed') return;
    const type = `video.${video.status}`;
    const payload = { type, timestamp: new Date().toISOString(), data: { id: video.id, status: video.status, links: videoLinks(video.id) } };
    const subs = await c.query<{ id: string; url: string }>(
      'SELECT id, url FROM webhooks WHERE owner = $1 AND deleted_at IS NULL AND $2 = ANY(events)',
      [video.owner, type],
    );
    const targets: { webhookId: string | null; url: string }[] = subs.rows.map((s) => ({ webhookId: s.id, url: s.url }));
    if (video.callback_url) targets.push({ webhookId: null, url: video.callback_url });
    for (const t of targets) {
      await c.query(
        `INSERT INTO webhook_deliveries (id, webhook_id, target_url, video_id, event_type, payload, status, next_attempt_at)
         VALUES ($1,$2,$3,$4,$5,$6,'pending', now())`,
        [`msg_${randomUUID().replace(/-/g, '')}`, t.webhookId, t.url, video.id, type, JSON.stringify(payload)],
      );
    }
  }

  async enqueuePendingForVideo(videoId: string): Promise<void> {
    const r = await this.db.query<DeliveryRow>(`SELECT * FROM webhook_deliveries WHERE video_id = $1 AND status = 'pending'`, [videoId]);
    // A replayed terminal event lands here too: an attempt already scheduled keeps its backoff.
    for (const d of r.rows) await this.enqueueAttempt(d, Math.max(0, (d.next_attempt_at?.getTime() ?? 0) - Date.now()));
  }

  /** Recovery: pending deliveries whose attempt is due but whose job vanished (e.g. Redis flushed). */
  async enqueueDue(): Promise<number> {
    const r = await this.db.query<DeliveryRow>(
      `SELECT * FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at < now() - interval '1 minute'
       ORDER BY next_attempt_at LIMIT 500`,
    );
    for (const d of r.rows) {
      // A job that died inside deliver() (e.g. the database went away) sits in `failed` under this
      // attempt's id, where re-adding it is a no-op: revive it instead.
      const job = await this.queues.get(QUEUES.webhooks).getJob(`${d.id}.${d.attempts}`);
      if (job && (await job.getState()) === 'failed') await job.retry().catch(() => undefined);
      else if (!job) await this.enqueueAttempt(d, 0);
    }
    return r.rowCount ?? 0;
  }

  private async enqueueAttempt(d: DeliveryRow, delayMs: number): Promise<void> {
    await this.queues.get(QUEUES.webhooks).add('deliver', { deliveryId: d.id } satisfies WebhookJob, { jobId: `${d.id}.${d.attempts}`, delay: delayMs });
  }

  /** The secret that signs this owner's callbackUrl deliveries; null when the operator set none. */
  callbackSecret(owner: string): string | null {
    return this.cfg.callbackSecret && owner ? callbackSecretFor(this.cfg.callbackSecret, owner) : null;
  }

  async deliver(job: Job<WebhookJob>): Promise<void> {
    const r = await this.db.query<DeliveryRow & { secret: string | null; webhook_deleted_at: Date | null; video_owner: string | null }>(
      `SELECT d.*, w.secret, w.deleted_at AS webhook_deleted_at, v.owner AS video_owner
         FROM webhook_deliveries d LEFT JOIN webhooks w ON w.id = d.webhook_id LEFT JOIN videos v ON v.id = d.video_id
        WHERE d.id = $1`,
      [job.data.deliveryId],
    );
    const d = r.rows[0];
    if (!d || d.status !== 'pending') return;
    if (d.webhook_id && d.webhook_deleted_at) {
      await this.db.query(`UPDATE webhook_deliveries SET status = 'failed', last_error = 'subscription deleted', next_attempt_at = NULL, updated_at = now() WHERE id = $1`, [d.id]);
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
    const upd = await this.db.query(
      `UPDATE webhook_deliveries SET status = $2, attempts = $3, last_status = $4, last_error = $5, updated_at = now(),
         next_attempt_at = CASE WHEN $6::bigint IS NULL THEN NULL ELSE now() + ($6::bigint * interval '1 millisecond') END
       WHERE id = $1`,
      [d.id, final, attempts, status, error, delay],
    );
    // no row: the video was erased while this attempt was out; nothing may be scheduled for it
    if ((upd.rowCount ?? 0) === 0) return;
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
