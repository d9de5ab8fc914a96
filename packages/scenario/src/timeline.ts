/**
 * A scenario's timeline: what the recorder sampled from every tab and the server on its tick,
 * and what happened (the script's steps, the server's observer events). Pure data and the
 * derivations the report plots; no I/O. Written as timeline.json beside the report.
 */
import { summarize } from '@cubecast/overlay';

/** Bumped when a field changes meaning or goes away; readers refuse other versions. */
export const TIMELINE_VERSION = 1;

/** How a tab was opened: its emulated place and last mile, its NAT home, its server node. */
export interface TabOptions {
  /** Emulated map position (ms of one-way delay per unit of distance, as `?pos=`). */
  readonly position?: readonly [number, number];
  readonly upKbps?: number;
  readonly downKbps?: number;
  /** iOverlay's per-node total bandwidth, up and down together. */
  readonly totalKbps?: number;
  /** The NAT test network's home (1-based) the tab's Chromium runs in. */
  readonly home?: number;
  /** The server node (0-based) the tab connects to. */
  readonly node?: number;
  /** A display name (the page's `?name=`). */
  readonly name?: string;
}

export interface TabInfo {
  readonly index: number;
  readonly options: TabOptions;
  /** Scenario time (ms since the recorder started) the tab was opened, joined, and left. */
  readonly openedAt: number;
  joinedAt?: number;
  endedAt?: number;
  /** `closed` by the script, `crashed` by it, or still open at the end. */
  end?: 'closed' | 'crashed';
  hostId?: string;
}

export interface SubscriptionSample {
  readonly channel: string;
  readonly maxLatencyMs: number;
  readonly framesDecoded: number;
  /** What the overlay reports (sum of measured link latencies), and now minus capture time. */
  readonly latencyMs: number | null;
  readonly trueLatencyMs: number | null;
  readonly hops: number | null;
  readonly boundMet: boolean | null;
  readonly pipeline: readonly string[];
}

export interface TabSample {
  readonly connection: string;
  readonly hostId: string | null;
  readonly ids: readonly string[];
  /** Host ids of the tab's open links, sorted. */
  readonly links: readonly string[];
  readonly subscriptions: readonly SubscriptionSample[];
  readonly publishing: readonly { readonly channel: string; readonly framesEncoded: number }[];
  readonly relaying: readonly { readonly channel: string; readonly to: readonly string[] }[];
}

export interface ServerSample {
  readonly hosts: number;
  readonly links: number;
  readonly cube: { readonly k: number; readonly n: number; readonly epoch: number } | null;
  readonly policy: string | null;
}

export interface Sample {
  /** Scenario time, ms. */
  readonly t: number;
  /** Per tab index: its sample; absent for a tab not open then, or that did not answer. */
  readonly tabs: Readonly<Record<number, TabSample>>;
  readonly server: ServerSample | null;
}

export interface TimelineEvent {
  readonly t: number;
  /** `scenario`: a step of the script; `server`: the server's observer feed. */
  readonly source: 'scenario' | 'server';
  /** The observer's event types (join, failure, swap, reembed, ...) or the script's (open, publish, close, crash, loss, mark, ...). */
  readonly type: string;
  readonly message: string;
  readonly tab?: number;
  readonly hostId?: string;
}

export type OutcomeStatus = 'passed' | 'failed' | 'timedOut' | 'skipped' | 'interrupted';

export interface Timeline {
  readonly version: typeof TIMELINE_VERSION;
  readonly title: string;
  readonly file: string;
  /** Wall clock of scenario time 0 (ISO 8601). */
  readonly startedAt: string;
  readonly tickMs: number;
  readonly tabs: TabInfo[];
  readonly samples: Sample[];
  readonly events: TimelineEvent[];
  outcome?: { readonly status: OutcomeStatus; readonly error?: string; readonly durationMs: number };
}

/** One subscription of one tab over the scenario, as the report plots it. */
/** The window frames per second are counted over. */
export const FPS_WINDOW_MS = 2000;

export interface SubscriberSeries {
  readonly tab: number;
  readonly channel: string;
  /** Scenario times (ms) of the samples where the tab had this subscription. */
  readonly times: number[];
  readonly latencyMs: (number | null)[];
  readonly boundMs: number[];
  /** Frames decoded per second over the last FPS_WINDOW_MS (null at the first sample, or right after the count went back). */
  readonly fps: (number | null)[];
  readonly summary: {
    readonly frames: number;
    readonly latencyP50: number | null;
    readonly latencyP99: number | null;
    /** Of the samples with a verdict, the share where the bound was met. */
    readonly boundMetShare: number | null;
    /** The longest time the frame count stood still once frames had come (ms, to the tick). */
    readonly longestStallMs: number;
  };
}

