import { makeSelfSignedCertificate, silentLogger, startServer, type IceSettings, type RunningServer } from '@cubecast/signaling-server';
// Test tooling, not part of the package's API: imported from its source.
import { startTurn, type TurnProcess } from '../../signaling-server/src/testing/turn-server.js';
import { test as base, expect, type Browser, type Page } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { snapshot } from '../fixtures.js';
import { INTERNET_ADDRESS, NatNetwork, type NatKind } from './nat-network.js';

const webRoot = fileURLToPath(new URL('../../apps/web/dist', import.meta.url));
export const TURN_SECRET = 'e2e-turn-secret';

/** How the server configures ICE: STUN and TURN (coturn, REST credentials), or nothing. */
export type IceMode = 'stun-turn' | 'stun' | 'none' | 'wrong-secret';

export interface NatTestbed {
  readonly network: NatNetwork;
  readonly server: RunningServer;
  readonly turn: TurnProcess;
  /** Opens a tab in home `home` (1-based) over HTTPS; resolves once it joined. */
  open(home: number, query?: string): Promise<Page>;
  readonly pages: Page[];
}

export const test = base.extend<{ homes: NatKind[]; ice: IceMode; nat: NatTestbed }>({
  homes: [['eim', 'eim'], { option: true }],
  ice: ['stun-turn', { option: true }],
  nat: async ({ homes, ice }, use) => {
    const network = NatNetwork.create(homes);
    let turn: TurnProcess | undefined;
    let server: RunningServer | undefined;
    const errors: string[] = [];
    try {
      turn = await startTurn(TURN_SECRET, INTERNET_ADDRESS);
      const settings: IceSettings =
        ice === 'none'
          ? { iceServers: [], iceTransportPolicy: 'all' }
          : ice === 'stun'
            ? { iceServers: [{ urls: `stun:${INTERNET_ADDRESS}:${turn.port}` }], iceTransportPolicy: 'all' }
            : {
              iceServers: [{ urls: `stun:${INTERNET_ADDRESS}:${turn.port}` }],
              turn: { urls: [`turn:${INTERNET_ADDRESS}:${turn.port}?transport=udp`], secret: ice === 'wrong-secret' ? 'not-the-secret' : TURN_SECRET, ttlSeconds: 3600 },
              iceTransportPolicy: 'all',
            };
      // HTTPS with a certificate made here: a page at this address is a secure context only so.
      server = await startServer({ port: 0, host: INTERNET_ADDRESS, webRoot, logger: silentLogger, tls: await makeSelfSignedCertificate([INTERNET_ADDRESS]), ice: settings });
      const browsers = new Map<number, Browser>();
      const pages: Page[] = [];
      const url = server.url;
      await use({
        network,
        server,
        turn,
        pages,
        async open(home, query = '') {
          let browser = browsers.get(home);
          if (!browser) browsers.set(home, (browser = await network.homes[home - 1]!.launchBrowser()));
          const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 900, height: 800 } });
          const page = await context.newPage();
          page.on('pageerror', (error) => errors.push(`home ${home}: ${error.message}`));
          pages.push(page);
          await page.goto(`${url}/${query}`);
          await expect.poll(() => snapshot(page).then((s) => s?.connection), { timeout: 20_000 }).toBe('connected');
          return page;
        },
      });
    } finally {
      // The tabs first: a server that closes first waits on their WebSockets' closing handshakes.
      await network.closeBrowsers();
      await server?.close();
      await network.close();
      await turn?.stop();
    }
    expect(errors, 'no page errors').toEqual([]);
  },
});

export { expect };
