import { decode, decodeRouteSetup, encode, encodeRouteSetup, MessageType, pipelineVariant, PUBLISHED_VARIANT, type MessageHeader, type RouteSetup } from '@cubecast/protocol';
import { describe, expect, it } from 'vitest';
import { Link } from '../engine/link.js';
import { RouteTable } from '../engine/route-table.js';
import { Topology } from '../engine/topology.js';
import type { LinkTransport } from '../engine/types.js';
import { CubeRouting, type RouteRequestInfo } from './cube-routing.js';

/**
 * This host owns ids 0 and 1 of the 2-ary 3-cube; hB owns 2 and 3, hC owns 4 and 5. From id 1,
 * id 3 (011) differs in one dimension only, so every policy's next hop toward it is 3, on hB.
 */
function setup() {
  let now = 1000;
  const clock = { now: () => now, set: () => 0, clear: () => {} };
  const sent = new Map<string, Uint8Array[]>();
  const links = new Map<string, Link>();
  for (const hostId of ['hB', 'hC']) {
    const transport: LinkTransport = { bufferedAmount: 0, send: (bytes) => void sent.set(hostId, [...(sent.get(hostId) ?? []), bytes.slice()]), close() {} };
    links.set(hostId, new Link(hostId, transport, clock));
  }
  const topology = new Topology((hostId) => links.get(hostId)?.oneWayMs ?? Infinity);
  topology.set({ hostId: 'hA', epoch: 4, k: 2, n: 3, ids: [0, 1], neighbours: [[2, 'hB'], [3, 'hB'], [4, 'hC'], [5, 'hC']], policy: 'odr' });
  const routeTable = new RouteTable();
  const anchors = new Map<number, number>([[9, 1]]);
  const established: unknown[] = [];
  const timers = new Map<string, number>();
  let refused = 0;
  const routing = new CubeRouting(2000);
  routing.start({
    now: () => now,
    send: (to, header, payload) => {
      links.get(to)!.toWire(encode(header, payload), now);
      return true;
    },
    linkedHosts: () => [...links.keys()],
    setTimer: (name, ms) => void timers.set(name, now + ms),
    hasTimer: (name) => timers.has(name),
    topology,
    link: (hostId) => links.get(hostId),
    anchorOf: (channel) => anchors.get(channel),
    variantOf: (pipeline) => pipelineVariant(pipeline),
    // As the engine does: soft state lives 3 refreshes.
    setBranch: (channel, sub, branch) => routeTable.setBranch(channel, sub, branch && { ...branch, expiresAt: now + 6000 }),
    setLocal: (channel, sub, route) => routeTable.setLocal(channel, sub, route && { ...route, expiresAt: now + 6000 }),
    release: () => false,
    discard: () => false,
    accept: () => false,
    bandwidthKbps: () => undefined,
    setUpstream: () => {},
    established: (...args) => established.push(args),
    refused: () => refused++,
    reportError: (error) => {
      throw error;
    },
  });
  const step = (header: MessageHeader, setup: RouteSetup) => routing.process({ type: 'protocol', from: 'hC', header, payload: encodeRouteSetup(setup) });
  const open = (hostId: string, rttMs = 0) => {
    const link = links.get(hostId)!;
    link.open(now);
    link.notePingSent(1, now - rttMs);
    link.notePong(1, now);
  };
  const setupsSent = (hostId: string) =>
    (sent.get(hostId) ?? []).map((bytes) => {
      const { message } = decode(bytes);
      return { header: message, setup: decodeRouteSetup(message.payload) };
    });
  return { routing, step, timers, routeTable, topology, open, setupsSent, established, refused: () => refused, anchors, advance: (ms: number) => (now += ms), now: () => now };
}

const route = (fields: Partial<RouteRequestInfo> = {}): RouteRequestInfo => ({ subscriptionId: 's1', channel: 9, target: 3, maxLatencyMs: 80, pipeline: [], policy: 'odr', ...fields });
const header = (fields: Partial<MessageHeader>): MessageHeader => ({ type: MessageType.RouteSetup, flags: 0, hops: 2, channel: 9, sequence: 0, source: 6, destination: 1, latencyUs: 7000, fragmentIndex: 0, fragmentCount: 1, ...fields });
const incoming = (fields: Partial<RouteSetup> = {}): RouteSetup => ({ policy: 'odr', subscriptionId: 's7', epoch: 4, at: 1, maxLatencyMs: 80, pipeline: [], ...fields });

