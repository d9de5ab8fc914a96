import { describe, expect, it } from 'vitest';
import { markedEvents, renderReport, reportPlots } from './report.js';
import { TIMELINE_VERSION, type Timeline } from './timeline.js';

const timeline: Timeline = {
  version: TIMELINE_VERSION,
  title: 'a </script> title & more',
  file: 'scenarios/x.scenario.ts',
  startedAt: '2026-12-03T00:00:00.000Z',
  tickMs: 500,
  tabs: [{ index: 0, options: {}, openedAt: 0, hostId: 'h1' }],
  samples: [0, 500, 1000].map((t, i) => ({
    t,
    tabs: { 0: { connection: 'connected', hostId: 'h1', ids: ['0'], links: i > 0 ? ['h2'] : [], subscriptions: [{ channel: 'cam', maxLatencyMs: 300, framesDecoded: i * 10, latencyMs: 4 + i, trueLatencyMs: null, hops: 1, boundMet: true, pipeline: [] }], publishing: [], relaying: [] } },
    server: { hosts: 2, links: i, cube: { k: 2, n: 1, epoch: 1 }, policy: 'odr' },
  })),
  events: [
    { t: 100, source: 'server', type: 'join', message: 'h1 joined' },
    { t: 700, source: 'scenario', type: 'crash', message: 'tab 0 <crashed>', tab: 0 },
    { t: 800, source: 'server', type: 'swap', message: 'swapped' },
    { t: 850, source: 'scenario', type: 'publish', message: 'tab 0 publishes' },
    { t: 900, source: 'server', type: 'publish', message: 'h1 publishes', tab: 0 },
    { t: 950, source: 'scenario', type: 'mark', message: 'a mark with a long message to shorten' },
    { t: 960, source: 'scenario', type: 'emulation', message: 'tab 0 moves', tab: 0 },
    { t: 970, source: 'scenario', type: 'reembed', message: 're-embed into the 2-ary 3-cube asked' },
    { t: 980, source: 'server', type: 'reembed', message: 're-embedded into the 2-ary 3-cube' },
  ],
  outcome: { status: 'failed', error: 'expected 1 to be 2', durationMs: 1200 },
};

describe('the report', () => {
  it('plots each subscriber and tab on the samples\' time axis, with the marked events', () => {
    const plots = reportPlots(timeline);
    expect(plots.x).toEqual([0, 0.5, 1]);
    expect(plots.latency).toEqual([{ label: 'tab 0 (h1) cam', values: [4, 5, 6] }]);
    expect(plots.bounds).toEqual([{ label: 'bound 300 ms', values: [300, 300, 300] }]);
    expect(plots.fps[0]!.values).toEqual([null, 20, 20]);
    expect(plots.links).toEqual([{ label: 'tab 0 (h1)', values: [0, 1, 1] }]);
    expect(plots.server).toEqual({ hosts: [2, 2, 2], links: [0, 1, 2] });
    expect(plots.markers.map((m) => [m.t, m.label])).toEqual([
      [0.1, 'join'],
      [0.7, 'crash 0'],
      [0.8, 'swap'],
      [0.9, 'publish 0'],
      [0.95, 'a mark with a long message…'],
      [0.98, 'reembed'],
    ]);
    expect(plots.markers.filter((m) => m.tick).map((m) => m.type)).toEqual(['join']);
    expect(markedEvents(timeline.events).map((e) => `${e.source} ${e.type}`)).toEqual(['server join', 'scenario crash', 'server swap', 'server publish', 'scenario mark', 'server reembed']);
  });

  it('draws a bound per subscriber when they differ', () => {
    const second = { ...timeline.samples[1]!.tabs[0]!.subscriptions[0]!, channel: 'mic', maxLatencyMs: 100 };
    const samples = timeline.samples.map((s, i) => (i === 1 ? { ...s, tabs: { 0: { ...s.tabs[0]!, subscriptions: [...s.tabs[0]!.subscriptions, second] } } } : s));
    expect(reportPlots({ ...timeline, samples }).bounds).toEqual([
      { label: 'tab 0 (h1) cam bound', values: [300, 300, 300], of: 0 },
      { label: 'tab 0 (h1) mic bound', values: [null, 100, null], of: 1 },
    ]);
  });

  it('is one HTML file with uPlot and the data inlined, the outcome shown, and text escaped', () => {
    const html = renderReport(timeline);
    expect(html).toMatch(/^<!doctype html>/);
    // uPlot's code is in the page: nothing is fetched.
    expect(html).toContain('var uPlot');
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).toContain('<strong>failed</strong> after 1.2 s: <code>expected 1 to be 2</code>');
    expect(html).toContain('tab 0 &#60;crashed&#62;');
    // The title's "</script>" cannot end the data's script element early.
    expect(html.match(/<\/script>/g)).toHaveLength(3);
    const data = JSON.parse(/<script type="application\/json" id="data">(.*?)<\/script>/s.exec(html)![1]!);
    expect(data.x).toEqual([0, 0.5, 1]);
  });

  it('keeps a name with "</script>" in the data from ending the data\'s script element', () => {
    const named = timeline.samples.map((s) => ({ ...s, tabs: { 0: { ...s.tabs[0]!, subscriptions: [{ ...s.tabs[0]!.subscriptions[0]!, channel: 'a</script><b>' }] } } }));
    const html = renderReport({ ...timeline, samples: named });
    expect(html.match(/<\/script>/g)).toHaveLength(3);
    const data = JSON.parse(/<script type="application\/json" id="data">(.*?)<\/script>/s.exec(html)![1]!);
    expect(data.latency[0].label).toBe('tab 0 (h1) a</script><b>');
  });

  it('says a scenario that never finished is unfinished', () => {
    const { outcome: _, ...unfinished } = timeline;
    expect(renderReport(unfinished as Timeline)).toContain('<strong>unfinished</strong>');
  });
});
