/**
 * The Chromium every browser run here starts (specs, benchmarks): Debian's, or CHROMIUM_PATH,
 * never one Playwright would download (that cannot work here), and the flags all of them need.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Host candidates as addresses (the private network namespace has no mDNS), no throttling of
 * background tabs (a page in a background tab still relays), nothing fetched from outside.
 */
export const CHROMIUM_ARGS = [
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];