describe('CubeRouting', () => {
  it('sends a publisher\'s setup from its anchor to the next host, stamped, and records the branch', () => {
    const s = setup();
    s.open('hB', 10);
    s.routing.process({ type: 'route:request', route: route({ pipeline: [{ spa: 'grayscale' }] }) });
    const [out] = s.setupsSent('hB');
    expect(out!.header).toMatchObject({ type: MessageType.RouteSetup, channel: 9, source: 1, destination: 3, hops: 1, latencyUs: 5000 });
    expect(out!.setup).toEqual({ policy: 'odr', subscriptionId: 's1', epoch: 4, at: 3, maxLatencyMs: 80, pipeline: [{ spa: 'grayscale' }] });
    const demand = s.routeTable.demand(9, s.now());
    expect([...demand.next]).toEqual([['hB', new Set([pipelineVariant([{ spa: 'grayscale' }])])]]);
    expect(s.setupsSent('hC')).toEqual([]);
  });

  it('ends a setup addressed to its own id as a local route, and says the route is established', () => {
    const s = setup();
    s.step(header({ destination: 1 }), incoming());
    expect(s.established).toEqual([[9, 's7', 2, 7000]]);
    expect([...s.routeTable.demand(9, s.now()).local]).toEqual([PUBLISHED_VARIANT]);
    // A prune takes it away again, and establishes nothing.
    s.step(header({ destination: 1, type: MessageType.RoutePrune }), incoming());
    expect(s.routeTable.demand(9, s.now()).local.size).toBe(0);
    expect(s.established).toHaveLength(1);
  });

  it('ignores setups of another epoch or addressed to an id it does not own; counts a pipeline it cannot read', () => {
    const s = setup();
    s.open('hB');
    s.step(header({ destination: 3 }), incoming({ epoch: 3 }));
    s.step(header({ destination: 3 }), incoming({ at: 2 }));
    expect(s.setupsSent('hB')).toEqual([]);
    expect(s.refused()).toBe(0);
    s.step(header({ destination: 3 }), incoming({ pipeline: [{ spa: 7 }] }));
    expect(s.refused()).toBe(1);
    s.routing.process({ type: 'protocol', from: 'hC', header: header({ destination: 3 }), payload: Uint8Array.of(1, 2, 3) });
    expect(s.refused()).toBe(2);
    expect(s.setupsSent('hB')).toEqual([]);
  });

  it('waits for the link to open: the refresh lays the branch once it is up; a split lays both paths', () => {
    const s = setup();
    s.routing.process({ type: 'route:request', route: route({ pipeline: [{ spa: 'split' }, { spa: 'merge' }] }) });
    expect(s.setupsSent('hB')).toEqual([]);
    expect(s.routing.size).toBe(1);
    s.open('hB');
    // A link up (or down, or a new view) brings the refresh forward, once.
    s.routing.process({ type: 'link:up', hostId: 'hB' });
    expect(s.timers.get('refresh-soon')).toBe(s.now() + 20);
    s.advance(5);
    s.routing.process({ type: 'link:down', hostId: 'hC', reason: 'silent' });
    expect(s.timers.get('refresh-soon')).toBe(s.now() + 15);
    expect(s.timers.get('refresh')).toBe(s.now() - 5 + 2000);
    s.routing.process({ type: 'timer', name: 'refresh-soon' });
    const sent = s.setupsSent('hB').map(({ setup: { subscriptionId, policy } }) => [subscriptionId, policy]);
    expect(sent).toEqual([
      ['s1', 'odr'],
      ['s1/2', 'random'],
    ]);
  });

  it('prunes a cancelled route and forgets the routes of a channel no longer published here', () => {
    const s = setup();
    s.open('hB');
    s.routing.process({ type: 'route:request', route: route() });
    s.routing.process({ type: 'route:request', route: route({ subscriptionId: 's2', channel: 10 }) });
    s.anchors.set(10, 1);
    s.routing.process({ type: 'route:cancel', subscriptionId: 's1' });
    s.routing.process({ type: 'route:cancel', subscriptionId: 's1' }); // already gone: nothing more
    expect(s.setupsSent('hB').map(({ header: h }) => h.type)).toEqual([MessageType.RouteSetup, MessageType.RoutePrune]);
    expect(s.routeTable.demand(9, s.now()).next.size).toBe(0);
    s.routing.process({ type: 'channel:unpublished', channel: 10 });
    expect(s.routing.size).toBe(0);
  });
});
