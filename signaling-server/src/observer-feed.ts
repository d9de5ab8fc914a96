import { OBSERVER_ENTITY_KEYS, type EntityChanges, type ObserverDelta, type ObserverSnapshot } from '@cubecast/protocol';

/** Each entity with the JSON of each of its top-level fields, to compare field by field. */
type Keyed<T> = Map<string, { value: T; fields: Map<string, string> }>;

interface Indexed {
  readonly hosts: Keyed<ObserverSnapshot['hosts'][number]>;
  readonly links: Keyed<ObserverSnapshot['links'][number]>;
  readonly channels: Keyed<ObserverSnapshot['channels'][number]>;
  readonly subscriptions: Keyed<ObserverSnapshot['subscriptions'][number]>;
}

function index<T extends object>(items: readonly T[], key: (item: T) => string): Keyed<T> {
  return new Map(items.map((value) => [key(value), { value, fields: new Map(Object.entries(value).map(([name, field]) => [name, JSON.stringify(field)])) }]));
}

function indexed(snapshot: ObserverSnapshot): Indexed {
  return {
    hosts: index(snapshot.hosts, OBSERVER_ENTITY_KEYS.hosts),
    links: index(snapshot.links, OBSERVER_ENTITY_KEYS.links),
    channels: index(snapshot.channels, OBSERVER_ENTITY_KEYS.channels),
    subscriptions: index(snapshot.subscriptions, OBSERVER_ENTITY_KEYS.subscriptions),
  };
}

function diff<T extends object>(before: Keyed<T>, after: Keyed<T>): EntityChanges<T> | undefined {
  const set: T[] = [];
  const patch: [string, Partial<T>][] = [];
  const removed: string[] = [];
  for (const [key, entry] of after) {
    const old = before.get(key);
    if (!old) {
      set.push(entry.value);
      continue;
    }
    const changed: Record<string, unknown> = {};
    let any = false;
    for (const [name, json] of entry.fields) {
      if (old.fields.get(name) === json) continue;
      changed[name] = (entry.value as Record<string, unknown>)[name];
      any = true;
    }
    // A field that went away is sent as null: JSON has no undefined.
    for (const name of old.fields.keys()) {
      if (entry.fields.has(name)) continue;
      changed[name] = null;
      any = true;
    }
    if (any) patch.push([key, changed as Partial<T>]);
  }
  for (const key of before.keys()) if (!after.has(key)) removed.push(key);
  if (set.length + patch.length + removed.length === 0) return undefined;
  return { ...(set.length > 0 && { set }), ...(patch.length > 0 && { patch }), ...(removed.length > 0 && { removed }) };
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
