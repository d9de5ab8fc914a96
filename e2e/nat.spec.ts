import type { Page } from '@playwright/test';
import { expect, test, type NatTestbed } from './net/fixtures.js';
import { framesDecoded, publishCamera, snapshot, snapshots, subscribe } from './fixtures.js';

/**
 * A tab in home `from` publishes the fake camera as `cam`, one in each home of `to`
 * subscribes (bound 1000 ms); resolves once each subscriber decoded 30 frames.
 */
async function stream(nat: NatTestbed, from: number, to: number[]): Promise<{ publisher: Page; subscribers: Page[] }> {
  const publisher = await nat.open(from);
  const subscribers: Page[] = [];
  for (const home of to) subscribers.push(await nat.open(home));
  await publishCamera(publisher, 'cam');
  for (const page of subscribers) await subscribe(page, 'cam', 1000);
  await expect.poll(async () => Math.min(...(await snapshots(subscribers)).map((s) => framesDecoded(s, 'cam'))), { timeout: 90_000, intervals: [500] }).toBeGreaterThanOrEqual(30);
  return { publisher, subscribers };
}

/** Every tab's links' selected candidate pairs, printed for the record. */
async function routes(nat: NatTestbed) {
  const all = (await snapshots(nat.pages)).flatMap((s) => s.links.map((l) => l.routeDetail));
  console.log('routes', JSON.stringify(all));
  return all;
}

test.describe('two homes behind endpoint-independent NATs', () => {
  test.use({ homes: ['eim', 'eim'] });

  test('link on STUN-learned (srflx) pairs, not through TURN, and a stream flows', async ({ nat }) => {
    const { publisher } = await stream(nat, 1, [2]);
    // The page came over HTTPS, as HTTP/2.
    expect(await publisher.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol)).toBe('h2');
    const pairs = await routes(nat);
    expect(pairs).toHaveLength(2);
    for (const route of pairs) expect(route).toMatchObject({ type: 'srflx', local: 'srflx', remote: 'srflx' });
  });
});

test.describe('a home behind a symmetric NAT', () => {
  test.use({ homes: ['symmetric', 'eim'] });

  test('links through a TURN relay, and a stream flows', async ({ nat }) => {
    await stream(nat, 1, [2]);
    const pairs = await routes(nat);
    expect(pairs).toHaveLength(2);
    for (const route of pairs) expect(route?.type).toBe('relay');
  });
});

test.describe('TURN over TLS only (turns:), every connection relayed', () => {
  test.use({ homes: ['symmetric', 'eim'], ice: 'turns-relay' });

  test('links through the relay over TLS, and a stream flows', async ({ nat }) => {
    await stream(nat, 1, [2]);
    const pairs = await routes(nat);
    expect(pairs).toHaveLength(2);
    for (const route of pairs) expect(route).toMatchObject({ type: 'relay', local: 'relay', relayProtocol: 'tls' });
  });
});

test.describe('six tabs in three homes, one behind a symmetric NAT', () => {
  test.use({ homes: ['eim', 'eim', 'symmetric'] });

  test('every subscriber decodes frames, with honest latency', async ({ nat }) => {
    await stream(nat, 1, [1, 2, 2, 3, 3]);
    const all = await snapshots(nat.pages);
    await routes(nat);
    for (const s of all.slice(1)) {
      const sub = s.subscriptions.find((x) => x.channel === 'cam')!;
      // Every tab runs on this machine's clock: the latency the headers add up must be the true one.
      expect(Math.abs(sub.latencyMs! - sub.trueLatencyMs!), `${s.hostId} latency ${sub.latencyMs} vs ${sub.trueLatencyMs}`).toBeLessThan(50);
    }
    // The symmetric home's tabs reach the other homes through TURN only.
    const symmetricHome = new Set(all.slice(4).map((s) => s.hostId));
    for (const s of all) for (const link of s.links) if (symmetricHome.has(s.hostId) !== symmetricHome.has(link.hostId)) expect(link.route, `${s.hostId} to ${link.hostId}`).toBe('relay');
  });
});

test.describe('no ICE servers configured', () => {
  test.use({ homes: ['eim', 'eim'], ice: 'none' });

  test('tabs in different homes cannot link, and the page says why', async ({ nat }) => {
    const first = await nat.open(1);
    await nat.open(2);
    const problem = first.getByTestId('link-problem');
    await expect(problem).toContainText('the server hands out no STUN or TURN servers', { timeout: 40_000 });
    await expect(problem).toContainText('candidate pair');
    const links = (await snapshot(first))!.links;
    expect(links.map((l) => l.state)).not.toContain('open');
  });
});

const turnFailures = [
  { what: 'TURN refuses the credentials (the server has the wrong secret)', ice: 'wrong-secret', reason: 'the TURN server refused the credentials' },
  { what: 'TURN stopped', ice: 'stun-turn', reason: 'no answer from turn:' },
] as const;

