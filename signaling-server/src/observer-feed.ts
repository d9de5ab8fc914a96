import { observerLinkKey, type ObserverDelta, type ObserverSnapshot } from '@cubecast/protocol';

type Keyed<T> = Map<string, { value: T; json: string }>;

interface Indexed {
  readonly hosts: Keyed<ObserverSnapshot['hosts'][number]>;
  readonly links: Keyed<ObserverSnapshot['links'][number]>;
  readonly channels: Keyed<ObserverSnapshot['channels'][number]>;
  readonly subscriptions: Keyed<ObserverSnapshot['subscriptions'][number]>;
}

function index<T>(items: readonly T[], key: (item: T) => string): Keyed<T> {
  return new Map(items.map((value) => [key(value), { value, json: JSON.stringify(value) }]));
}

function indexed(snapshot: ObserverSnapshot): Indexed {
  return {
    hosts: index(snapshot.hosts, (h) => h.hostId),
    links: index(snapshot.links, observerLinkKey),
    channels: index(snapshot.channels, (c) => c.name),
    subscriptions: index(snapshot.subscriptions, (s) => s.subscriptionId),
  };
}

function diff<T>(before: Keyed<T>, after: Keyed<T>): { set: T[]; removed: string[] } | undefined {
  const set: T[] = [];
  const removed: string[] = [];
  for (const [key, entry] of after) if (before.get(key)?.json !== entry.json) set.push(entry.value);
  for (const key of before.keys()) if (!after.has(key)) removed.push(key);
  return set.length + removed.length > 0 ? { set, removed } : undefined;
}

/**
 * The observer feed's memory: the last snapshot every observer has (the one a new observer
 * starts from), and what changed since, as one delta for all of them. Each entity is
 * serialized once per change to compare it, however many observers watch.
 */
export class ObserverFeed {
  private last: { snapshot: ObserverSnapshot; indexed: Indexed } | undefined;

  /** What a newly connected observer starts from; deltas after it are relative to it. */
  current(build: () => ObserverSnapshot): ObserverSnapshot {
    if (!this.last) {
      const snapshot = build();
      this.last = { snapshot, indexed: indexed(snapshot) };
    }
    return this.last.snapshot;
  }

  /** The changes from the last snapshot to `next` (undefined when nothing changed), which becomes the last. */
  advance(next: ObserverSnapshot): ObserverDelta | undefined {
    const before = this.last;
    const after = indexed(next);
    this.last = { snapshot: next, indexed: after };
    if (!before) return undefined;
    const hosts = diff(before.indexed.hosts, after.hosts);
    const links = diff(before.indexed.links, after.links);
    const channels = diff(before.indexed.channels, after.channels);
    const subscriptions = diff(before.indexed.subscriptions, after.subscriptions);
    const cubeChanged = JSON.stringify(before.snapshot.cube) !== JSON.stringify(next.cube);
    const policyChanged = before.snapshot.policy !== next.policy;
    if (!hosts && !links && !channels && !subscriptions && !cubeChanged && !policyChanged) return undefined;
    return {
      time: next.time,
      server: next.server,
      ...(cubeChanged && { cube: next.cube }),
      ...(policyChanged && { policy: next.policy }),
      ...(hosts && { hosts }),
      ...(links && { links }),
      ...(channels && { channels }),
      ...(subscriptions && { subscriptions }),
    };
  }

  /** Forgets the last snapshot (no observer is left to be consistent with). */
  reset(): void {
    this.last = undefined;
  }
}
