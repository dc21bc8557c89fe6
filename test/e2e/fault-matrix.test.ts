import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SERVICES, hasExited, type ServiceName } from '@omniaffect/cli';
import { sleep, table } from '../support/api';
import { tinyClip } from '../support/media-fixtures';
import { startPrivateStack, type PrivateStack } from '../support/private-stack';
import { startWebhookReceiver } from '../support/webhook-receiver';

/**
 * The fault matrix (issue #7): with 50 small videos in flight, SIGKILL each service in turn and
 * restart it; restart Redis; restart PostgreSQL; fill ARTIFACT_DIR. Every case ends with every
 * accepted video finished exactly once — counted in the database's results table and through the
 * API — and one webhook-id per video at the subscriber (at-least-once redelivery under that id is
 * allowed). The stack runs on a Redis and a PostgreSQL of its own, so restarting them disturbs no
 * other test file.
 *
 * The client behaves like a careful real one: every upload carries an Idempotency-Key and is retried
 * on connection errors and 5xx, so a video is "refused" only if no attempt was ever accepted.
 */

const VIDEOS_PER_CASE = 50;
const SUBMIT_CONCURRENCY = 4;
const DOWN_MS = 2000;
const CASE_TIMEOUT_MS = 240_000;

interface CaseFigures {
  name: string;
  accepted: number;
  refused: number;
  finished: number;
  lost: number;
  unacked: number;
  redelivered: number;
  outageS: number;
  recoverS: number;
  note: string;
}

interface Submission {
  index: number;
  id: string | null;
  firstStatus: number | string;
  firstSlug: string;
  attempts: number;
  lastError: string;
}

