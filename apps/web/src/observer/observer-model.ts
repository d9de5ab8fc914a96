import { applyObserverDelta, OBSERVER_ENTITY_KEYS, type ObserverDelta, type ObserverEvent, type ObserverLink, type ObserverSnapshot } from '@cubecast/protocol';

/** Ticks each time series keeps: ticks are at least TICK_SECONDS apart, so 5 minutes or more. */
export const SERIES_TICKS = 300;
/** Changes closer than this to the last tick overwrite it: the feed may send several a second. */
export const TICK_SECONDS = 1;
/** Events the page keeps, newest first. */
export const EVENTS_KEPT = 2000;

/** Times (seconds) and values of one series, oldest first, as the charts take them (null: a gap). */
export interface SeriesData {
  readonly times: number[];
  readonly values: (number | null)[];
}

/**
 * Time series of many entities (links, subscriptions) on one clock: a ring of tick times, and
 * per entity a Float32Array of values on the same ring (NaN: absent then). A thousand hosts'
 * links cost a few MB, not an object per point. An entity absent for the whole ring is dropped.
 */
export class SeriesTable {
  private readonly times = new Float64Array(SERIES_TICKS);
  private ticks = 0;
  private readonly series = new Map<string, { values: Float32Array; lastSeen: number }>();

  /** Values at `time` for the entities present; the others get a gap. */
  record(time: number, present: ReadonlyMap<string, number | undefined>): void {
    const latest = this.ticks > 0 ? this.times[(this.ticks - 1) % SERIES_TICKS]! : -Infinity;
    const next = this.ticks === 0 || time - latest >= TICK_SECONDS;
    if (next) this.ticks++;
    const at = (this.ticks - 1) % SERIES_TICKS;
    // A tick keeps the time it began at: what follows within TICK_SECONDS overwrites its values.
    if (next) this.times[at] = time;
    for (const [key, value] of present) {
      let entry = this.series.get(key);
      if (!entry) this.series.set(key, (entry = { values: new Float32Array(SERIES_TICKS).fill(NaN), lastSeen: this.ticks }));
      entry.values[at] = value ?? NaN;
      entry.lastSeen = this.ticks;
    }
    for (const [key, entry] of this.series) {
      if (present.has(key)) continue;
      entry.values[at] = NaN;
      if (this.ticks - entry.lastSeen >= SERIES_TICKS) this.series.delete(key);
    }
  }

  get size(): number {
    return this.series.size;
  }

  /** One entity's series, oldest first; empty when it was never seen or is forgotten. */
  get(key: string): SeriesData {
    const entry = this.series.get(key);
    const count = Math.min(this.ticks, SERIES_TICKS);
    const times: number[] = [];
    const values: (number | null)[] = [];
    if (!entry) return { times, values };
    for (let i = this.ticks - count; i < this.ticks; i++) {
      const at = i % SERIES_TICKS;
      times.push(this.times[at]!);
      const value = entry.values[at]!;
      values.push(Number.isNaN(value) ? null : value);
    }
    return { times, values };
  }
}

/** What `window.cubecastObserver` holds for automation (issue 15), rebuilt after every change. */
export interface ObserverView {
  readonly room: string;
  readonly hosts: { hostId: string; name?: string; ids: number[]; links: { hostId: string; state: string; rttMs?: number }[] }[];
  readonly channels: { name: string; publisher: string; subscribers: { hostId: string; latencyMs?: number; boundMet?: boolean; maxLatencyMs: number }[]; tree: { from: string; to: string }[] }[];
  readonly events: readonly ObserverEvent[];
}

/** A link as the page draws it: the worse of its two ends' states, their mean RTT, their summed throughput. */
export interface LinkSummary {
  readonly key: string;
  readonly a: string;
  readonly b: string;
  readonly state: string;
  readonly rttMs?: number;
  readonly throughputKbps?: number;
  readonly lossRate?: number;
}

const STATE_RANK: Record<string, number> = { failed: 4, stalled: 3, connecting: 2, open: 1 };

export function summarizeLink(link: ObserverLink): LinkSummary {
  const key = OBSERVER_ENTITY_KEYS.links(link);
  if (link.reports.length === 0) return { key, a: link.a, b: link.b, state: 'unreported' };
  const state = link.reports.map((r) => r.state).sort((x, y) => (STATE_RANK[y] ?? 0) - (STATE_RANK[x] ?? 0))[0]!;
  const rtts = link.reports.flatMap((r) => (r.rttMs === undefined ? [] : [r.rttMs]));
  const throughputs = link.reports.flatMap((r) => (r.throughputKbps === undefined ? [] : [r.throughputKbps]));
  const losses = link.reports.flatMap((r) => (r.lossRate === undefined ? [] : [r.lossRate]));
  return {
    key,
    a: link.a,
    b: link.b,
    state,
    ...(rtts.length > 0 && { rttMs: rtts.reduce((x, y) => x + y, 0) / rtts.length }),
    ...(throughputs.length > 0 && { throughputKbps: throughputs.reduce((x, y) => x + y, 0) }),
    ...(losses.length > 0 && { lossRate: Math.max(...losses) }),
  };
}

