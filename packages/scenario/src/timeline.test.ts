import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FPS_WINDOW_MS, linkChanges, openLinkCounts, subscriberSeries, TIMELINE_VERSION, type Sample, type SubscriptionSample, type TabSample, type Timeline } from './timeline.js';

const subscription = (framesDecoded: number, latencyMs: number | null = 5, boundMet: boolean | null = true): SubscriptionSample => ({
  channel: 'cam',
  maxLatencyMs: 400,
  framesDecoded,
  latencyMs,
  trueLatencyMs: null,
  hops: 1,
  boundMet,
  pipeline: [],
});

const tab = (links: string[], subscriptions: SubscriptionSample[] = []): TabSample => ({ connection: 'connected', hostId: 'h', ids: ['0'], links, subscriptions, publishing: [], relaying: [] });

function timeline(samples: Sample[]): Timeline {
  return { version: TIMELINE_VERSION, title: 't', file: 'f', startedAt: '', tickMs: 500, tabs: [{ index: 0, options: {}, openedAt: 0, hostId: 'h1' }, { index: 1, options: {}, openedAt: 0 }], samples, events: [] };
}

describe('subscriberSeries', () => {
  it('counts frames per second over the window, and a stall from the first frame on', () => {
    const frames = [0, 0, 10, 20, 20, 20, 20, 30];
    const series = subscriberSeries(timeline(frames.map((f, i) => ({ t: i * 500, tabs: { 0: tab([], [subscription(f)]) }, server: null }))));
    expect(series).toHaveLength(1);
    const [s] = series;
    expect(s!.times).toEqual([0, 500, 1000, 1500, 2000, 2500, 3000, 3500]);
    expect(s!.fps[0]).toBeNull();
    // At 1500 ms: 20 frames since 0 ms.
    expect(s!.fps[3]).toBeCloseTo((20 * 1000) / 1500);
    // At 3500 ms: the window reaches back to 1500 ms (FPS_WINDOW_MS), 10 frames in 2 s.
    expect(FPS_WINDOW_MS).toBe(2000);
    expect(s!.fps[7]).toBeCloseTo(5);
    // 20 frames stood from 1500 to 3000 ms.
    expect(s!.summary.longestStallMs).toBe(1500);
    expect(s!.summary.frames).toBe(30);
  });

  it('does not count the wait before the first frame as a stall, nor a count that went back as frames', () => {
    const frames = [0, 0, 0, 0, 5, 2, 4];
    const [s] = subscriberSeries(timeline(frames.map((f, i) => ({ t: i * 1000, tabs: { 0: tab([], [subscription(f)]) }, server: null }))));
    expect(s!.summary.longestStallMs).toBe(0);
    expect(s!.fps[5]).toBeNull();
    expect(s!.fps[6]).toBeCloseTo(2);
  });

  it('summarizes latency and the share of verdicts that met the bound, ignoring samples without one', () => {
    const subs = [subscription(1, null, null), subscription(2, 10, true), subscription(3, 20, false), subscription(4, 30, true), subscription(5, 40, true)];
    const [s] = subscriberSeries(timeline(subs.map((x, i) => ({ t: i * 500, tabs: { 1: tab([], [x]) }, server: null }))));
    expect(s!.tab).toBe(1);
    expect(s!.latencyMs).toEqual([null, 10, 20, 30, 40]);
    expect(s!.summary.latencyP50).toBe(20);
    expect(s!.summary.latencyP99).toBe(40);
    expect(s!.summary.boundMetShare).toBe(0.75);
  });

  it('keeps a series per tab and channel, each on the samples that had it', () => {
    const other = { ...subscription(1), channel: 'mic' };
    const samples: Sample[] = [
      { t: 0, tabs: { 0: tab([], [subscription(1)]), 1: tab([], [other]) }, server: null },
      { t: 500, tabs: { 1: tab([], [subscription(2), other]) }, server: null },
    ];
    expect(subscriberSeries(timeline(samples)).map((s) => [s.tab, s.channel, s.times])).toEqual([
      [0, 'cam', [0]],
      [1, 'cam', [500]],
      [1, 'mic', [0, 500]],
    ]);
  });

  it('property: frames per second is never negative, and null only where the count went back or no window', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 0, max: 100 })), { minLength: 1, maxLength: 40 }), (steps) => {
        let t = 0;
        const samples = steps.map(([dt, f]) => ({ t: (t += dt), tabs: { 0: tab([], [subscription(f)]) }, server: null }));
        const [s] = subscriberSeries(timeline(samples));
        s!.fps.forEach((fps, i) => {
          if (fps !== null) expect(fps).toBeGreaterThanOrEqual(0);
          const back = i > 0 && steps[i]![1] < steps[i - 1]![1];
          const gap = i > 0 && steps[i]![0] > FPS_WINDOW_MS;
          if (i === 0 || back || gap) expect(fps).toBeNull();
          else expect(fps).not.toBeNull();
        });
      }),
    );
  });
});

describe('linkChanges and openLinkCounts', () => {
  it('reports links gained and lost per tab, sample to sample, and counts them', () => {
    const samples: Sample[] = [
      { t: 0, tabs: { 0: tab(['a']) }, server: null },
      { t: 500, tabs: { 0: tab(['a', 'b']), 1: tab(['a']) }, server: null },
      { t: 1000, tabs: { 0: tab(['b']), 1: tab(['a']) }, server: null },
      { t: 1500, tabs: { 1: tab([]) }, server: null },
    ];
    expect(linkChanges(timeline(samples))).toEqual([
      { t: 0, tab: 0, up: ['a'], down: [] },
      { t: 500, tab: 0, up: ['b'], down: [] },
      { t: 500, tab: 1, up: ['a'], down: [] },
      { t: 1000, tab: 0, up: [], down: ['a'] },
      { t: 1500, tab: 1, up: [], down: ['a'] },
    ]);
    const counts = openLinkCounts(timeline(samples));
    expect(counts.times).toEqual([0, 500, 1000, 1500]);
    expect(counts.perTab.get(0)).toEqual([1, 2, 1, null]);
    expect(counts.perTab.get(1)).toEqual([null, 1, 1, 0]);
  });
});
