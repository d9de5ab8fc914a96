/**
 * What the browser benchmarks share: a deadline that stops a run that hangs, the server
 * serving the built web app on loopback, and Debian's Chromium with the flags benchmarks need.
 * Run them inside a private network namespace (e2e/isolate.mjs does it).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer, silentLogger, type RunningServer } from '@cubecast/signaling-server';
import { chromium, type Browser } from 'playwright-core';

export interface BenchBrowser {
  readonly server: RunningServer;
  readonly browser: Browser;
  close(): Promise<void>;
}

/** Starts the server and the browser, and a deadline after which the process exits. */
export async function startBenchBrowser(name: string, page: string, deadlineMs: number): Promise<BenchBrowser> {
  const watchdog = setTimeout(() => {
    console.error(`${name}: still running after ${deadlineMs / 60_000} minutes; stopping`);
    process.exit(1);
  }, deadlineMs);
  const webRoot = fileURLToPath(new URL('../apps/web/dist', import.meta.url));
  if (!existsSync(`${webRoot}/${page}`)) {
    console.error(`${name}: apps/web/dist/${page} is missing; run npm run build first`);
    process.exit(2);
  }
  const server = await startServer({ port: 0, host: '127.0.0.1', webRoot, logger: silentLogger });
  const executablePath = process.env.CHROMIUM_PATH ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);
  const browser = await chromium.launch({
    ...(executablePath && { executablePath }),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-features=WebRtcHideLocalIpsWithMdns', '--disable-background-timer-throttling', '--disable-renderer-backgrounding'],
  });
  return {
    server,
    browser,
    close: async () => {
      await browser.close();
      await server.close();
      clearTimeout(watchdog);
    },
  };
}
