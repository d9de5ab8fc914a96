/**
 * The overlay a scenario runs on: Cubecast's server (one node, or several on a real Redis; on
 * loopback, or behind the NAT test network's homes), Chromium tabs driven through the page
 * (its data-testids, never internals), the server's observer controls, and the recorder.
 */
import type { AlgorithmName, Emulation, RoutingPolicyName } from '@cubecast/protocol';
import type { PeerSnapshot } from '@cubecast/peer';
import type { RunningServer, ServerOptions } from '@cubecast/signaling-server';
import { startRedis, type RedisProcess } from '@cubecast/signaling-server/services';
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatKind, NatNetwork } from './net/nat-network.js';
import { startNatTestbed, type IceMode, type NatTestbed } from './net/testbed.js';
import { UdpLoss } from './net/udp-loss.js';
import { ObserverConnection } from './observer-connection.js';
import { readSnapshot, Recorder } from './recorder.js';
import { renderReport } from './report.js';
import type { OutcomeStatus, Sample, TabInfo, TabOptions, Timeline } from './timeline.js';
import { startLoopbackServer } from './loopback-server.js';

/** The admin token of the kit's servers: the recorder and the overlay's controls present it. */
export const SCENARIO_ADMIN_TOKEN = 'scenario-admin';
const JOIN_TIMEOUT_MS = 20_000;
const STEP_TIMEOUT_MS = 30_000;
const POLL_MS = 200;

export interface OverlayOptions {
  /** Server nodes sharing one room store (more than one needs Redis, which the kit then starts). */
  readonly nodes?: number;
  /** Keep the rooms in a real redis-server the kit starts (Debian's), also with one node. */
  readonly redis?: boolean;
  /** Tabs behind NATs: one home of the NAT test network per entry (one server node, over HTTPS). */
  readonly homes?: readonly NatKind[];
  /** How the NAT test network's server configures ICE (with `homes`). */
  readonly ice?: IceMode;
  /** The room the tabs join (the server's default room when absent). */
  readonly room?: string;
  /** The overlay algorithm the room runs (the deployment's default when absent). */
  readonly algorithm?: AlgorithmName;
  /** The recorder's tick, ms. */
  readonly tickMs?: number;
  /** Anything else the servers start with. */
  readonly serverOptions?: Partial<ServerOptions>;
}

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

/** A tab that was closed or crashed: nothing more can be asked of it. */
export class TabClosedError extends Error {
  override readonly name = 'TabClosedError';
}

