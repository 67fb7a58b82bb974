/**
 * Headless Chromium (Debian's package, installed on first use) driven by
 * playwright-core, for the tests of the gateway's browser pages: launch,
 * pages that record every request leaving the gateway (there must be none),
 * and the token prompt.
 */
import { type Browser, chromium, type Page } from 'playwright-core';
import { BROWSER_BINARIES, CHROMIUM_PATH, ensurePackages } from '../../scripts/directories/packages.js';

/** Chromium as the machine notes say it works here: no sandbox (root), no outside network. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const DESKTOP = { width: 1280, height: 1000 } as const;
export const PHONE = { width: 375, height: 812 } as const;

/** Installs Debian's chromium if missing (a fresh machine: allow for a slow mirror), then launches it. */
export async function launchBrowser(label: string): Promise<Browser> {
  await ensurePackages(BROWSER_BINARIES, (line) => console.log(`[${label}] ${line}`));
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

export interface PageOpener {
  /** A page in a context of its own (its own sessionStorage: one tab), in `timezoneId` if given. */
  open(viewport?: { width: number; height: number }, options?: { timezoneId?: string }): Promise<Page>;
  /** Requests made to anything but the gateway. */
  readonly outside: readonly string[];
}

/** Opens pages of `browser` whose requests to anything but `base` (http or ws) are recorded. */
export function pageOpener(browser: () => Browser, base: () => string): PageOpener {
  const outside: string[] = [];
  return {
    outside,
    async open(viewport = DESKTOP, options = {}) {
      const context = await browser().newContext({ viewport, ...options });
      const page = await context.newPage();
      const origin = base();
      page.on('request', (req) => {
        if (!req.url().startsWith(origin) && !req.url().startsWith(origin.replace(/^http/, 'ws')))
          outside.push(req.url());
      });
      return page;
    },
  };
}

/** Opens `/`, types the token into the prompt and waits for the status view. */
export async function logIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.locator('#login').waitFor({ state: 'visible' });
  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
  await page.locator('body[data-loaded=true]').waitFor();
}
