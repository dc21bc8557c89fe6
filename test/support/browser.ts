import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';

/** The Chromium the tests drive: CHROMIUM_PATH, then chromium or chromium-browser on PATH (where scripts/test.sh installs it). */
export function findChromium(): string | undefined {
  const onPath = (name: string) => (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, name));
  return [process.env.CHROMIUM_PATH, ...onPath('chromium'), ...onPath('chromium-browser')].find((p): p is string => !!p && existsSync(p));
}

export const NO_CHROMIUM = 'SKIPPED: no Chromium (apt-get install chromium); scripts/test.sh installs it';

/**
 * Headless Chromium as root in a container with no outside network: no sandbox, no GPU, and none of the
 * background connections (updates, sync, QUIC) the closed network would refuse at every start.
 */
export async function launchChromium(executablePath: string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