async function until<T>(what: string, timeoutMs: number, read: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new WaitTimeoutError(`waited ${timeoutMs / 1000} s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** One browser tab in the overlay, driven through its page. */
export class Tab {
  private ended: 'closed' | 'crashed' | undefined;

  constructor(
    readonly info: TabInfo,
    readonly page: Page,
    private readonly overlay: Overlay,
  ) {}

  get index(): number {
    return this.info.index;
  }

  /** The host id the server gave it (undefined before it joined). */
  get hostId(): string | undefined {
    return this.info.hostId;
  }

  get isOpen(): boolean {
    return this.ended === undefined;
  }

  private assertOpen(): void {
    if (this.ended) throw new TabClosedError(`tab ${this.index} was ${this.ended}`);
  }

  /** Its `window.cubecast` now. */
  async snapshot(): Promise<PeerSnapshot> {
    this.assertOpen();
    const snapshot = await readSnapshot(this.page);
    if (!snapshot) throw new ScenarioError(`tab ${this.index} did not answer`);
    return snapshot;
  }

  /** Publishes the fake camera (`camera`) or a synthetic sensor (`sensor`) as `channel`; resolves once the first frame is out. */
  async publish(channel: string, options: { kind?: 'camera' | 'sensor' } = {}): Promise<void> {
    this.assertOpen();
    const kind = options.kind ?? 'camera';
    this.overlay.recorder.event('publish', `tab ${this.index} publishes ${kind} "${channel}"`, { tab: this.index });
    await this.page.getByTestId('channel-name-input').fill(channel);
    await this.page.getByTestId(kind === 'camera' ? 'publish-button' : 'publish-sensor-button').click();
    await until(`tab ${this.index} to publish "${channel}"`, STEP_TIMEOUT_MS, async () => {
      // Checked, not awaited: each poll would otherwise wait for an error that is not there.
      const error = this.page.getByTestId('publish-error');
      if (await error.isVisible()) throw new ScenarioError(`tab ${this.index} could not publish "${channel}": ${await error.textContent()}`);
      return (await this.snapshot()).publishing.some((p) => p.channel === channel && p.framesEncoded > 0) || undefined;
    });
  }

  /**
   * Subscribes through the channel list: `maxLatencyMs` is the bound, `pipeline` one of the
   * page's pipeline choices (`full`, `low-fps`, `gray-small`, `smoothed`, `above-50`, ...).
   */
  async subscribe(channel: string, options: { maxLatencyMs?: number; pipeline?: string } = {}): Promise<void> {
    this.assertOpen();
    const bound = options.maxLatencyMs ?? 1000;
    const item = this.page.getByTestId('channel-list').locator(`li[data-channel="${channel}"]`);
    await item.waitFor({ timeout: STEP_TIMEOUT_MS }).catch(() => {
      throw new ScenarioError(`tab ${this.index} has no channel "${channel}" to subscribe to within ${STEP_TIMEOUT_MS / 1000} s`);
    });
    if (options.pipeline !== undefined) {
      const select = item.getByTestId('pipeline-select');
      const offered = await select.locator('option').evaluateAll((options) => options.map((o) => o.getAttribute('value') ?? ''));
      if (!offered.includes(options.pipeline)) throw new ScenarioError(`"${channel}" offers no pipeline "${options.pipeline}" (it offers ${offered.join(', ')})`);
      await select.selectOption(options.pipeline);
    }
    await item.getByTestId('max-latency-input').fill(String(bound));
    this.overlay.recorder.event('subscribe', `tab ${this.index} subscribes to "${channel}" (bound ${bound} ms${options.pipeline ? `, ${options.pipeline}` : ''})`, { tab: this.index });
    await item.getByTestId('subscribe-button').click();
    await until(`tab ${this.index} to subscribe to "${channel}"`, STEP_TIMEOUT_MS, async () => (await this.snapshot()).subscriptions.some((s) => s.channel === channel) || undefined);
  }

  /** Frames of `channel` this tab has decoded (0 when it does not subscribe). */
  async framesDecoded(channel: string): Promise<number> {
    return (await this.snapshot()).subscriptions.find((s) => s.channel === channel)?.framesDecoded ?? 0;
  }

  /** Changes its emulated position or last mile mid-stream (the observer's control). */
  async setEmulation(emulation: Emulation): Promise<void> {
    this.assertOpen();
    const hostId = this.hostId;
    if (!hostId) throw new ScenarioError(`tab ${this.index} has not joined`);
    this.overlay.recorder.event('emulation', `tab ${this.index}: ${JSON.stringify(emulation)}`, { tab: this.index, hostId });
    await this.overlay.observer.control('control:emulation', { hostId, emulation });
  }

  /** Closes the tab as a person would. */
  async close(): Promise<void> {
    this.assertOpen();
    this.end('closed');
    await this.page.close();
  }

  /** Crashes its renderer (Chromium's Page.crash): no goodbye, as when a machine dies. */
  async crash(): Promise<void> {
    this.assertOpen();
    this.end('crashed');
    const session = await this.page.context().newCDPSession(this.page);
    const crashed = this.page.waitForEvent('crash', { timeout: STEP_TIMEOUT_MS });
    // The crash takes the session with it: its answer never comes, so it is not awaited.
    session.send('Page.crash').catch(() => undefined);
    await crashed;
    await this.page.close().catch(() => undefined);
  }

  private end(how: 'closed' | 'crashed'): void {
    this.ended = how;
    this.info.end = how;
    this.info.endedAt = this.overlay.recorder.now();
    this.overlay.recorder.event(how === 'closed' ? 'close' : 'crash', `tab ${this.index}${this.hostId ? ` (${this.hostId})` : ''} ${how}`, {
      tab: this.index,
      ...(this.hostId !== undefined && { hostId: this.hostId }),
    });
  }
}

interface Started {
  readonly urls: string[];
  readonly servers: RunningServer[];
  readonly redis?: RedisProcess;
  readonly testbed?: NatTestbed;
}

async function startServers(options: OverlayOptions): Promise<Started> {
  const nodes = options.nodes ?? 1;
  if (!Number.isInteger(nodes) || nodes < 1) throw new ScenarioError(`nodes is a whole number of at least 1, not ${nodes}`);
  const serverOptions: Partial<ServerOptions> = {
    adminToken: SCENARIO_ADMIN_TOKEN,
    ...(options.algorithm && (options.room ? { roomAlgorithms: new Map([[options.room, options.algorithm]]) } : { controller: { algorithm: options.algorithm } })),
    ...options.serverOptions,
  };
  if (options.homes) {
    if (nodes > 1 || options.redis) throw new ScenarioError('the NAT test network runs one server node, without Redis');
    const testbed = await startNatTestbed(options.homes, options.ice, serverOptions);
    return { urls: [testbed.server.url], servers: [], testbed };
  }
  const redis = nodes > 1 || options.redis ? await startRedis() : undefined;
  const servers: RunningServer[] = [];
  try {
    for (let i = 0; i < nodes; i++) servers.push(await startLoopbackServer({ ...(redis && { redisUrl: redis.url }), serverOptions }));
  } catch (error) {
    await Promise.all(servers.map((s) => s.close()));
    await redis?.stop();
    throw error;
  }
  return { urls: servers.map((s) => s.url), servers, ...(redis && { redis }) };
}

export class Overlay {
  readonly tabs: Tab[] = [];
  /** What the tabs threw (`pageerror`), as "tab i: message". */
  readonly pageErrors: string[] = [];
  readonly recorder: Recorder;
  readonly observer: ObserverConnection;
  private context: BrowserContext | undefined;
  /** The loss each scope was given: what close() takes back. */
  private readonly losses = new Map<string, UdpLoss>();
  private closed = false;

  private constructor(
    private readonly browser: Browser,
    private readonly options: OverlayOptions,
    private readonly started: Started,
    meta: { title: string; file: string },
  ) {
    this.observer = new ObserverConnection(started.urls[0]!, { room: options.room, token: SCENARIO_ADMIN_TOKEN });
    this.recorder = new Recorder({
      ...meta,
      tickMs: options.tickMs ?? 500,
      tabs: () => this.tabs.filter((t) => t.isOpen).map((t) => ({ info: t.info, page: t.page })),
      observer: this.observer,
    });
    this.recorder.start();
  }

  /** Starts the servers (and Redis, or the NAT test network) and the recorder. */
  static async start(browser: Browser, options: OverlayOptions, meta: { title: string; file: string }): Promise<Overlay> {
    return new Overlay(browser, options, await startServers(options), meta);
  }

  /** The URL of server node `node`. */
  url(node = 0): string {
    const url = this.started.urls[node];
    if (url === undefined) throw new ScenarioError(`there is no server node ${node} (${this.started.urls.length} run)`);
    return url;
  }

  /** The running servers: the nodes, or the NAT test network's one. */
  get servers(): readonly RunningServer[] {
    return this.started.testbed ? [this.started.testbed.server] : this.started.servers;
  }

  /** The redis-server the nodes share, when there is one. */
  get redisUrl(): string | undefined {
    return this.started.redis?.url;
  }

  /** The NAT test network, with `homes`. */
  get network(): NatNetwork | undefined {
    return this.started.testbed?.network;
  }

  /** Opens `count` tabs with the same options, one after another; resolves once each has joined. */
  async open(count: number, options: TabOptions = {}): Promise<Tab[]> {
    if (this.closed) throw new ScenarioError('the overlay is closed');
    const opened: Tab[] = [];
    for (let i = 0; i < count; i++) opened.push(await this.openOne(options));
    return opened;
  }

  private async openOne(options: TabOptions): Promise<Tab> {
    const info: TabInfo = { index: this.tabs.length, options, openedAt: this.recorder.now() };
    const query = new URLSearchParams();
    if (options.position) query.set('pos', options.position.join(','));
    if (options.upKbps !== undefined) query.set('up', String(options.upKbps));
    if (options.downKbps !== undefined) query.set('down', String(options.downKbps));
    if (options.totalKbps !== undefined) query.set('total', String(options.totalKbps));
    if (options.name !== undefined) query.set('name', options.name);
    const path = `${this.options.room ? `r/${encodeURIComponent(this.options.room)}` : ''}${query.size > 0 ? `?${query}` : ''}`;
    let page: Page;
    const testbed = this.started.testbed;
    if (testbed) {
      const home = options.home ?? 1;
      if (!testbed.network.homes[home - 1]) throw new ScenarioError(`there is no home ${home} (the network has ${testbed.network.homes.length})`);
      page = await testbed.open(home, path);
    } else {
      if (options.home !== undefined) throw new ScenarioError('a tab in a home needs the NAT test network: give the overlay `homes`');
      this.context ??= await this.browser.newContext({ viewport: { width: 900, height: 800 } });
      page = await this.context.newPage();
      await page.goto(`${this.url(options.node)}/${path}`);
    }
    page.on('pageerror', (error) => {
      this.pageErrors.push(`tab ${info.index}: ${error.message}`);
      this.recorder.event('page-error', `tab ${info.index}: ${error.message}`, { tab: info.index });
    });
    const tab = new Tab(info, page, this);
    this.tabs.push(tab);
    this.recorder.addTab(info);
    this.recorder.event('open', `tab ${info.index} opened${Object.keys(options).length > 0 ? ` ${JSON.stringify(options)}` : ''}`, { tab: info.index });
    const joined = await until(`tab ${info.index} to join`, JOIN_TIMEOUT_MS, async () => {
      const s = await readSnapshot(page);
      return s?.connection === 'connected' && s.hostId ? s : undefined;
    });
    info.hostId = joined.hostId!;
    info.joinedAt = this.recorder.now();
    return tab;
  }

  /** The routing policy of the room (observer control). */
  async setPolicy(policy: RoutingPolicyName): Promise<void> {
    this.recorder.event('policy', `routing policy ${policy}`);
    await this.observer.control('control:policy', { policy });
  }

  /** Re-embeds the room into the k-ary n-cube now; resolves once every open tab has that shape and `linksEach` open links (when given). */
  async reembed(k: number, n: number, linksEach?: number): Promise<void> {
    this.recorder.event('reembed', `re-embed into the ${k}-ary ${n}-cube asked`);
    await this.observer.control('control:reembed', { k, n });
    await this.waitFor(`every tab on the ${k}-ary ${n}-cube${linksEach === undefined ? '' : ` with ${linksEach} links`}`, (sample) =>
      this.tabs.filter((t) => t.isOpen).every((t) => {
        const s = sample.tabs[t.index];
        return s !== undefined && s.connection === 'connected' && (linksEach === undefined || s.links.length === linksEach);
      }) && sample.server?.cube?.k === k && sample.server.cube.n === n,
    );
  }

  /** iOverlay's control message, the two integers, to every host's algorithm (or one host's). */
  async controlAlgorithm(a: number, b: number, tab?: Tab): Promise<void> {
    this.recorder.event('algorithm', `algorithm control (${a}, ${b}) asked${tab ? ` for tab ${tab.index}` : ''}`, tab ? { tab: tab.index } : {});
    await this.observer.control('control:algorithm', { a, b, ...(tab?.hostId !== undefined && { hostId: tab.hostId }) });
  }

  /**
   * Real UDP loss from now on (0: none): into every tab (the whole private namespace), into
   * the tabs of one NAT home (its downlink), or only on the link from home `from` into `home`.
   */
  setLoss(probability: number, scope: { home?: number; from?: number } = {}): void {
    const testbed = this.started.testbed;
    if (scope.home === undefined && scope.from !== undefined) throw new ScenarioError('loss on a link names both ends: `home` and `from`');
    const homeOf = (index: number) => {
      const home = testbed?.network.homes[index - 1];
      if (!home) throw new ScenarioError(testbed ? `there is no home ${index}` : 'loss per home needs the NAT test network: give the overlay `homes`');
      return home;
    };
    const key = scope.home === undefined ? 'all' : `${scope.home}<${scope.from ?? '*'}`;
    let loss = this.losses.get(key);
    if (!loss) {
      loss = scope.home === undefined ? new UdpLoss() : homeOf(scope.home).loss(scope.from === undefined ? undefined : homeOf(scope.from));
      this.losses.set(key, loss);
    }
    loss.set(probability);
    const where = scope.home === undefined ? 'every tab' : scope.from === undefined ? `home ${scope.home}` : `home ${scope.from} to home ${scope.home}`;
    this.recorder.event('loss', `${Math.round(probability * 1000) / 10}% UDP loss into ${where}`);
  }

  /** An event of the script's own, marked on the report's time axis. */
  mark(message: string): void {
    this.recorder.event('mark', message);
  }

  /**
   * Samples every tab and the server until `condition` holds on a sample (checked on each);
   * resolves to that sample. Throws WaitTimeoutError naming `description` after `timeoutMs`.
   */
  async waitFor(description: string, condition: (sample: Sample) => boolean | Promise<boolean>, options: { timeoutMs?: number } = {}): Promise<Sample> {
    return until(description, options.timeoutMs ?? STEP_TIMEOUT_MS, async () => {
      const sample = await this.recorder.sample();
      return (await condition(sample)) ? sample : undefined;
    });
  }

  /**
   * Stops the recorder and writes `timeline.json` and `report.html` into `dir` with the
   * scenario's outcome; returns the report's path. Safe to call after a failure.
   */
  async writeReport(dir: string, outcome: { status: OutcomeStatus; error?: string; durationMs: number }): Promise<string> {
    await this.recorder.stop();
    const timeline: Timeline = this.recorder.timeline;
    timeline.outcome = outcome;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'timeline.json'), JSON.stringify(timeline));
    const report = join(dir, 'report.html');
    writeFileSync(report, renderReport(timeline));
    return report;
  }

  /** Takes everything down: the recorder, the tabs, the servers, Redis, the NAT network and any loss. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.recorder.stop();
    this.observer.close();
    for (const loss of this.losses.values()) {
      try {
        loss.set(0);
      } catch {
        // A home's loss went with its namespace.
      }
    }
    const { testbed, servers, redis } = this.started;
    // The tabs first: a server that closes first waits on their WebSockets.
    await this.context?.close().catch(() => undefined);
    if (testbed) await testbed.close();
    await Promise.all(servers.map((s) => s.close()));
    await redis?.stop();
  }
}
