// A real browser for tests: Debian's chromium driven by playwright-core, with a fresh profile per
// test, every request off this machine refused (and recorded), and the page's console errors,
// CSP violations and uncaught exceptions collected so a test can assert there were none.

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { commandAvailable } from './parts.ts';

/** CHROMIUM_PATH is the browser binary: $SYSTEMMANAGER_CHROMIUM or Debian's /usr/bin/chromium. */
export const CHROMIUM_PATH = process.env.SYSTEMMANAGER_CHROMIUM ?? '/usr/bin/chromium';

/** CHROMIUM_HINT is the hint for requirePart when the browser is missing. */
export const CHROMIUM_HINT = `no executable ${CHROMIUM_PATH}; run scripts/install-deps.sh (installs Debian's chromium)`;

/** ARTIFACTS_DIR is where tests leave screenshots for people to look at (gitignored). */
export const ARTIFACTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts');

/** CHROMIUM_ARGS keep the browser headless and quiet: no GPU, no sandbox (root in CI), no calls home. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/** chromiumAvailable tells whether the browser binary is there. */
export function chromiumAvailable(): boolean {
  return commandAvailable(CHROMIUM_PATH);
}

/** BrowserSession is one browser with one page. */
export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** problems: console errors (CSP violations among them) and uncaught page exceptions, in order. */
  problems: string[];
  /** blocked: URLs the page tried to reach off loopback (refused). */
  blocked: string[];
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** openBrowser launches chromium with a fresh user data dir; after the test it is closed, then the profile removed. */
export async function openBrowser(t: TestContext): Promise<BrowserSession> {
  const profile = await mkdtemp(join(tmpdir(), 'sm-chromium-'));
  // One hook, in this order: t.after hooks run first-registered first, and chromium writes its profile until it exits.
  let context: BrowserContext | undefined;
  t.after(async () => {
    await context?.close();
    await rm(profile, { recursive: true, force: true, maxRetries: 3 });
  });
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: false,
  });
  const problems: string[] = [];
  const blocked: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && !LOOPBACK.has(url.hostname)) {
      blocked.push(url.href);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
  return { context, page, problems, blocked };
}

/** saveScreenshot writes a full-page PNG to test-artifacts/<name>.png and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const file = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
