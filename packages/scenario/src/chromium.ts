import { existsSync } from 'node:fs';

/**
 * The Chromium every browser run here starts (specs, benchmarks, scenarios): Debian's, or
 * CHROMIUM_PATH, never one Playwright would download (that cannot work here).
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * What benchmarks need: host candidates as addresses (the private network namespace has no
 * mDNS), no throttling of background tabs (a page in a background tab still relays), nothing
 * fetched from outside.
 */
export const BROWSER_ARGS = [
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

/** What a tab of a spec or scenario runs with: the benchmarks' flags, and a fake camera that needs no prompt. */
export const CHROMIUM_ARGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', ...BROWSER_ARGS];

export class ChromiumMissingError extends Error {
  override readonly name = 'ChromiumMissingError';
  constructor(readonly path: string) {
    super(`no Chromium at ${path}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
}

/** Said in one line, rather than in Playwright's banner about `npx playwright install` (which cannot work here). */
export function assertChromium(path = CHROMIUM_PATH): void {
  if (!existsSync(path)) throw new ChromiumMissingError(path);
}
