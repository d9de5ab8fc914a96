import type { EntityChanges, ObserverDelta, ObserverLink, ObserverSnapshot } from './signaling.js';

/** A link's key in deltas: its two host ids, the smaller first, joined by `|`. */
export const observerLinkKey = (link: Pick<ObserverLink, 'a' | 'b'>) => `${link.a}|${link.b}`;

/** Applies a delta to a snapshot: what an observer does with the feed (tests, the page). */
export function applyObserverDelta(snapshot: ObserverSnapshot, delta: ObserverDelta): ObserverSnapshot {
  const merge = <T>(items: readonly T[], change: EntityChanges<T> | undefined, key: (item: T) => string): T[] => {
    if (!change) return [...items];
    const map = new Map(items.map((item) => [key(item), item]));
    for (const removed of change.removed ?? []) map.delete(removed);
    for (const item of change.set ?? []) map.set(key(item), item);
    for (const [at, fields] of change.patch ?? []) {
      const item = map.get(at);
      if (!item) continue;
      const patched: Record<string, unknown> = { ...item };
      // null removes a field (none of these entities has a field whose value may be null).
      for (const [name, value] of Object.entries(fields)) {
        if (value === null) delete patched[name];
        else patched[name] = value;
      }
      map.set(at, patched as T);
    }
    return [...map.values()];
  };
  return {
    ...snapshot,
    time: delta.time,
    server: delta.server,
    cube: delta.cube ?? snapshot.cube,
    policy: delta.policy ?? snapshot.policy,
    hosts: merge(snapshot.hosts, delta.hosts, (h) => h.hostId),
    links: merge(snapshot.links, delta.links, observerLinkKey),
    channels: merge(snapshot.channels, delta.channels, (c) => c.name),
    subscriptions: merge(snapshot.subscriptions, delta.subscriptions, (s) => s.subscriptionId),
  };
}
