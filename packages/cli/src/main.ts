#!/usr/bin/env node
import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '@omniaffect/core';
import { GatewayClient } from './client';
import { clientTarget } from './local-env';
import { demo, down, up } from './stack-commands';
import { registerModelCommands } from './model-commands';
import { registerFeatureCommands } from './feature-commands';
import { registerResearchCommands } from './research-commands';
import { statusAll } from './status-all';

const program = new Command();
program.name('omniaffect').description('OmniAffect: what emotion a zh/en video expresses, and why').showHelpAfterError();

program
  .command('up')
  .description('start the local stack in the background and wait until every service is ready')
  .option('--text-encoder <mode>', 'per-language (default) | multilingual: text-zh for en too, one text space for cross-lingual training')
  .action(async (o: { textEncoder?: string }) => {
    if (o.textEncoder && !['per-language', 'multilingual'].includes(o.textEncoder)) throw new Error('--text-encoder: use per-language or multilingual');
    if (o.textEncoder === 'multilingual') process.env.OMNIAFFECT_TEXT_ENCODER = 'multilingual';
    await up();
  });
program.command('down').description('stop the local stack').action(down);
program
  .command('demo')
  .description('run the main job end to end on a bundled sample and write the report')
  .argument('[file]', 'video to analyse', path.join(repoRoot(), 'samples', 'demo-en.mp4'))
  .option('--keep', 'leave the stack running')
  .option('--report-dir <dir>', 'where to write the report', path.join(repoRoot(), 'reports'))
  .action((file: string, o: { keep?: boolean; reportDir: string }) => demo(path.resolve(file), o));

program
  .command('submit')
  .description('submit a video file or an http(s) URL')
  .argument('<source>', 'file path or URL')
  .option('--language <lang>', 'auto | zh | en', 'auto')
  .option('--callback-url <url>', 'per-video webhook target')
  .option('--wait', 'wait until the video finishes')
  .option('--json', 'print JSON only')
  .action(async (source: string, o: { language: string; callbackUrl?: string; wait?: boolean; json?: boolean }) => {
    const t = clientTarget();
    const c = new GatewayClient(t.url, t.key);
    const isUrl = /^https?:\/\//i.test(source);
    const sub = isUrl
      ? await c.submitUrl(source, { language: o.language, callbackUrl: o.callbackUrl })
      : await c.submitFile(source, { language: o.language, callbackUrl: o.callbackUrl });
    if (!o.wait) {
      console.log(o.json ? JSON.stringify(sub) : `submitted ${sub.id} (${sub.status})`);
      return;
    }
    const doc = await c.waitForTerminal(sub.id, 3_600_000, (d) => {
      if (!o.json) process.stderr.write(`\r${d.status} ${(d.progress * 100).toFixed(0)}%   `);
    });
    if (!o.json) process.stderr.write('\n');
    if (doc.status === 'succeeded') console.log(JSON.stringify(await c.result(sub.id), null, o.json ? 0 : 2));
    else {
      console.log(JSON.stringify(doc, null, o.json ? 0 : 2));
      process.exitCode = 1;
    }
  });
program
  .command('status')
  .description("a video's status; with no id, every local service's readiness and metrics URL")
  .argument('[id]', 'video id (omit it for the local stack)')
  .option('--json', 'print JSON only')
  .action(async (id: string | undefined, o: { json?: boolean }) => {
    if (!id) {
      await statusAll(o);
      return;
    }
    const t = clientTarget();
    console.log(JSON.stringify(await new GatewayClient(t.url, t.key).status(id), null, 2));
  });
program
  .command('result')
  .argument('<id>')
  .action(async (id: string) => {
    const t = clientTarget();
    console.log(JSON.stringify(await new GatewayClient(t.url, t.key).result(id), null, 2));
  });

program
  .command('report')
  .description("write a video's report as one self-contained HTML file (opens with no server and no network)")
  .argument('<id>')
  .option('--out <file>', 'where to write it (default <id>.html)')
  .option('--lang <lang>', 'language shown first: en or zh (the page can switch)')
  .action(async (id: string, o: { out?: string; lang?: string }) => {
    if (o.lang !== undefined && o.lang !== 'en' && o.lang !== 'zh') throw new Error('--lang is en or zh');
    const t = clientTarget();
    const html = await new GatewayClient(t.url, t.key).report(id, { exported: true, lang: o.lang as 'en' | 'zh' | undefined });
    const out = path.resolve(o.out ?? `${id}.html`);
    writeFileSync(out, html);
    console.log(out);
  });

program
  .command('callback-secret')
  .description('print the whsec_ secret that signs your --callback-url deliveries (Standard Webhooks)')
  .action(async () => {
    const t = clientTarget();
    console.log(await new GatewayClient(t.url, t.key).callbackSecret());
  });

registerModelCommands(program);
registerFeatureCommands(program);
registerResearchCommands(program);

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`omniaffect: ${err.message}\n`);
  process.exit(1);
});
