import { makeSelfSignedCertificate, silentLogger, startServer, type IceSettings, type RunningServer, type ServerOptions, type TlsCredentials } from '@cubecast/signaling-server';
import { startTurn, type TurnProcess } from '@cubecast/signaling-server/services';
import type { Browser, Page } from '@playwright/test';
import { createHash, X509Certificate } from 'node:crypto';
import { webRoot } from '../loopback-server.js';
import { INTERNET_ADDRESS, NatNetwork, type NatKind } from './nat-network.js';

export const TURN_SECRET = 'e2e-turn-secret';

/**
 * How the server configures ICE: STUN and TURN (coturn, REST credentials), STUN only, nothing,
 * TURN with a secret coturn does not know, or TURN over TLS only (`turns:`) with every
 * connection relayed.
 */
export type IceMode = 'stun-turn' | 'stun' | 'none' | 'wrong-secret' | 'turns-relay';

/** The NAT test network with its servers, for specs (the `nat` fixture) and benchmarks. */
export interface NatTestbed {
  readonly network: NatNetwork;
  readonly server: RunningServer;
  readonly turn: TurnProcess;
  /** The ICE servers the server hands out. */
  readonly ice: IceSettings;
  /** Opens a tab in home `home` (1-based) over HTTPS; resolves once it joined. */
  open(home: number, query?: string): Promise<Page>;
  readonly pages: Page[];
  /** What the tabs threw (`pageerror`). */
  readonly errors: string[];
  close(): Promise<void>;
}

function iceSettings(ice: IceMode, turn: TurnProcess): IceSettings {
  const stun = { urls: `stun:${INTERNET_ADDRESS}:${turn.port}` };
  if (ice === 'none') return { iceServers: [], iceTransportPolicy: 'all' };
  if (ice === 'stun') return { iceServers: [stun], iceTransportPolicy: 'all' };
  if (ice === 'turns-relay') return { iceServers: [], turn: { urls: [`turns:${INTERNET_ADDRESS}:${turn.tlsPort}?transport=tcp`], secret: TURN_SECRET, ttlSeconds: 3600 }, iceTransportPolicy: 'relay' };
  return {
    iceServers: [stun],
    turn: { urls: [`turn:${INTERNET_ADDRESS}:${turn.port}?transport=udp`], secret: ice === 'wrong-secret' ? 'not-the-secret' : TURN_SECRET, ttlSeconds: 3600 },
    iceTransportPolicy: 'all',
  };
}

/**
 * Builds the network (one home per entry of `homes`), starts coturn and the server (with `serverOptions`) over HTTPS
 * (its certificate made here: a page at this address is a secure context only so); close()
 * takes it all down, the tabs first (a server that closes first waits on their WebSockets).
 */
export async function startNatTestbed(homes: readonly NatKind[], ice: IceMode = 'stun-turn', serverOptions: Partial<ServerOptions> = {}): Promise<NatTestbed> {
  const network = NatNetwork.create(homes);
  let turn: TurnProcess | undefined;
  let server: RunningServer | undefined;
  let settings: IceSettings | undefined;
  let tls: TlsCredentials | undefined;
  const close = async () => {
    await network.closeBrowsers();
    await server?.close();
    await network.close();
    await turn?.stop();
  };
  try {
    tls = await makeSelfSignedCertificate([INTERNET_ADDRESS]);
    turn = await startTurn(TURN_SECRET, INTERNET_ADDRESS, ice === 'turns-relay' ? tls : undefined);
    settings = iceSettings(ice, turn);
    server = await startServer({ port: 0, host: INTERNET_ADDRESS, logger: silentLogger, tls, ice: settings, webRoot: webRoot(), ...serverOptions });
  } catch (error) {
    await close();
    throw error;
  }
  const browsers = new Map<number, Browser>();
  const pages: Page[] = [];
  const errors: string[] = [];
  const url = server.url;
  // The homes' Chromium trusts the testbed's certificate, and it alone (TURN over TLS checks it).
  const spki = createHash('sha256').update(new X509Certificate(tls!.cert).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  return {
    network,
    server,
    turn,
    ice: settings!,
    pages,
    errors,
    close,
    async open(home, query = '') {
      let browser = browsers.get(home);
      if (!browser) browsers.set(home, (browser = await network.homes[home - 1]!.launchBrowser([`--ignore-certificate-errors-spki-list=${spki}`])));
      const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 900, height: 800 } });
      const page = await context.newPage();
      page.on('pageerror', (error) => errors.push(`home ${home}: ${error.message}`));
      pages.push(page);
      await page.goto(`${url}/${query}`);
      for (const deadline = Date.now() + 20_000; (await page.evaluate(() => (globalThis as { cubecast?: { connection: string } }).cubecast?.connection)) !== 'connected'; ) {
        if (Date.now() > deadline) throw new Error(`a tab in home ${home} did not join within 20 s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return page;
    },
  };
}