describe('fault matrix', { timeout: 1_500_000 }, () => {
  let s: PrivateStack;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const media = mkdtempSync(path.join(os.tmpdir(), 'oa-fault-'));
  let clip = '';
  const figures: CaseFigures[] = [];
  const started = Date.now();

  before(async () => {
    s = await startPrivateStack({
      tmpfsBytes: 64 * 1024 * 1024,
      env: {
        RATE_LIMIT_REQUESTS_PER_MINUTE: '0',
        RATE_LIMIT_SUBMISSIONS_PER_MINUTE: '0',
        MEDIA_CONCURRENCY: '3',
        // this file is about faults, not quotas: 11 cases x 50 videos from one key
        QUOTA_MAX_ACTIVE_VIDEOS: '0',
        QUOTA_MAX_MEDIA_HOURS_PER_DAY: '0',
        // every run reports itself running at once, so whenBusy() sees the short stages of tiny clips too
        STARTED_REPORT_DELAY_MS: '0',
      },
    });
    receiver = await startWebhookReceiver();
    const res = await fetch(`${s.stack.gatewayUrl}/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url }),
    });
    assert.equal(res.status, 201, await res.text());
    clip = tinyClip(media);
  });

  after(async () => {
    await receiver?.close();
    if (process.env.E2E_SHOW_LOGS) console.log(s?.logs(40));
    await s?.teardown();
    rmSync(media, { recursive: true, force: true });
    console.log(
      `fault matrix (${VIDEOS_PER_CASE} videos per case; refused = no attempt accepted; unacked = committed although the client never got the answer; ` +
        `recover = from the fault's end to the case's last video finished)\n` +
        table(
          ['case', 'accepted', 'refused', 'finished', 'lost', 'unacked', 'webhook redeliveries', 'outage (s)', 'recover (s)', 'note'],
          figures.map((f) => [
            f.name,
            f.accepted,
            f.refused,
            f.finished,
            f.lost,
            f.unacked,
            f.redelivered,
            f.outageS.toFixed(1),
            f.recoverS.toFixed(1),
            f.note,
          ]),
        ),
    );
    console.log(`fault matrix wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  /** One upload with retries (same Idempotency-Key) on connection errors, 429 and 5xx, for up to `retryForMs`. */
  async function submitOne(caseName: string, index: number, retryForMs: number): Promise<Submission> {
    const sub: Submission = { index, id: null, firstStatus: '', firstSlug: '', attempts: 0, lastError: '' };
    const deadline = Date.now() + retryForMs;
    for (;;) {
      sub.attempts++;
      let status: number | string;
      let slug = '';
      try {
        const r = await s.client.submitFile(clip, { idempotencyKey: `${caseName}-${index}`, metadata: { case: caseName, index } });
        sub.id = r.id;
        status = 202;
      } catch (err) {
        const e = err as Error & { status?: number; body?: string };
        status = e.status ?? `network: ${(e.cause as Error | undefined)?.message ?? e.message}`.slice(0, 60);
        try {
          slug =
            String((JSON.parse(e.body ?? '{}') as { type?: string }).type ?? '')
              .split('/')
              .pop() ?? '';
        } catch {
          slug = '';
        }
        sub.lastError = `${status} ${slug} ${e.message.slice(0, 120)}`;
      }
      if (sub.attempts === 1) {
        sub.firstStatus = status;
        sub.firstSlug = slug;
      }
      if (sub.id) return sub;
      const retryable = typeof status === 'string' || status === 429 || status >= 500;
      if (!retryable || Date.now() > deadline) return sub;
      await sleep(500);
    }
  }

  async function submitMany(caseName: string, from: number, n: number, retryForMs: number, onAccepted?: (count: number) => void): Promise<Submission[]> {
    const out: Submission[] = [];
    let next = from;
    let accepted = 0;
    await Promise.all(
      Array.from({ length: SUBMIT_CONCURRENCY }, async () => {
        while (next < from + n) {
          const i = next++;
          const sub = await submitOne(caseName, i, retryForMs);
          out.push(sub);
          if (sub.id) onAccepted?.(++accepted);
        }
      }),
    );
    return out.sort((a, b) => a.index - b.index);
  }

  async function stageCount(caseName: string, stage: string, states: string[]): Promise<number> {
    const r = await s.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM stages st JOIN videos v ON v.id = st.video_id WHERE v.metadata->>'case' = $1 AND st.name = $2 AND st.state = ANY($3)`,
      [caseName, stage, states],
    );
    return r.rows[0].n;
  }

  /** Waits (bounded) until `stage` is running for at least one of the case's videos: the kill then lands on live work. */
  async function whenBusy(caseName: string, stage: string): Promise<string> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const running = await stageCount(caseName, stage, ['running']).catch(() => 0);
      if (running > 0) return `killed with ${running} ${stage} running`;
      await sleep(50);
    }
    return `no ${stage} seen running within 30 s`;
  }

  /**
   * Every case starts from a whole stack: a service an earlier case could not bring back is started
   * once more here (that case has already failed and said why), so one failure does not cascade into
   * every later case waiting out its timeout.
   */
  async function ensureAllRunning(): Promise<void> {
    for (const name of SERVICES) {
      const h = s.stack.handles.get(name);
      if (h && !hasExited(h.child)) continue;
      console.log(`fault matrix: ${name} was not running at the start of a case; starting it again`);
      await s.stack.startOne(name, 120_000);
    }
  }

  async function killAndRestart(name: ServiceName): Promise<{ downAt: number; upAt: number }> {
    await s.stack.kill(name, 'SIGKILL');
    const downAt = Date.now();
    await sleep(DOWN_MS);
    await s.stack.startOne(name, 120_000);
    return { downAt, upAt: Date.now() };
  }

  /**
   * Runs one case: 50 submissions (plus any the fault adds), the fault, then waits until every video
   * of the case is terminal and checks exactly-once, webhooks included.
   */
  async function runCase(
    caseName: string,
    fault: (ctx: {
      submissions: Promise<Submission[]>;
      accepted: () => number;
    }) => Promise<{ downAt: number; upAt: number; note: string; extra?: Submission[] }>,
    opts: { retryForMs?: number } = {},
  ): Promise<void> {
    await ensureAllRunning();
    let acceptedSoFar = 0;
    const submissions = submitMany(caseName, 0, VIDEOS_PER_CASE, opts.retryForMs ?? 60_000, (n) => (acceptedSoFar = n));
    const f = await fault({ submissions, accepted: () => acceptedSoFar });
    const subs = [...(await submissions), ...(f.extra ?? [])];
    const acceptedIds = [...new Set(subs.filter((x) => x.id).map((x) => x.id!))];
    assert.equal(acceptedIds.length, subs.filter((x) => x.id).length, `${caseName}: two submissions with different Idempotency-Keys got the same video`);

    // every video of this case the database knows, acknowledged or not, must finish
    const deadline = Date.now() + CASE_TIMEOUT_MS;
    let rows: { id: string; status: string; finished_at: Date | null }[] = [];
    let dead: string[] = [];
    for (;;) {
      // a service that died on its own (nothing here restarts it) would leave the case waiting out its timeout
      dead = SERVICES.filter((n) => {
        const h = s.stack.handles.get(n);
        return !h || hasExited(h.child);
      });
      if (dead.length) break;
      rows = await s.db
        .query<{ id: string; status: string; finished_at: Date | null }>(`SELECT id, status, finished_at FROM videos WHERE metadata->>'case' = $1`, [caseName])
        .then(
          (r) => r.rows,
          () => rows,
        );
      const known = new Set(rows.map((r) => r.id));
      const pending = rows.filter((r) => !['succeeded', 'failed', 'canceled'].includes(r.status)).length + acceptedIds.filter((id) => !known.has(id)).length;
      if (pending === 0 || Date.now() > deadline) break;
      await sleep(500);
    }
    const lastFinish = Math.max(...rows.map((r) => r.finished_at?.getTime() ?? 0));

    // through the API: every accepted video succeeded
    const apiStatus = new Map<string, string>();
    for (const id of acceptedIds)
      apiStatus.set(
        id,
        await s.client.status(id).then(
          (d) => (d.status === 'failed' ? `failed ${d.error?.type.split('/').pop()}: ${d.error?.detail}` : d.status),
          (e: Error) => `error ${e.message}`,
        ),
      );
    const lostIds = acceptedIds.filter((id) => apiStatus.get(id) !== 'succeeded');
    // through the database: one result row per accepted video
    const results = await s.db.query<{ video_id: string; n: number }>(
      'SELECT video_id, count(*)::int AS n FROM results WHERE video_id = ANY($1) GROUP BY video_id',
      [acceptedIds],
    );
    const unacked = rows.filter((r) => !acceptedIds.includes(r.id));

    // webhooks: each finished video delivered, under one webhook-id, one delivery row per subscription
    const terminal = rows.filter((r) => ['succeeded', 'failed'].includes(r.status)).map((r) => r.id);
    const delivered = () => new Set(receiver.received.map((r) => (JSON.parse(r.body) as { data: { id: string } }).data.id));
    const whDeadline = Date.now() + 60_000;
    while (terminal.some((id) => !delivered().has(id)) && Date.now() < whDeadline) await sleep(250);
    const undelivered = terminal.filter((id) => !delivered().has(id));
    const splitIds = terminal.filter((id) => new Set(receiver.received.filter((r) => r.body.includes(id)).map((r) => r.headers['webhook-id'])).size > 1);
    const redelivered = terminal.reduce((n, id) => n + Math.max(0, receiver.received.filter((r) => r.body.includes(id)).length - 1), 0);
    const rowsPerVideo = await s.db.query<{ video_id: string; n: number }>(
      `SELECT video_id, count(*)::int AS n FROM webhook_deliveries WHERE video_id = ANY($1) AND webhook_id IS NOT NULL GROUP BY video_id`,
      [terminal],
    );

    figures.push({
      name: caseName,
      accepted: acceptedIds.length,
      refused: subs.filter((x) => !x.id).length,
      finished: acceptedIds.length - lostIds.length,
      lost: lostIds.length,
      unacked: unacked.length,
      redelivered,
      outageS: (f.upAt - f.downAt) / 1000,
      recoverS: Math.max(0, (lastFinish - f.upAt) / 1000),
      note: [f.note, ...new Set(subs.filter((x) => !x.id).map((x) => `refused: ${x.lastError.slice(0, 80)}`))].join('; '),
    });

    const problems: string[] = [];
    if (dead.length) problems.push(`${dead.join(', ')} exited on its own during the case (see the log below)`);
    if (lostIds.length)
      problems.push(`${lostIds.length} accepted videos did not succeed: ${[...new Set(lostIds.map((id) => apiStatus.get(id)))].slice(0, 3).join(' | ')}`);
    if (results.rowCount !== acceptedIds.length) problems.push(`${results.rowCount} result rows for ${acceptedIds.length} accepted videos`);
    for (const r of results.rows) if (r.n !== 1) problems.push(`${r.video_id}: ${r.n} result rows`);
    const stuck = unacked.filter((r) => r.status !== 'succeeded');
    if (stuck.length) problems.push(`${stuck.length} committed-but-unacknowledged videos did not succeed (${stuck.map((r) => r.status).join(', ')})`);
    if (undelivered.length) problems.push(`${undelivered.length} finished videos got no webhook`);
    if (splitIds.length) problems.push(`${splitIds.length} videos delivered under more than one webhook-id`);
    for (const r of rowsPerVideo.rows) if (r.n !== 1) problems.push(`${r.video_id}: ${r.n} delivery rows for one subscription`);
    if (rowsPerVideo.rowCount !== terminal.length) problems.push(`${rowsPerVideo.rowCount} videos with a delivery row, ${terminal.length} finished`);
    assert.deepEqual(problems, [], `${caseName}\n${problems.length ? s.logs(8) : ''}`);
    // finished videos' artifacts go (as retention would), so the small tmpfs holds every case
    for (const id of terminal) rmSync(path.join(s.artifactDir, 'videos', id), { recursive: true, force: true });
  }

  const workerStage: [ServiceName, string][] = [
    ['media', 'media'],
    ['asr', 'asr'],
    ['audio-emotion', 'audio-emotion'],
    ['vision', 'vision'],
    ['text', 'text'],
  ];
  for (const [service, stage] of workerStage) {
    test(`SIGKILL ${service} while its stage runs`, async () => {
      await runCase(`kill-${service}`, async () => {
        const note = await whenBusy(`kill-${service}`, stage);
        return { ...(await killAndRestart(service)), note };
      });
    });
  }

  test('SIGKILL fusion while embeddings are being pushed', async () => {
    await runCase('kill-fusion', async () => {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (await stageCount('kill-fusion', 'audio-emotion', ['running', 'done'])) < 3) await sleep(50);
      const note = `killed with ${await stageCount('kill-fusion', 'fusion', ['running', 'done'])} fusion stages started`;
      return { ...(await killAndRestart('fusion')), note };
    });
  });

  test('SIGKILL the orchestrator with videos in flight', async () => {
    await runCase('kill-orchestrator', async ({ submissions }) => {
      await submissions;
      await sleep(300);
      const done = await s.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM videos WHERE metadata->>'case' = 'kill-orchestrator' AND status = 'succeeded'`,
      );
      return { ...(await killAndRestart('orchestrator')), note: `killed with ${VIDEOS_PER_CASE - done.rows[0].n} unfinished` };
    });
  });

  test('SIGKILL the gateway in the middle of the uploads', async () => {
    await runCase('kill-gateway', async ({ accepted }) => {
      const deadline = Date.now() + 60_000;
      while (accepted() < VIDEOS_PER_CASE / 2 && Date.now() < deadline) await sleep(10);
      const note = `killed after ${accepted()} accepted`;
      return { ...(await killAndRestart('gateway')), note };
    });
  });

  test('Redis restarted (AOF) with videos in flight; submissions during the outage still answer 202', async () => {
    const held: { extra: Submission[] } = { extra: [] };
    await runCase('restart-redis', async ({ submissions }) => {
      await submissions;
      await sleep(300);
      // start the restart, then submit while Redis is down
      const restart = s.redis.restart(3000);
      await sleep(500);
      const during = submitMany('restart-redis', VIDEOS_PER_CASE, 4, 60_000);
      const r = await restart;
      held.extra = await during;
      return { ...r, note: `first answers during outage: ${held.extra.map((x) => x.firstStatus).join(',')}`, extra: held.extra };
    });
    const extra = held.extra;
    assert.equal(extra.length, 4);
    assert.deepEqual(
      extra.map((x) => x.firstStatus),
      extra.map(() => 202),
      `a Submit during a Redis outage commits the video and must answer 202 (the reconciler enqueues it later): ${extra.map((x) => x.lastError || x.firstStatus).join(' | ')}`,
    );
  });

  test('PostgreSQL restarted (crash, -m immediate) with videos in flight; submissions during the outage get 503 unavailable', async () => {
    const held: { extra: Submission[] } = { extra: [] };
    await runCase('restart-postgres', async ({ submissions }) => {
      await submissions;
      await sleep(300);
      const restart = s.postgres.restart(3000);
      await sleep(800);
      const during = submitMany('restart-postgres', VIDEOS_PER_CASE, 3, 60_000);
      const r = await restart;
      held.extra = await during;
      return { ...r, note: `first answers during outage: ${held.extra.map((x) => `${x.firstStatus} ${x.firstSlug}`).join(',')}`, extra: held.extra };
    });
    const extra = held.extra;
    assert.equal(extra.length, 3);
    for (const x of extra) {
      // nothing can be committed without the database: a clean, retryable refusal (not a 500 with pg's words)
      assert.equal(`${x.firstStatus} ${x.firstSlug}`, '503 unavailable', `submission ${x.index} during the PostgreSQL outage: ${x.lastError}`);
    }
  });

  test('ARTIFACT_DIR full while videos are processed: nothing fails for good; all finish once space is back', async (t) => {
    if (s.tmpfsRefused !== null) {
      console.log(`SKIPPED: cannot mount tmpfs (${s.tmpfsRefused}): the ARTIFACT_DIR-full case did not run`);
      return t.skip(`SKIPPED: cannot mount tmpfs: ${s.tmpfsRefused}`);
    }
    const filler = path.join(s.artifactDir, 'filler.bin');
    let during: Submission[] = [];
    try {
      await runCase('artifact-dir-full', async ({ submissions }) => {
        // hold the media stage, take the uploads in, then fill the disk before media writes a byte
        await s.stack.kill('media', 'SIGKILL');
        await submissions;
        fill(filler);
        const downAt = Date.now();
        await s.stack.startOne('media', 120_000);
        // uploads while the disk is full: refused as a server-side (retryable) condition
        const duringP = submitMany('artifact-dir-full', VIDEOS_PER_CASE, 3, 60_000);
        await sleep(5000);
        const failedMeanwhile = await s.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM videos WHERE metadata->>'case' = 'artifact-dir-full' AND status = 'failed'`,
        );
        rmSync(filler, { force: true });
        const upAt = Date.now();
        during = await duringP;
        return {
          downAt,
          upAt,
          note: `${failedMeanwhile.rows[0].n} failed while full; first answers while full: ${during.map((x) => `${x.firstStatus} ${x.firstSlug}`).join(',')}`,
          extra: during,
        };
      });
    } finally {
      rmSync(filler, { force: true });
    }
    for (const x of during) {
      // the server's problem, and a passing one: 503 unavailable (with Retry-After), not the client's fault nor a 500
      assert.equal(`${x.firstStatus} ${x.firstSlug}`, '503 unavailable', `an upload into a full disk: got ${x.firstStatus} ${x.firstSlug}`);
    }
  });
});

/** Writes until the file system says ENOSPC. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(1024 * 1024, 0x5a);
  try {
    for (let i = 0; i < 100_000; i++) {
      try {
        writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        // top off the last partial megabyte too
        for (let j = 0; j < 1024; j++) {
          try {
            writeSync(fd, chunk.subarray(0, 1024));
          } catch {
            return;
          }
        }
        return;
      }
    }
  } finally {
    closeSync(fd);
  }
}
