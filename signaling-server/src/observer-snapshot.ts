import type { ObserverSnapshot, SubscriptionInfo } from '@cubecast/protocol';
import { measurement, type LinkMeasurement, type Store, type SubscriptionRecord } from './store.js';

/** A subscription as hosts and observers are shown it. */
export function subscriptionInfo(sub: SubscriptionRecord): SubscriptionInfo {
  return {
    subscriptionId: sub.subscriptionId,
    channel: sub.channel,
    subscriber: sub.subscriber,
    maxLatencyMs: sub.maxLatencyMs,
    pipeline: sub.pipeline,
    ...(sub.latencyMs !== undefined && { latencyMs: sub.latencyMs, boundMet: sub.latencyMs <= sub.maxLatencyMs }),
    ...(sub.hops !== undefined && { hops: sub.hops }),
    state: 'active',
  };
}

/**
 * The room as its observers see it: hosts with their ids, links with both ends' reports,
 * channels, subscriptions. `heapUsedBytes` is the caller's to fill.
 */
export function roomSnapshot(store: Store, now: number, controls: ObserverSnapshot['controls'], uptimeSeconds: number, algorithm: ObserverSnapshot['algorithm'], swaps: ObserverSnapshot['swaps']): ObserverSnapshot {
  const current = store.cube;
  const links = new Map<string, ObserverSnapshot['links'][number]>();
  if (current) {
    for (const hostId of store.hosts.keys()) {
      for (const other of current.ownership.linkedHosts(hostId)) {
        const [a, b] = hostId < other ? [hostId, other] : [other, hostId];
        const key = `${a}|${b}`;
        if (links.has(key)) continue;
        const reports = [
          [a, measurement(store, a, b)],
          [b, measurement(store, b, a)],
        ] as const;
        const present = reports
          .filter((r): r is readonly [string, LinkMeasurement] => r[1] !== undefined)
          .map(([from, { state, rttMs, throughputKbps, lossRate, channels, at }]) => ({
            from,
            state,
            at,
            ...(rttMs !== undefined && { rttMs }),
            ...(throughputKbps !== undefined && { throughputKbps }),
            ...(lossRate !== undefined && { lossRate }),
            ...(channels !== undefined && { channels }),
          }));
        links.set(key, { a, b, reports: present });
      }
    }
  }
  return {
    time: now,
    cube: current
      ? { k: current.cube.k, n: current.cube.n, M: current.cube.size, epoch: current.epoch, revision: current.revision }
      : { k: 0, n: 0, M: 0, epoch: 0, revision: 0 },
    algorithm,
    swaps,
    policy: store.policy,
    hosts: [...store.hosts.values()].map((h) => ({
      hostId: h.hostId,
      ...(h.name !== undefined && { name: h.name }),
      ids: current ? [...current.ownership.idsOf(h.hostId)] : [],
      ...(h.emulation !== undefined && { emulation: h.emulation }),
      connectedAt: h.connectedAt,
      rejected: h.rejected,
      spas: h.spas,
    })),
    links: [...links.values()],
    channels: [...store.channels.values()],
    subscriptions: [...store.subscriptions.values()].map((s) => subscriptionInfo(s)),
    server: {
      heapUsedBytes: 0,
      rejectedPayloads: store.counters.rejectedPayloads,
      uptimeSeconds,
    },
    controls,
  };
}
