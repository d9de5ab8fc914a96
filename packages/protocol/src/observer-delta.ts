import type { ChannelInfo, EntityChanges, ObserverDelta, ObserverHost, ObserverLink, ObserverSnapshot, SubscriptionInfo } from './signaling.js';

/** Each kind of entity's key in deltas; a link's is its two host ids, the smaller first, joined by `|`. */
export const OBSERVER_ENTITY_KEYS = {
  hosts: (host: ObserverHost) => host.hostId,
  links: (link: Pick<ObserverLink, 'a' | 'b'>) => `${link.a}|${link.b}`,
  channels: (channel: ChannelInfo) => channel.name,
  subscriptions: (subscription: SubscriptionInfo) => subscription.subscriptionId,
} as const;

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
    hosts: merge(snapshot.hosts, delta.hosts, OBSERVER_ENTITY_KEYS.hosts),
    links: merge(snapshot.links, delta.links, OBSERVER_ENTITY_KEYS.links),
    channels: merge(snapshot.channels, delta.channels, OBSERVER_ENTITY_KEYS.channels),
    subscriptions: merge(snapshot.subscriptions, delta.subscriptions, OBSERVER_ENTITY_KEYS.subscriptions),
  };
}