export function subscriberSeries(timeline: Timeline): SubscriberSeries[] {
  const byKey = new Map<string, { tab: number; channel: string; points: { t: number; s: SubscriptionSample }[] }>();
  for (const sample of timeline.samples) {
    for (const [index, tab] of Object.entries(sample.tabs)) {
      for (const s of tab.subscriptions) {
        const key = `${index}\u0000${s.channel}`;
        let entry = byKey.get(key);
        if (!entry) byKey.set(key, (entry = { tab: Number(index), channel: s.channel, points: [] }));
        entry.points.push({ t: sample.t, s });
      }
    }
  }
  return [...byKey.values()]
    .sort((a, b) => a.tab - b.tab || a.channel.localeCompare(b.channel))
    .map(({ tab, channel, points }) => {
      const fps = points.map((p, i) => {
        // Over a window, not sample to sample: a tab publishes its counters in bursts.
        let from = i;
        while (from > 0 && p.t - points[from - 1]!.t <= FPS_WINDOW_MS && points[from - 1]!.s.framesDecoded <= points[from]!.s.framesDecoded) from--;
        const first = points[from]!;
        if (from === i || p.s.framesDecoded < first.s.framesDecoded) return null;
        return ((p.s.framesDecoded - first.s.framesDecoded) * 1000) / (p.t - first.t);
      });
      const latencies = points.flatMap((p) => (p.s.latencyMs === null ? [] : [p.s.latencyMs]));
      const verdicts = points.flatMap((p) => (p.s.boundMet === null ? [] : [p.s.boundMet]));
      const latency = summarize(latencies);
      let longestStallMs = 0;
      let since: { t: number; frames: number } | undefined;
      for (const p of points) {
        if (!since || p.s.framesDecoded !== since.frames) {
          // Before the first frame nothing has stalled yet: the stream has not begun.
          since = p.s.framesDecoded > 0 ? { t: p.t, frames: p.s.framesDecoded } : undefined;
          continue;
        }
        longestStallMs = Math.max(longestStallMs, p.t - since.t);
      }
      return {
        tab,
        channel,
        times: points.map((p) => p.t),
        latencyMs: points.map((p) => p.s.latencyMs),
        boundMs: points.map((p) => p.s.maxLatencyMs),
        fps,
        summary: {
          frames: points.at(-1)!.s.framesDecoded,
          latencyP50: latency.count > 0 ? latency.p50 : null,
          latencyP99: latency.count > 0 ? latency.p99 : null,
          boundMetShare: verdicts.length > 0 ? verdicts.filter(Boolean).length / verdicts.length : null,
          longestStallMs,
        },
      };
    });
}

/** A tab's open links changed between two samples: the hosts it linked to and those it lost. */
export interface LinkChange {
  readonly t: number;
  readonly tab: number;
  readonly up: readonly string[];
  readonly down: readonly string[];
}

/** Every change of every tab's open links, sample to sample (a tab's first sample counts as all up). */
export function linkChanges(timeline: Timeline): LinkChange[] {
  const last = new Map<number, ReadonlySet<string>>();
  const changes: LinkChange[] = [];
  for (const sample of timeline.samples) {
    for (const [key, tab] of Object.entries(sample.tabs)) {
      const index = Number(key);
      const before = last.get(index) ?? new Set<string>();
      const now = new Set(tab.links);
      const up = tab.links.filter((h) => !before.has(h));
      const down = [...before].filter((h) => !now.has(h));
      if (up.length > 0 || down.length > 0) changes.push({ t: sample.t, tab: index, up, down });
      last.set(index, now);
    }
  }
  return changes;
}

/** Per tab, its open links' count at each sample time (null when the tab was not sampled then). */
export function openLinkCounts(timeline: Timeline): { times: number[]; perTab: Map<number, (number | null)[]> } {
  const times = timeline.samples.map((s) => s.t);
  const perTab = new Map<number, (number | null)[]>();
  for (const info of timeline.tabs) perTab.set(info.index, timeline.samples.map((s) => s.tabs[info.index]?.links.length ?? null));
  return { times, perTab };
}

/** A tab's name in the report: its index, and its host id once it had one. */
export function tabLabel(timeline: Timeline, index: number): string {
  const hostId = timeline.tabs.find((t) => t.index === index)?.hostId;
  return hostId ? `tab ${index} (${hostId})` : `tab ${index}`;
}
