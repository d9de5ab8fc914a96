/**
 * The recorder: on a fixed tick it samples every open tab's `window.cubecast` and the server's
 * observer feed into a timeline, beside the scenario's own steps and the server's events.
 */
import type { ObserverEvent } from '@cubecast/protocol';
import type { PeerSnapshot } from '@cubecast/peer';
import type { Page } from '@playwright/test';
import type { ObserverConnection } from './observer-connection.js';
import { TIMELINE_VERSION, type Sample, type ServerSample, type TabInfo, type TabSample, type Timeline, type TimelineEvent } from './timeline.js';

/** A tab that answers slower than this is left out of the sample (a busy or dying page must not stall the tick). */
const SAMPLE_TIMEOUT_MS = 2000;

export interface RecordedTab {
  readonly info: TabInfo;
  readonly page: Page;
}

export interface RecorderOptions {
  readonly title: string;
  readonly file: string;
  readonly tickMs: number;
  /** The open tabs now: sampled each tick. */
  readonly tabs: () => readonly RecordedTab[];
  /** The server's observer feed (absent: the timeline has no server side). */
  readonly observer?: ObserverConnection;
}

/** Reads a page's `window.cubecast`, or undefined when the page does not answer in time (closed, crashed, busy). */
export async function readSnapshot(page: Page, timeoutMs = SAMPLE_TIMEOUT_MS): Promise<PeerSnapshot | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, timeoutMs, undefined)));
  try {
    return await Promise.race([page.evaluate(() => (globalThis as { cubecast?: PeerSnapshot }).cubecast).catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function tabSample(s: PeerSnapshot): TabSample {
  return {
    connection: s.connection,
    hostId: s.hostId,
    ids: s.ids,
    links: s.links.filter((l) => l.state === 'open').map((l) => l.hostId).sort(),
    subscriptions: s.subscriptions.map((x) => ({
      channel: x.channel,
      maxLatencyMs: x.maxLatencyMs,
      framesDecoded: x.framesDecoded,
      latencyMs: x.latencyMs,
      trueLatencyMs: x.trueLatencyMs,
      hops: x.hops,
      boundMet: x.boundMet,
      pipeline: x.pipeline,
    })),
    publishing: s.publishing.map((p) => ({ channel: p.channel, framesEncoded: p.framesEncoded })),
    relaying: s.relaying.map((r) => ({ channel: r.channel, to: [...r.to] })),
  };
}

export class Recorder {
  readonly timeline: Timeline;
  private readonly startedAt = Date.now();
  private loop: Promise<void> | undefined;
  private running = false;
  private wake: (() => void) | undefined;
  private readonly listeners: ((event: TimelineEvent) => void)[] = [];

  constructor(private readonly options: RecorderOptions) {
    this.timeline = {
      version: TIMELINE_VERSION,
      title: options.title,
      file: options.file,
      startedAt: new Date(this.startedAt).toISOString(),
      tickMs: options.tickMs,
      tabs: [],
      samples: [],
      events: [],
    };
  }

  /** Scenario time now (ms since the recorder was made). */
  now(): number {
    return Date.now() - this.startedAt;
  }

  /** Begins sampling on the tick, and taking the server's events. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.options.observer?.onEvent((event) => this.serverEvent(event));
    this.loop = this.run();
  }

  /** A step of the script, on the time axis. */
  event(type: string, message: string, extra: { tab?: number; hostId?: string } = {}): TimelineEvent {
    return this.push({ t: this.now(), source: 'scenario', type, message, ...extra });
  }

  /** Calls `listener` with every event from now on, the script's and the server's. */
  onEvent(listener: (event: TimelineEvent) => void): void {
    this.listeners.push(listener);
  }

  private push(event: TimelineEvent): TimelineEvent {
    this.timeline.events.push(event);
    for (const listener of this.listeners) listener(event);
    return event;
  }

  addTab(info: TabInfo): void {
    this.timeline.tabs.push(info);
  }

  /** Samples every open tab and the server now, and keeps the sample. */
  async sample(): Promise<Sample> {
    const t = this.now();
    const tabs: Record<number, TabSample> = {};
    await Promise.all(
      this.options.tabs().map(async ({ info, page }) => {
        const snapshot = await readSnapshot(page);
        if (!snapshot) return;
        tabs[info.index] = tabSample(snapshot);
        if (snapshot.hostId) info.hostId ??= snapshot.hostId;
      }),
    );
    const sample: Sample = { t, tabs, server: this.serverSample() };
    // A waitFor check samples beside the tick: the one begun later may finish first. The
    // timeline stays in time order, as its readers (frames per second, link changes) assume.
    const samples = this.timeline.samples;
    let at = samples.length;
    while (at > 0 && samples[at - 1]!.t > t) at--;
    samples.splice(at, 0, sample);
    return sample;
  }

  /** Stops sampling after one last sample. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.sample();
  }

  private serverSample(): ServerSample | null {
    const o = this.options.observer?.current;
    if (!o) return null;
    const openLinks = o.links.filter((l) => l.reports.some((r) => r.state === 'open')).length;
    return { hosts: o.hosts.length, links: openLinks, cube: { k: o.cube.k, n: o.cube.n, epoch: o.cube.epoch }, policy: o.policy };
  }

  private serverEvent(event: ObserverEvent): void {
    // The feed replays the room's recent events on connect: those from before the scenario are not its own.
    if (event.time < this.startedAt) return;
    const tab = this.timeline.tabs.find((info) => info.hostId !== undefined && info.hostId === event.hostId)?.index;
    this.push({
      t: event.time - this.startedAt,
      source: 'server',
      type: event.type,
      message: event.message,
      ...(event.hostId !== undefined && { hostId: event.hostId }),
      ...(tab !== undefined && { tab }),
    });
  }

  /** Ticks at fixed times from the start: a slow sample delays the next, never shifts the grid. */
  private async run(): Promise<void> {
    let tick = 0;
    while (this.running) {
      await this.sample();
      tick = Math.max(tick + 1, Math.ceil(this.now() / this.options.tickMs));
      const wait = tick * this.options.tickMs - this.now();
      if (wait > 0) await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