for (const { what, ice, reason } of turnFailures) {
  test.describe(what, () => {
    test.use({ homes: ['eim', 'eim', 'symmetric'], ice });

    test("the symmetric home's links say why they fail; the other homes stream on", async ({ nat }) => {
      const {
        subscribers: [subscriber],
      } = await stream(nat, 1, [2]);
      // Links already up need no server: their checks go between the homes.
      if (ice === 'stun-turn') await nat.turn.stop();
      const stranded = await nat.open(3);
      await expect(stranded.getByTestId('link-problem').first()).toContainText(reason, { timeout: 40_000 });
      const before = framesDecoded((await snapshot(subscriber!))!, 'cam');
      await expect.poll(async () => framesDecoded((await snapshot(subscriber!))!, 'cam'), { timeout: 10_000 }).toBeGreaterThan(before + 30);
    });
  });
}

/**
 * A home's uplink goes down for `cutMs` and comes back; resolves once the subscriber there
 * decodes again, with every tab's snapshot then.
 */
async function cutUplink(nat: NatTestbed, cutMs: number) {
  const {
    subscribers: [subscriber],
  } = await stream(nat, 1, [2]);
  const hostIds = (await snapshots(nat.pages)).map((s) => s.hostId);
  nat.network.homes[1]!.cutUplink();
  await new Promise((resolve) => setTimeout(resolve, cutMs));
  nat.network.homes[1]!.restoreUplink();
  const restored = Date.now();
  const before = framesDecoded((await snapshot(subscriber!))!, 'cam');
  await expect.poll(async () => framesDecoded((await snapshot(subscriber!))!, 'cam'), { timeout: 20_000, intervals: [200] }).toBeGreaterThan(before + 5);
  const after = await snapshots(nat.pages);
  console.log(`uplink cut ${cutMs} ms: frames again ${Date.now() - restored} ms after it came back; [host, ICE restarts, route] per link:`, JSON.stringify(after.map((s) => s.links.map((l) => [l.hostId, l.iceRestarts, l.route]))));
  // No rejoin, every link open, none given up (that would say so on the page).
  expect(after.map((s) => s.hostId)).toEqual(hostIds);
  expect(after.every((s) => s.connection === 'connected' && s.links.every((l) => l.state === 'open'))).toBe(true);
  for (const page of nat.pages) await expect(page.getByRole('status').filter({ hasText: 'failed' })).toHaveCount(0);
  return after;
}

test.describe('a lossy link into one home', () => {
  test.use({ homes: ['eim', 'eim'] });

  test('the loss is measured at both ends, and FEC keeps frames coming', async ({ nat }) => {
    const { publisher, subscribers } = await stream(nat, 1, [2]);
    const [home1, home2] = nat.network.homes;
    // 10% of what home 1 sends reaches home 2's machine no more: one direction of one link.
    const loss = home2!.loss(home1);
    loss.set(0.1);
    const before = framesDecoded((await snapshot(subscribers[0]!))!, 'cam');
    await expect.poll(async () => (await snapshot(publisher))?.links[0]?.lossRate ?? 0, { timeout: 20_000 }).toBeGreaterThan(0.05);
    await expect(publisher.getByTestId('link-loss')).toContainText('% of what this tab sends is lost');
    // The other direction lost nothing; measured so.
    expect((await snapshot(subscribers[0]!))!.links[0]!.lossRate).toBeLessThan(0.02);
    const start = Date.now();
    await expect.poll(async () => framesDecoded((await snapshot(subscribers[0]!))!, 'cam') - before, { timeout: 20_000 }).toBeGreaterThanOrEqual(60);
    console.log(`60 frames decoded in ${Date.now() - start} ms at 10% loss`);
  });
});

test.describe("a home's uplink cut and restored", () => {
  test.use({ homes: ['eim', 'eim'] });

  // Whether the engines find the link silent (3.5 s) before a ping gets through again depends
  // on where the pings fell: it comes back with or without an ICE restart.
  test('for 3 s: its links come back and the stream resumes, without a rejoin', async ({ nat }) => {
    await cutUplink(nat, 3000);
  });

  test('for 6 s: ICE restarts bring its links back on the same connections, without a rejoin', async ({ nat }) => {
    await cutUplink(nat, 6000);
    // Frames may flow again (SCTP retransmits over the old pair) before the restart's answer,
    // delayed behind the signaling socket's own retransmissions, comes back: wait for both ends
    // to count it. A new connection would count no restart.
    const restarts = async () => (await snapshots(nat.pages)).flatMap((s) => s.links.map((l) => l.iceRestarts));
    await expect.poll(async () => Math.min(...(await restarts())), { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
    const after = await snapshots(nat.pages);
    expect(after.every((s) => s.links.every((l) => l.state === 'open'))).toBe(true);
  });
});
