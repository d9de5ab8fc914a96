import { startLoopbackServer } from '@cubecast/scenario/server';
import type { RunningServer, ServerOptions } from '@cubecast/signaling-server';
import { startRedis, type RedisProcess } from '@cubecast/signaling-server/services';
import { test as base, expect, type Page } from '@playwright/test';

export type Snapshot = NonNullable<Window['cubecast']>;

export interface Tabs {
  /** Opens a tab on the server (optional query string), waits until it has joined. */
  open(query?: string): Promise<Page>;
  readonly pages: Page[];
}

export const ADMIN_TOKEN = 'e2e-admin';

/** A server like the tests' own, on `port` (0: a free one), with its rooms in `redis` if given. */
export function startTestServer(port = 0, redis?: RedisProcess, extra: Partial<ServerOptions> = {}): Promise<RunningServer> {
  return startLoopbackServer({ port, ...(redis && { redisUrl: redis.url }), serverOptions: { adminToken: ADMIN_TOKEN, ...extra } });
}

export const test = base.extend<{ withRedis: boolean; serverOptions: Partial<ServerOptions>; redis: RedisProcess | undefined; server: RunningServer; tabs: Tabs }>({
  /** `test.use({ withRedis: true })`: a real redis-server for the test, and the server's rooms in it. */
  withRedis: [false, { option: true }],
  /** `test.use({ serverOptions: {...} })`: the server started with these (say, `roomAlgorithms`). */
  serverOptions: [{}, { option: true }],
  redis: async ({ withRedis }, use) => {
    if (!withRedis) return use(undefined);
    const redis = await startRedis();
    await use(redis);
    await redis.stop();
  },
  server: async ({ redis, serverOptions }, use) => {
    const server = await startTestServer(0, redis, serverOptions);
    await use(server);
    await server.close();
  },
  tabs: async ({ browser, server }, use) => {
    const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
    const errors: string[] = [];
    const pages: Page[] = [];
    const tabs: Tabs = {
      pages,
      async open(query = '') {
        const page = await context.newPage();
        page.on('pageerror', (error) => errors.push(`tab ${pages.indexOf(page)}: ${error.message}`));
        pages.push(page);
        await page.goto(`${server.url}/${query}`);
        await expect.poll(() => snapshot(page).then((s) => s?.connection), { timeout: 20_000 }).toBe('connected');
        return page;
      },
    };
    await use(tabs);
    await context.close();
    expect(errors, 'no page errors').toEqual([]);
  },
});

export { expect };

/**
 * Nine tabs on the emulated map: a publisher at the origin and eight on a circle 150 ms away,
 * publishing `cam`; resolves once every link's measured RTT shows the emulated delay.
 */
export async function publisherAndCircle(tabs: Tabs): Promise<Page> {
  const publisher = await tabs.open('?pos=0,0');
  for (let i = 0; i < 8; i++) {
    const angle = (i / 8) * 2 * Math.PI;
    await tabs.open(`?pos=${Math.round(150 * Math.cos(angle))},${Math.round(150 * Math.sin(angle))}`);
  }
  await publishCamera(publisher, 'cam');
  await expect.poll(async () => (await snapshots(tabs.pages)).every((s) => s.links.length > 0 && s.links.every((l) => (l.rttMs ?? 0) > 100))).toBe(true);
  return publisher;
}

/**
 * Opens the observer of a tab's room (`room`: the default room when undefined) beside the
 * tab, its admin token entered, and checks the algorithm it names.
 */
export async function openObserver(tab: Page, room: string | undefined, algorithm: string): Promise<Page> {
  const observer = await tab.context().newPage();
  await observer.goto(new URL(room ? `/r/${room}/observer` : '/observer', tab.url()).href);
  await expect(observer.getByTestId('observer-algorithm')).toHaveText(algorithm);
  await observer.getByTestId('observer-token-input').fill(ADMIN_TOKEN);
  await observer.getByTestId('observer-token-input').press('Enter');
  return observer;
}

