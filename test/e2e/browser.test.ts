import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AnalysisResult } from '@omniaffect/core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { NO_CHROMIUM, findChromium, launchChromium } from '../support/browser';
import { audioOnly, corruptVideo, silentVideo, speechVideo } from '../support/media-fixtures';
import { startTestStack, type TestStack } from '../support/stack-fixture';
import { startWebhookReceiver } from '../support/webhook-receiver';

/**
 * The console and the report in a real browser (Debian's Chromium driven by playwright-core): a person
 * submits a video through the console, watches it finish, opens its report in English and Chinese,
 * checks what each section shows against the result JSON, seeks the video by clicking a segment and
 * rates the explanation; an exported report opens from a file with the network cut off; videos with
 * no speech and with no video stream show their absent modality and why. Screenshots go to
 * $OMNIAFFECT_SCREENSHOTS (default test-artifacts/screenshots), not into the repository.
 */
const CHROMIUM = findChromium();
const SHOTS = path.resolve(process.env.OMNIAFFECT_SCREENSHOTS ?? path.join(__dirname, '..', '..', '..', 'test-artifacts', 'screenshots'));

describe('console and report in a real browser', { timeout: 900_000, skip: CHROMIUM ? false : NO_CHROMIUM }, () => {
  let s: TestStack;
  let browser: Browser;
  let context: BrowserContext;
  const errors: string[] = [];
  const work = mkdtempSync(path.join(os.tmpdir(), 'oa-browser-'));
  let videoId = '';
  let result: AnalysisResult;
  /** the console tab: its session storage holds the key, as a person's tab would */
  let consolePage: Page;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;

  const watch = (page: Page) => {
    page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && errors.push(`${page.url()}: ${m.text()}`));
  };
  const shot = async (page: Page, name: string) => {
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  };

  before(async () => {
    hook = await startWebhookReceiver();
    s = await startTestStack();
    browser = await launchChromium(CHROMIUM!);
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB' });
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await s?.teardown();
    await hook?.close();
  });

  test('the console: enter the key, upload a video, watch it run to the end, see a failure with its reason', async () => {
    const page = (consolePage = await context.newPage());
    watch(page);
    await page.goto(`${s.stack.gatewayUrl}/`);
    await page.fill('#api-key', s.apiKey);
    await page.click('#key-form button[type=submit]');
    // the key stays in the tab, never in a URL
    assert.equal(await page.evaluate('sessionStorage.getItem("omniaffect.apiKey")'), s.apiKey);
    assert.ok(!page.url().includes(s.apiKey));

    // a webhook subscription: its secret is shown once, and the deliveries show up under it
    await page.fill('#webhook-url', hook.url);
    await page.click('#webhook-form button[type=submit]');
    assert.match(await page.locator('#webhook-status .secret').innerText(), /^whsec_/);
    await page.locator('.webhook').first().waitFor();

    await page.setInputFiles('#file', speechVideo(work, 6));
    await page.selectOption('#language', 'zh');
    await page.click('#submit');
    const row = page.locator('.video[data-status]').first();
    await row.waitFor();
    videoId = (await row.getAttribute('id'))!.slice(2);
    // live progress from the event stream: every stage ends done or skipped, then the video succeeds
    await page.waitForSelector(`#v-${videoId}[data-status="succeeded"]`, { timeout: 120_000 });
    const states = await page.locator(`#v-${videoId} .stage`).evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
    assert.deepEqual(states, ['done', 'done', 'done', 'done', 'done', 'done']);
    result = await s.client.result<AnalysisResult>(videoId);
    // the webhook fired for it, and the console lists the delivery with its outcome
    await page.waitForSelector(`.webhook tr[data-video="${videoId}"] .outcome[data-status="succeeded"]`, { timeout: 60_000 });
    assert.ok(hook.received.some((r) => r.body.includes(videoId)));

    // a broken file fails with its problem type, shown in the list
    await page.setInputFiles('#file', corruptVideo(work));
    await page.click('#submit');
    await page.waitForSelector('.video[data-status="failed"] .problem', { timeout: 60_000 });
    assert.match(await page.locator('.video[data-status="failed"] .problem').first().innerText(), /unsupported-media/);
    await shot(page, 'console-en');
    await page.click('#lang-switch');
    assert.match(await page.locator('h1').innerText(), /控制台/);
    await shot(page, 'console-zh');
    await page.click('#lang-switch');
  });

  test('the report from the console: each section shows the result’s numbers, in English and Chinese', async () => {
    assert.ok(videoId, 'a finished video');
    const page = consolePage;
    const [report] = await Promise.all([context.waitForEvent('page'), page.click(`#v-${videoId} .open-report`)]);
    watch(report);
    await report.waitForLoadState('load');
    // the signed link carries no API key
    assert.ok(!report.url().includes(s.apiKey), report.url());
    // header: the verdict and its probability
    assert.equal(await report.locator('div.verdict').getAttribute('data-sentiment'), result.sentiment.label);
    const conf = (result.sentiment.probabilities[result.sentiment.label] * 100).toFixed(1);
    assert.ok((await report.locator('div.verdict .conf').innerText()).includes(conf), `verdict shows ${conf}%`);
    assert.equal(await report.locator('.emotion').getAttribute('data-emotion'), result.emotion.label);
    // the timeline: one segment per result segment
    assert.equal(await report.locator('svg.timeline:visible .seg').count(), result.timeline.length);
    // modality contributions as in the result
    for (const m of ['text', 'audio', 'vision'] as const) {
      const txt = await report.locator(`.pbar.modality[data-modality="${m}"] .pval`).innerText();
      if (result.modalities[m].present) assert.ok(txt.includes((result.modalities[m].contribution * 100).toFixed(1)), `${m}: ${txt}`);
    }
    // the transcript holds the recognised text; verified words are highlighted
    assert.ok((await report.locator('.transcript').innerText()).includes(result.transcript.text.trim().slice(0, 3)));
    const verifiedWords = result.timeline.flatMap((t) => t.evidence.words.filter((w) => w.verified));
    assert.equal((await report.locator('.transcript mark').count()) > 0, verifiedWords.length > 0);
    // faithfulness numbers
    if (result.faithfulness.comprehensiveness !== null) {
      assert.ok((await report.locator('.comp').innerText()).includes(result.faithfulness.comprehensiveness.toFixed(3)));
    }
    await shot(report, 'report-en');
    mkdirSync(SHOTS, { recursive: true });
    await report.screenshot({ path: path.join(SHOTS, 'report-top-en.png'), fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 1450 } });

    // seeking: clicking a segment plays the video from its start
    const seg = report.locator('svg.timeline:visible .seg').last();
    const start = Number(await seg.getAttribute('data-start'));
    await seg.click();
    await report.waitForFunction(`Number(document.body.getAttribute('data-seeked')) === ${start}`);
    const player = report.locator('#player');
    if (await player.count()) {
      await report.waitForFunction(`Math.abs(document.getElementById('player').currentTime - ${start}) < 0.6`, undefined, { timeout: 15_000 });
    }

    // Chinese: the switch flips every label in place
    await report.click('#lang-switch');
    assert.equal(await report.locator('html').getAttribute('lang'), 'zh');
    assert.ok(await report.locator('#timeline h2 [data-l="zh"]').isVisible());
    assert.ok(!(await report.locator('#timeline h2 [data-l="en"]').isVisible()));
    assert.equal(await report.locator('#timeline h2').innerText(), '情绪时间线');
    const zhVerdict = await report.locator('div.verdict .big').innerText();
    assert.equal(zhVerdict, { negative: '消极', neutral: '中性', positive: '积极' }[result.sentiment.label]);
    await shot(report, 'report-zh');

    // rating: stored with this key, visible through the API
    await report.click('#rating-form input[name=clarity][value="4"]');
    await report.click('#rating-form input[name=relevance][value="5"]');
    await report.fill('#rating-form textarea', 'clear and to the point');
    await report.click('#rating-form button[type=submit]');
    await report.waitForSelector('#rating-status[data-saved="true"]');
    const ratings = (await (
      await fetch(`${s.stack.gatewayUrl}/v1/videos/${videoId}/ratings`, { headers: { authorization: `Bearer ${s.apiKey}` } })
    ).json()) as {
      ratings: { clarity: number; relevance: number; comment: string }[];
    };
    assert.deepEqual(
      ratings.ratings.map((r) => [r.clarity, r.relevance, r.comment]),
      [[4, 5, 'clear and to the point']],
    );
    await report.close();
  });

  test('the exported report opens from a file with the network cut off', async () => {
    const html = await s.client.report(videoId, { exported: true, lang: 'zh' });
    const file = path.join(work, 'report.html');
    writeFileSync(file, html);
    const offline = await browser.newContext({ offline: true });
    const requests: string[] = [];
    offline.on('request', (r) => !r.url().startsWith('file:') && !r.url().startsWith('data:') && requests.push(r.url()));
    const page = await offline.newPage();
    watch(page);
    await page.goto(`file://${file}`);
    assert.equal(await page.locator('html').getAttribute('lang'), 'zh');
    assert.equal(await page.locator('svg.timeline:visible .seg').count(), result.timeline.length);
    assert.equal(await page.locator('.video-none').getAttribute('data-why'), 'report.video.exported');
    await page.click('#lang-switch');
    assert.equal(await page.locator('#timeline h2').innerText(), 'Emotion timeline');
    // no form posting anywhere, and nothing was fetched
    assert.equal(await page.locator('#rating-form').count(), 0);
    assert.deepEqual(requests, []);
    await offline.close();
  });

  test('no speech, and no video stream: the report shows the absent modality and why', async () => {
    const cases = [
      { file: silentVideo(work, 4), modality: 'text', reason: /no speech detected|no transcript/ },
      { file: audioOnly(work, 4), modality: 'vision', reason: /no video stream/ },
    ] as const;
    const page = await context.newPage();
    watch(page);
    for (const c of cases) {
      const { id } = await s.client.submitFile(c.file);
      const doc = await s.client.waitForTerminal(id, 120_000);
      assert.equal(doc.status, 'succeeded', JSON.stringify(doc.error));
      const r = await s.client.result<AnalysisResult>(id);
      assert.equal(r.modalities[c.modality].present, false);
      const html = await s.client.report(id, { lang: 'en', exported: true });
      const file = path.join(work, `${c.modality}-absent.html`);
      writeFileSync(file, html);
      await page.goto(`file://${file}`);
      const row = page.locator(`.pbar.modality[data-modality="${c.modality}"]`);
      assert.equal(await row.getAttribute('data-present'), 'false');
      assert.match(await row.innerText(), c.reason);
      await shot(page, `report-${c.modality}-absent`);
    }
    await page.close();
  });

  test('no page logged an error', () => {
    assert.deepEqual(errors, []);
  });
});