/** A channel's multicast tree as its relays reported it: who forwards it to whom. */
export function treeEdges(snapshot: ObserverSnapshot, channel: string): { from: string; to: string }[] {
  const edges: { from: string; to: string }[] = [];
  for (const link of snapshot.links) {
    for (const report of link.reports) {
      if (report.channels?.includes(channel)) edges.push({ from: report.from, to: report.from === link.a ? link.b : link.a });
    }
  }
  return edges;
}

/**
 * The overlay as one observer page knows it: the feed's snapshot with every delta applied,
 * the events (newest first), and time series for the plots, sampled at each change's server
 * time. Pure: the page feeds it what the socket delivers.
 */
export class ObserverModel {
  state: ObserverSnapshot | undefined;
  readonly events: ObserverEvent[] = [];
  /** hosts, links, streams (subscriptions), swaps and rejected requests (both counted since the page opened). */
  readonly totals = new SeriesTable();
  readonly linkThroughput = new SeriesTable();
  readonly linkRtt = new SeriesTable();
  readonly subscriptionLatency = new SeriesTable();
  private summarized: { state: ObserverSnapshot | undefined; links: LinkSummary[] } | undefined;
  private swaps = 0;
  private rejects = 0;

  constructor(readonly room: string) {}

  /**
   * A snapshot starts the picture afresh, events too: the server follows each one (a new
   * connection, a reconnection, a new token) with its recent event log, which would otherwise
   * come twice.
   */
  snapshot(snapshot: ObserverSnapshot): void {
    this.state = snapshot;
    this.events.length = 0;
    this.swaps = 0;
    this.rejects = 0;
    this.sample();
  }

  /** A delta relative to the state held; one before any snapshot is dropped (the snapshot comes first). */
  delta(delta: ObserverDelta): void {
    if (!this.state) return;
    this.state = applyObserverDelta(this.state, delta);
    this.sample();
  }

  event(event: ObserverEvent): void {
    this.events.unshift(event);
    if (this.events.length > EVENTS_KEPT) this.events.pop();
    if (event.type === 'swap') this.swaps++;
    // A rejected event stands for every refusal of one kind within a second (details.count).
    if (event.type === 'rejected') this.rejects += typeof event.details?.count === 'number' ? event.details.count : 1;
    if (this.state && (event.type === 'swap' || event.type === 'rejected')) this.sampleTotals(event.time / 1000);
  }

  /** The links of the state held, summarized once per state (the picture, the view and the details all ask). */
  links(): LinkSummary[] {
    let summarized = this.summarized;
    if (!summarized || summarized.state !== this.state) this.summarized = summarized = { state: this.state, links: this.state?.links.map(summarizeLink) ?? [] };
    return summarized!.links;
  }

  view(): ObserverView {
    const state = this.state;
    if (!state) return { room: this.room, hosts: [], channels: [], events: this.events };
    const linksOf = new Map<string, ObserverView['hosts'][number]['links']>();
    for (const link of this.links()) {
      for (const [end, other] of [
        [link.a, link.b],
        [link.b, link.a],
      ] as const) {
        const list = linksOf.get(end) ?? [];
        list.push({ hostId: other, state: link.state, ...(link.rttMs !== undefined && { rttMs: link.rttMs }) });
        linksOf.set(end, list);
      }
    }
    return {
      room: this.room,
      hosts: state.hosts.map((h) => ({ hostId: h.hostId, ...(h.name !== undefined && { name: h.name }), ids: h.ids, links: linksOf.get(h.hostId) ?? [] })),
      channels: state.channels.map((c) => ({
        name: c.name,
        publisher: c.publisher,
        subscribers: state.subscriptions
          .filter((s) => s.channel === c.name)
          .map((s) => ({ hostId: s.subscriber, maxLatencyMs: s.maxLatencyMs, ...(s.latencyMs !== undefined && { latencyMs: s.latencyMs }), ...(s.boundMet !== undefined && { boundMet: s.boundMet }) })),
        tree: treeEdges(state, c.name),
      })),
      events: this.events,
    };
  }

  private sample(): void {
    const state = this.state!;
    const time = state.time / 1000;
    const links = this.links();
    this.linkThroughput.record(time, new Map(links.map((l) => [l.key, l.throughputKbps])));
    this.linkRtt.record(time, new Map(links.map((l) => [l.key, l.rttMs])));
    this.subscriptionLatency.record(time, new Map(state.subscriptions.map((s) => [s.subscriptionId, s.latencyMs])));
    this.sampleTotals(time);
  }

  private sampleTotals(time: number): void {
    const state = this.state!;
    this.totals.record(
      time,
      new Map([
        ['hosts', state.hosts.length],
        ['links', state.links.length],
        ['streams', state.subscriptions.length],
        ['swaps', this.swaps],
        ['rejects', this.rejects],
      ]),
    );
  }
}
