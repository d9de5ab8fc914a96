import type { ObserverEvent, ObserverSnapshot } from '@cubecast/protocol';
import { describe, expect, it } from 'vitest';
import { EVENTS_KEPT, ObserverModel, SERIES_TICKS, SeriesTable, summarizeLink, treeEdges } from './observer-model.js';

function snapshot(time: number, over: Partial<ObserverSnapshot> = {}): ObserverSnapshot {
  return {
    time,
    cube: { k: 2, n: 2, M: 4, epoch: 1, revision: 1 },
    algorithm: 'cube',
    swaps: { strategy: 'depth', depth: 2 },
    policy: 'greedy',
    hosts: [
      { hostId: 'h1', name: 'ana', ids: [0], connectedAt: 0, rejected: 0, spas: [] },
      { hostId: 'h2', ids: [1], connectedAt: 0, rejected: 0, spas: [] },
      { hostId: 'h3', ids: [3], connectedAt: 0, rejected: 0, spas: [] },
    ],
    links: [
      {
        a: 'h1',
        b: 'h2',
        reports: [
          { from: 'h1', state: 'open', rttMs: 10, throughputKbps: 300, channels: ['cam'], at: 0 },
          { from: 'h2', state: 'stalled', rttMs: 30, throughputKbps: 20, at: 0 },
        ],
      },
      { a: 'h2', b: 'h3', reports: [{ from: 'h2', state: 'open', rttMs: 4, channels: ['cam'], at: 0 }] },
      { a: 'h1', b: 'h3', reports: [] },
    ],
    channels: [{ id: 7, name: 'cam', kind: 'video', publisher: 'h1', anchor: 0, codec: { codec: 'vp8', width: 320, height: 240, framerate: 30, bitrateKbps: 300, scalabilityMode: 'L1T3' } }],
    subscriptions: [{ subscriptionId: 's1', channel: 'cam', subscriber: 'h3', maxLatencyMs: 100, pipeline: [], latencyMs: 40, hops: 2, boundMet: true, state: 'active' }],
    server: { heapUsedBytes: 0, rejectedPayloads: 0, uptimeSeconds: 1 },
    controls: { enabled: false, reason: 'view only' },
    ...over,
  };
}

const event = (time: number, type: ObserverEvent['type'], details?: Record<string, unknown>): ObserverEvent => ({ time, type, message: type, ...(details && { details }) });

describe('ObserverModel', () => {
  it('shows each host its links (the worse end state, mean RTT) and each channel its subscribers against their bounds', () => {
    const model = new ObserverModel('lab');
    model.snapshot(snapshot(1000));
    const view = model.view();
    expect(view.room).toBe('lab');
    expect(view.hosts.find((h) => h.hostId === 'h1')).toEqual({
      hostId: 'h1',
      name: 'ana',
      ids: [0],
      links: [
        { hostId: 'h2', state: 'stalled', rttMs: 20 },
        { hostId: 'h3', state: 'unreported' },
      ],
    });
    expect(view.channels).toEqual([
      {
        name: 'cam',
        publisher: 'h1',
        subscribers: [{ hostId: 'h3', maxLatencyMs: 100, latencyMs: 40, boundMet: true }],
        tree: [
          { from: 'h1', to: 'h2' },
          { from: 'h2', to: 'h3' },
        ],
      },
    ]);
  });

  it('applies deltas to the snapshot it holds, and drops one that comes before any snapshot', () => {
    const model = new ObserverModel('default');
    model.delta({ time: 500, server: { heapUsedBytes: 0, rejectedPayloads: 0, uptimeSeconds: 0 }, hosts: { removed: ['h1'] } });
    expect(model.state).toBeUndefined();
    expect([model.links(), model.view().hosts]).toEqual([[], []]);
    model.snapshot(snapshot(1000));
    model.delta({ time: 2000, server: { heapUsedBytes: 0, rejectedPayloads: 0, uptimeSeconds: 2 }, hosts: { removed: ['h2'] }, subscriptions: { patch: [['s1', { latencyMs: 140, boundMet: false }]] } });
    expect(model.view().hosts.map((h) => h.hostId)).toEqual(['h1', 'h3']);
    expect(model.view().channels[0]!.subscribers[0]).toMatchObject({ latencyMs: 140, boundMet: false });
    expect(model.subscriptionLatency.get('s1')).toEqual({ times: [1, 2], values: [40, 140] });
  });

  it('keeps events newest first up to its cap, and counts swaps and refusals (a refusal event stands for its count)', () => {
    const model = new ObserverModel('default');
    model.snapshot(snapshot(1000));
    model.event(event(1100, 'swap'));
    model.event(event(2500, 'rejected', { count: 3 }));
    expect(model.events.map((e) => e.type)).toEqual(['rejected', 'swap']);
    expect(model.totals.get('swaps').values.at(-1)).toBe(1);
    expect(model.totals.get('rejects')).toEqual({ times: [1, 2.5], values: [0, 3] });
    for (let i = 0; i < EVENTS_KEPT + 5; i++) model.event(event(3000 + i, 'join'));
    expect(model.events).toHaveLength(EVENTS_KEPT);
    expect(model.events[0]!.time).toBe(3000 + EVENTS_KEPT + 4);
  });

  it('starts afresh at each snapshot: the recent events the server sends after it do not come twice', () => {
    const model = new ObserverModel('default');
    model.snapshot(snapshot(1000));
    model.event(event(1100, 'swap'));
    // A reconnection: the snapshot again, then the same recent events.
    model.snapshot(snapshot(5000));
    model.event(event(1100, 'swap'));
    expect(model.events).toHaveLength(1);
    expect(model.totals.get('swaps').values.at(-1)).toBe(1);
  });
});

describe('links and trees', () => {
  it('sums a link both ways and takes its worse loss', () => {
    expect(summarizeLink({ a: 'a', b: 'b', reports: [{ from: 'a', state: 'open', throughputKbps: 5, lossRate: 0.01, at: 0 }, { from: 'b', state: 'connecting', throughputKbps: 7, lossRate: 0.2, at: 0 }] })).toEqual({
      key: 'a|b',
      a: 'a',
      b: 'b',
      state: 'connecting',
      throughputKbps: 12,
      lossRate: 0.2,
    });
  });

  it('draws a channel’s tree from the relays’ reports: who forwards it to whom', () => {
    expect(treeEdges(snapshot(0), 'cam')).toEqual([
      { from: 'h1', to: 'h2' },
      { from: 'h2', to: 'h3' },
    ]);
    expect(treeEdges(snapshot(0), 'other')).toEqual([]);
  });
});

describe('SeriesTable', () => {
  it('coalesces changes within a tick, leaves gaps for the absent, and forgets what was absent a whole ring', () => {
    const table = new SeriesTable();
    table.record(10, new Map([['a', 1], ['b', 5]]));
    table.record(10.4, new Map([['a', 2], ['b', 6]]));
    table.record(11, new Map([['a', 3]]));
    table.record(12, new Map([['a', undefined], ['b', 7]]));
    expect(table.get('a')).toEqual({ times: [10, 11, 12], values: [2, 3, null] });
    expect(table.get('b')).toEqual({ times: [10, 11, 12], values: [6, null, 7] });
    expect(table.get('c')).toEqual({ times: [], values: [] });
    for (let i = 0; i < SERIES_TICKS; i++) table.record(13 + i, new Map([['a', i]]));
    expect(table.size).toBe(1);
    expect(table.get('a').times).toHaveLength(SERIES_TICKS);
    expect(table.get('a').values.at(-1)).toBe(SERIES_TICKS - 1);
  });
});