/** The observer's "Re-embed now" into the k-ary n-cube; resolves once it answered, and every tab has `linksEach` open links. */
export async function forceCube(observer: Page, tabs: Page[], k: number, n: number, linksEach: number): Promise<void> {
  await observer.getByLabel('k', { exact: true }).fill(String(k));
  await observer.getByLabel('n', { exact: true }).fill(String(n));
  await observer.getByTestId('observer-reembed').click();
  await expect(observer.locator('.controls').getByText(new RegExp(`^Re-embedded into the ${k}-ary ${n}-cube`))).toBeVisible();
  await expect
    .poll(async () => (await snapshots(tabs)).every((s) => s.cube?.k === k && s.cube.n === n && s.links.filter((l) => l.state === 'open').length === linksEach), { timeout: 30_000 })
    .toBe(true);
}

export function snapshot(page: Page): Promise<Snapshot | undefined> {
  return page.evaluate(() => window.cubecast);
}

export async function snapshots(pages: Page[]): Promise<Snapshot[]> {
  return Promise.all(pages.map(async (p) => (await snapshot(p))!));
}

/** Publishes the fake camera from a tab as `name`. */
export async function publishCamera(page: Page, name: string): Promise<void> {
  await page.getByTestId('channel-name-input').fill(name);
  await page.getByTestId('publish-button').click();
  await expect.poll(async () => (await snapshot(page))?.publishing.find((p) => p.channel === name)?.framesEncoded ?? 0).toBeGreaterThan(0);
}

/** Subscribes a tab to a channel with a latency bound, through the page's controls. */
export async function subscribe(page: Page, channel: string, boundMs: number): Promise<void> {
  const item = page.getByTestId('channel-list').locator(`li[data-channel="${channel}"]`);
  await item.getByTestId('max-latency-input').fill(String(boundMs));
  await item.getByTestId('subscribe-button').click();
  await expect.poll(async () => (await snapshot(page))?.subscriptions.some((s) => s.channel === channel)).toBe(true);
}

export function framesDecoded(s: Snapshot, channel: string): number {
  return s.subscriptions.find((x) => x.channel === channel)?.framesDecoded ?? 0;
}

/**
 * Opens `count` tabs: the first publishes the fake camera as `channel`, the others subscribe
 * (bound 1000 ms); resolves once every subscriber has decoded 20 frames.
 */
export async function streamToAll(tabs: Tabs, count: number, channel = 'cam'): Promise<{ publisher: Page; subscribers: Page[] }> {
  for (let i = 0; i < count; i++) await tabs.open();
  const [publisher, ...subscribers] = tabs.pages;
  await publishCamera(publisher!, channel);
  for (const page of subscribers) await subscribe(page, channel, 1000);
  await expect.poll(async () => Math.min(...(await snapshots(subscribers)).map((s) => framesDecoded(s, channel))), { timeout: 60_000 }).toBeGreaterThanOrEqual(20);
  return { publisher: publisher!, subscribers };
}

/**
 * For each page, how long after `since` it had decoded 5 frames of `channel` beyond its count
 * in `before` (a frame or two may still drain from a queue); undefined if not within `limitMs`.
 */
export async function resumeTimes(pages: Page[], channel: string, before: number[], since: number, limitMs: number): Promise<(number | undefined)[]> {
  const resumedAfter: (number | undefined)[] = pages.map(() => undefined);
  while (Date.now() - since < limitMs && resumedAfter.some((t) => t === undefined)) {
    const now = (await snapshots(pages)).map((s) => framesDecoded(s, channel));
    now.forEach((frames, i) => {
      if (resumedAfter[i] === undefined && frames >= before[i]! + 5) resumedAfter[i] = Date.now() - since;
    });
    await new Promise((r) => setTimeout(r, 100));
  }
  return resumedAfter;
}
