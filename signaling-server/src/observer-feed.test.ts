import { applyObserverDelta, type ObserverSnapshot } from '@cubecast/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ObserverFeed } from './observer-feed.js';

const hostIds = fc.constantFrom('h1', 'h2', 'h3', 'h4', 'h5');
const snapshot: fc.Arbitrary<ObserverSnapshot> = fc
  .record({
    hosts: fc.uniqueArray(
      fc.record({ hostId: hostIds, ids: fc.array(fc.nat(26), { maxLength: 3 }), rejected: fc.nat(3), name: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }) }),
      { selector: (h) => h.hostId },
    ),
    links: fc.uniqueArray(fc.record({ a: hostIds, b: hostIds, reports: fc.array(fc.record({ from: hostIds, state: fc.constantFrom('open', 'failed'), at: fc.nat(9) }), { maxLength: 2 }) }), {
      selector: (l) => `${l.a}|${l.b}`,
    }),
    subscriptions: fc.uniqueArray(
      fc.record({ subscriptionId: fc.constantFrom('s1', 's2', 's3'), channel: fc.constantFrom('cam', 'mic'), latencyMs: fc.option(fc.nat(500), { nil: undefined }), pipeline: fc.constant([]) }),
      { selector: (s) => s.subscriptionId },
    ),
    k: fc.integer({ min: 2, max: 4 }),
    policy: fc.constantFrom('odr', 'random', 'greedy'),
  })
  .map(({ hosts, links, subscriptions, k, policy }) => {
    const strip = <T extends object>(o: T) => JSON.parse(JSON.stringify(o)) as T; // drop undefined, as the wire does
    return strip({
      time: 0,
      cube: { k, n: 2, M: k * k, epoch: k, revision: 0 },
      policy,
      hosts: hosts.map((h) => ({ ...h, connectedAt: 0, spas: [] })),
      links,
      channels: [],
      subscriptions: subscriptions.map((s) => ({ ...s, subscriber: 'h1', maxLatencyMs: 100, state: 'active' })),
      server: { heapUsedBytes: 0, rejectedPayloads: 0, uptimeSeconds: 0 },
      controls: { enabled: false },
    } as unknown as ObserverSnapshot);
  });

describe('ObserverFeed', () => {
  it('a snapshot and the deltas after it rebuild every later snapshot exactly', () => {
    fc.assert(
      fc.property(fc.array(snapshot, { minLength: 1, maxLength: 8 }), (sequence) => {
        const feed = new ObserverFeed();
        let view = feed.current(() => sequence[0]!);
        for (const next of sequence.slice(1)) {
          const delta = feed.advance(next);
          if (delta) view = applyObserverDelta(view, delta);
          const sort = (s: ObserverSnapshot) => ({ ...s, hosts: [...s.hosts].sort((a, b) => a.hostId.localeCompare(b.hostId)), links: [...s.links].sort((a, b) => (a.a + a.b).localeCompare(b.a + b.b)), subscriptions: [...s.subscriptions].sort((a, b) => a.subscriptionId.localeCompare(b.subscriptionId)), time: 0, server: null });
          expect(sort(view)).toEqual(sort(next));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('sends only the fields that changed, and nothing when nothing did', () => {
    const feed = new ObserverFeed();
    const pipeline = [{ spa: 'thin', config: { pad: 'x'.repeat(1000) } }];
    const base = { time: 1, cube: { k: 3, n: 2, M: 9, epoch: 1, revision: 0 }, policy: 'greedy', hosts: [], links: [], channels: [], server: { heapUsedBytes: 0, rejectedPayloads: 0, uptimeSeconds: 0 }, controls: { enabled: false } } as const;
    const sub = { subscriptionId: 's1', channel: 'cam', subscriber: 'h1', maxLatencyMs: 100, pipeline, state: 'active' as const };
    feed.current(() => ({ ...base, subscriptions: [sub] }) as unknown as ObserverSnapshot);
    expect(feed.advance({ ...base, time: 2, subscriptions: [sub] } as unknown as ObserverSnapshot)).toBeUndefined();
    const delta = feed.advance({ ...base, time: 3, subscriptions: [{ ...sub, latencyMs: 12, boundMet: true }] } as unknown as ObserverSnapshot);
    expect(delta).toEqual({ time: 3, server: base.server, subscriptions: { patch: [['s1', { latencyMs: 12, boundMet: true }]] } });
  });
});
