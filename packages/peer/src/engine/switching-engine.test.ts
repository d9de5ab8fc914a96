import type { LossProtection } from './link.js';
import { Cube, routeTarget } from '@cubecast/overlay';
import { encode, encodeRepairRequest, encodeRouteSetup, encodeVideoPayload, Flags, LINK_CHANNELS, MessageType, pipelineVariant, PUBLISHED_VARIANT, RELIABLE_LANE, TIMELY_FRAGMENT_PAYLOAD, type SpaSpec } from '@cubecast/protocol';
import { inlinePipeline } from '@cubecast/spa/testing';
import { describe, expect, it } from 'vitest';
import { messageHeader, SimNetwork } from '../testing/sim-network.js';
import { HIGH_WATER_BYTES } from './link.js';
import type { AlgorithmFactory, AlgorithmMessage } from './algorithm.js';

/** Hosts at points of a plane; one-way latency = distance / 10 ms + 1 ms. */
function planar(count: number) {
  const place = new Map(Array.from({ length: count }, (_, i) => [`h${i}`, [(i * 37) % 100, (i * 61) % 100] as const]));
  return (a: string, b: string) => {
    const [ax, ay] = place.get(a)!;
    const [bx, by] = place.get(b)!;
    return Math.hypot(ax - bx, ay - by) / 10 + 1;
  };
}

function setup(count: number, cube: Cube, policy: 'odr' | 'random' | 'greedy' = 'greedy', maxLatencyMs = 500) {
  const hosts = Array.from({ length: count }, (_, i) => `h${i}`);
  const net = new SimNetwork(cube, planar(count), policy, undefined, async (pipeline, options) => inlinePipeline(pipeline, options?.splitInput));
  net.addHosts(hosts);
  net.advance(200); // pings: RTTs measured
  const publisher = 'h0';
  const anchor = Math.min(...net.ownership.idsOf(publisher));
  net.engines.get(publisher)!.publish(1, anchor);
  const subscribe = (hostId: string, pipeline: SpaSpec[] = []) => {
    net.engines.get(hostId)!.subscribe(1);
    net.engines.get(publisher)!.requestRoute({
      subscriptionId: `s-${hostId}`,
      channel: 1,
      target: routeTarget(cube, anchor, net.ownership.idsOf(hostId)),
      maxLatencyMs,
      pipeline,
      policy,
    });
  };
  return { net, hosts, publisher, anchor, subscribe };
}

describe('SwitchingEngine over a simulated network', () => {
  it.each(['odr', 'random', 'greedy'] as const)('%s: delivers every chunk to every subscriber, with exact latency and hops', (policy) => {
    const cube = new Cube(3, 2);
    const { net, hosts, publisher, subscribe } = setup(9, cube, policy);
    const subscribers = hosts.slice(1);
    for (const h of subscribers) subscribe(h);
    net.advance(100);
    const sent: number[] = [];
    for (let i = 0; i < 20; i++) {
      const payload = new Uint8Array(i % 5 === 0 ? 40_000 : 1200).fill(i); // some chunks fragment
      sent.push(net.now);
      net.engines.get(publisher)!.sendChunk(1, i % 5 === 0 ? Flags.Key : Flags.Droppable, payload);
      net.advance(33);
    }
    net.advance(500);
    for (const h of subscribers) {
      const chunks = net.chunks(h);
      expect(chunks.map((c) => c.sequence), h).toEqual([...Array(20).keys()]);
      for (const c of chunks) {
        expect(c.payload.byteLength).toBe(c.sequence % 5 === 0 ? 40_000 : 1200);
        expect(c.payload.every((b) => b === c.sequence)).toBe(true);
        expect(c.hops).toBeGreaterThanOrEqual(1);
        // Reported (accumulated) latency equals the true one: the network's clock is shared.
        const truth = c.at - sent[c.sequence]!;
        expect(Math.abs(c.latencyUs / 1000 - truth)).toBeLessThan(0.01);
      }
    }
    // Hosts two or more cube hops away see two or more host hops.
    const far = subscribers.filter((h) => net.ownership.idsOf(h).every((id) => cube.hopDistance(Math.min(...net.ownership.idsOf(publisher)), id) >= 2));
    for (const h of far) expect(net.chunks(h)[0]!.hops).toBeGreaterThanOrEqual(2);
    expect(far.length).toBeGreaterThan(0);
  });

  it('numbers a channel published again (a resumed session) on from where it stopped, so every subscriber takes the new chunks', () => {
    const cube = new Cube(3, 2);
    const { net, hosts, publisher, anchor, subscribe } = setup(9, cube);
    for (const h of hosts.slice(1)) subscribe(h);
    net.advance(100);
    const engine = net.engines.get(publisher)!;
    const send = () => {
      const sequence = engine.sendChunk(1, Flags.Key, new Uint8Array(100));
      net.advance(50);
      return sequence;
    };
    expect([send(), send(), send()]).toEqual([0, 1, 2]);
    engine.unpublish(1);
    engine.publish(1, anchor);
    for (const h of hosts.slice(1)) subscribe(h);
    net.advance(100);
    expect([send(), send()]).toEqual([3, 4]);
    net.advance(300);
    for (const h of hosts.slice(1)) expect(net.chunks(h).map((c) => c.sequence), h).toEqual([0, 1, 2, 3, 4]);
  });

  it('sends each chunk once per next-hop host, never twice over a link', () => {
    const { net, hosts, publisher, subscribe } = setup(27, new Cube(3, 3));
    for (const h of hosts.slice(1)) subscribe(h);
    net.advance(100);
    net.carriedData.clear();
    net.engines.get(publisher)!.sendChunk(1, Flags.Key, new Uint8Array(500));
    net.advance(300);
    // Exactly one data message on every link that carried the chunk, and the tree reaches all 26.
    expect(new Set(net.carriedData.values())).toEqual(new Set([1]));
    expect(net.carriedData.size).toBe(26);
    for (const h of hosts.slice(1)) expect(net.chunks(h)).toHaveLength(1);
  });

  it('re-routes around a relay that dies by itself: no one asks it for routes again', () => {
    const { net, hosts, publisher, subscribe } = setup(9, new Cube(3, 2));
    for (const h of hosts.slice(1)) subscribe(h);
    net.advance(100);
    // A relay: a host that forwards the channel to someone.
    const relay = hosts.slice(1).find((h) => net.engines.get(h)!.nextHops(1).length > 0)!;
    expect(relay).toBeDefined();
    const anchor = Math.min(...net.ownership.idsOf(publisher));
    const targets = new Map(hosts.slice(1).map((h) => [h, routeTarget(net.cube, anchor, net.ownership.idsOf(h))]));
    net.kill(relay);
    // Only the relay's ids moved: every other subscriber's route target is still its own, so
    // recovery is the engine's alone (the link closing, the new view, the refresh it brings forward).
    for (const [h, target] of targets) if (h !== relay) expect(net.ownership.ownerOf(target)).toBe(h);
    net.advance(100);
    const before = new Map(hosts.map((h) => [h, net.chunks(h).length]));
    net.engines.get(publisher)!.sendChunk(1, Flags.Key, new Uint8Array(100));
    net.advance(300);
    for (const h of hosts.slice(1)) if (h !== relay) expect(net.chunks(h).length, h).toBe(before.get(h)! + 1);
  });

  it('stalls a silent link (no branches over it) and recovers it when heard again; fails one silent past the limit', () => {
    const { net, subscribe, publisher } = setup(4, new Cube(2, 2));
    const a = net.engines.get(publisher)!;
    const peer = net.ownership.neighbourTable(publisher).values().next().value!;
    subscribe(peer);
    net.advance(300);
    expect(a.nextHops(1)).toContain(peer);
    const types = () => (net.events.get(publisher) ?? []).filter(({ event }) => event.type.startsWith('link:') && 'hostId' in event && event.hostId === peer).map(({ event }) => event.type);
    // Silence the peer without closing anything: only missed pings can tell.
    net.partition(peer, true);
    net.advance(3000);
    expect(types()).toEqual([]);
    net.advance(1500);
    expect(types()).toEqual(['link:stalled']);
    expect(a.nextHops(1)).not.toContain(peer);
    expect(a.linkRtt(peer)).toBeDefined();
    net.partition(peer, false);
    net.advance(1100);
    expect(types()).toEqual(['link:stalled', 'link:recovered']);
    expect(a.nextHops(1)).toContain(peer);
    const delivered = net.chunks(peer).length;
    a.sendChunk(1, Flags.Key, new Uint8Array(100));
    net.advance(100);
    expect(net.chunks(peer)).toHaveLength(delivered + 1);
    net.partition(peer, true);
    net.advance(14_000);
    expect(types()).toEqual(['link:stalled', 'link:recovered', 'link:stalled']);
    net.advance(2000);
    expect(types()).toEqual(['link:stalled', 'link:recovered', 'link:stalled', 'link:failed']);
  });

  it('under SCTP-like loss (10%, 120 ms RTO) and reordering, timely chunks arrive in time or not at all, and with FEC soon; sent reliably, they arrive late', () => {
    const boundMs = 300;
    const run = (flags: number, protection: LossProtection = 'fec', loss = 0.1) => {
      const { net, hosts, publisher, subscribe } = setup(8, new Cube(2, 3), 'greedy', boundMs);
      for (const engine of net.engines.values()) engine.setLossProtection(protection);
      for (const h of hosts.slice(1)) subscribe(h);
      net.advance(500);
      net.setConditions({ loss, jitterMs: 4, sctp: { rtoMs: 120 } }, () => true, 7);
      // A few seconds of the stream first: FEC sizes its repairs to loss it has measured.
      for (let i = 0; i < 150; i++) {
        net.engines.get(publisher)!.sendChunk(1, flags, new Uint8Array(40_000));
        net.advance(33);
      }
      net.advance(1000);
      const sentAt = new Map<number, number>();
      const keys = new Set<number>();
      for (let i = 0; i < 300; i++) {
        const key = i % 30 === 0;
        const sequence = net.engines.get(publisher)!.sendChunk(1, key ? flags | Flags.Key : flags, new Uint8Array(40_000));
        sentAt.set(sequence, net.now);
        if (key) keys.add(sequence);
        net.advance(33);
      }
      net.advance(5000);
      const latencies = hosts.slice(1).flatMap((h) => net.chunks(h).filter((c) => sentAt.has(c.sequence)).map((c) => c.at - sentAt.get(c.sequence)!));
      latencies.sort((x, y) => x - y);
      const keysDelivered = hosts.slice(1).reduce((sum, h) => sum + net.chunks(h).filter((c) => keys.has(c.sequence)).length, 0) / (keys.size * 7);
      return { keysDelivered, delivered: latencies.length / (300 * 7), late: latencies.filter((l) => l > boundMs).length / latencies.length, p50: latencies[Math.floor(latencies.length / 2)]!, p99: latencies[Math.floor(latencies.length * 0.99)]! };
    };
    const lossless = run(Flags.Timely, 'fec', 0);
    // The old way: everything on the reliable, ordered lane. All arrives, much of it too late.
    const reliable = run(0);
    expect(reliable.delivered).toBe(1);
    expect(reliable.p99).toBeGreaterThan(boundMs);
    expect(reliable.late).toBeGreaterThan(0.1);
    // Timely, retransmitted only while the deadline allows: what arrives is in time; what is
    // still late was retransmitted at an earlier hop too, which no header can show.
    const retransmit = run(Flags.Timely, 'retransmit');
    expect(retransmit.delivered).toBeGreaterThan(0.9);
    expect(retransmit.p99).toBeLessThanOrEqual(boundMs);
    expect(retransmit.late).toBeLessThan(0.005);
    // Timely with FEC: most losses are rebuilt at once; only what FEC cannot rebuild (a few
    // blocks in a hundred, over three hops) waits for a retransmission.
    const fec = run(Flags.Timely);
    expect(fec.delivered).toBeGreaterThan(0.9);
    expect(fec.late).toBe(0);
    expect(fec.p99 * 1.5).toBeLessThan(retransmit.p99);
    // Key frames are never dropped as late, and FEC and retransmission together bring them.
    expect(fec.keysDelivered).toBeGreaterThanOrEqual(0.97);
    expect(fec.p50).toBeLessThanOrEqual(lossless.p50 + 1);
  });

  it('sizes repairs per link to its measured loss: few on a clean one, and on a lossy one they rebuild what SCTP could not retransmit in time', () => {
    // A square: the publisher's two neighbours subscribe, each over its own link.
    const { net, hosts, publisher, subscribe } = setup(4, new Cube(2, 2), 'greedy', 300);
    const owner = (id: number) => hosts.find((h) => net.ownership.idsOf(h).includes(id))!;
    const [clean, lossy] = [owner(1), owner(2)];
    subscribe(clean);
    subscribe(lossy);
    net.advance(500);
    // Every message into the lossy host: 10% lost, and a retransmission would come too late.
    net.setConditions({ loss: 0.1, sctp: { rtoMs: 10_000 } }, (_, to) => to === lossy, 3);
    const stream = (count: number) => {
      const sent = new Set<number>();
      for (let i = 0; i < count; i++) {
        sent.add(net.engines.get(publisher)!.sendChunk(1, Flags.Timely, new Uint8Array(12_000)));
        net.advance(33);
      }
      net.advance(500);
      return sent;
    };
    stream(150); // the loss measured
    const before = new Map(net.carriedData);
    const sent = stream(300);
    const carried = (to: string) => [...net.carriedData].filter(([key]) => key.endsWith(`>${to}`)).reduce((sum, [key, n]) => sum + n - (before.get(key) ?? 0), 0);
    const fragments = 300 * Math.ceil(12_000 / TIMELY_FRAGMENT_PAYLOAD);
    // The clean link: the fragments, and a repair every fourth chunk that finds no loss.
    expect(carried(clean)).toBe(fragments + 300 / 4);
    expect(carried(lossy)).toBeGreaterThan(fragments * 1.3);
    const arrived = (h: string) => net.chunks(h).filter((c) => sent.has(c.sequence)).length;
    expect(arrived(clean)).toBe(300);
    expect(arrived(lossy)).toBeGreaterThan(300 * 0.97);
  });

  it('a block that lost more than its repairs is asked for again, hop by hop: with no retransmission in time, every chunk still arrives, soon', () => {
    // Two hops and more (a 2x2x2 cube), 10% loss on every timely lane both ways, requests and
    // answers included, and SCTP's retransmissions far too late to help.
    const { net, hosts, publisher, subscribe } = setup(8, new Cube(2, 3), 'greedy', 300);
    for (const h of hosts.slice(1)) subscribe(h);
    net.advance(500);
    const timelyLanes = LINK_CHANNELS.map((_, lane) => lane).filter((lane) => lane !== RELIABLE_LANE);
    net.setConditions({ loss: 0.1, sctp: { rtoMs: 10_000 }, lossyLanes: timelyLanes }, () => true, 5);
    const stream = (count: number) => {
      const sentAt = new Map<number, number>();
      for (let i = 0; i < count; i++) {
        sentAt.set(net.engines.get(publisher)!.sendChunk(1, Flags.Timely, new Uint8Array(12_000)), net.now);
        net.advance(33);
      }
      net.advance(500);
      return sentAt;
    };
    stream(150); // the loss measured
    const sentAt = stream(300);
    const chunks = hosts.slice(1).flatMap((h) => net.chunks(h).filter((c) => sentAt.has(c.sequence)));
    const latencies = chunks.map((c) => c.at - sentAt.get(c.sequence)!);
    const resent = hosts.reduce((sum, h) => sum + net.eventsOf(h, 'stats').at(-1)!.links.reduce((n, l) => n + l.repairsResent, 0), 0);
    // Every chunk, to all seven subscribers (without asking, about 1 in 400 never came), the
    // slowest a quiet time and a round trip behind its path's own latency (at most 17 ms
    // here), where SCTP would have taken 10 s.
    expect(latencies).toHaveLength(300 * 7);
    expect(Math.max(...latencies)).toBeLessThan(60);
    expect(resent).toBeGreaterThan(0);
    // Resent repairs carry the chunk's age: what they rebuild reports its true latency.
    for (const [i, c] of chunks.entries()) expect(Math.abs(c.latencyUs / 1000 - latencies[i]!)).toBeLessThan(0.01);
  });

  it('a data message an algorithm makes (accept) is delivered here as if it had arrived, once; one of a channel it does not know, never', () => {
    const { net, hosts } = setup(2, new Cube(2, 1));
    net.engines.get(hosts[1]!)!.subscribe(1);
    const accepted: boolean[] = [];
    const made = messageHeader({ channel: 1, sequence: 7 });
    net.engines.get(hosts[1]!)!.useAlgorithm(() => {
      let context!: Parameters<ReturnType<AlgorithmFactory>['start']>[0];
      return {
        name: 'maker',
        start: (c) => void (context = c),
        process: (message) => {
          if (message.type !== 'control') return;
          accepted.push(context.accept(made, new Uint8Array([1, 2]), hosts[0]!), context.accept(made, new Uint8Array([1, 2]), hosts[0]!), context.accept({ ...made, channel: 99 }, new Uint8Array(1), hosts[0]!));
        },
      };
    });
    net.engines.get(hosts[1]!)!.controlAlgorithm(0, 0);
    expect(accepted).toEqual([true, false, false]);
    expect(net.chunks(hosts[1]!).map((c) => [c.sequence, [...c.payload]])).toEqual([[7, [1, 2]]]);
  });

  it('runs the algorithm it is told to: route requests go to it, and the one before stops (its refreshes too)', () => {
    const { net, hosts, publisher, subscribe } = setup(4, new Cube(2, 2), 'greedy', 300);
    subscribe(hosts[1]!);
    net.advance(500);
    const engine = net.engines.get(publisher)!;
    const seen: string[] = [];
    const recorder: AlgorithmFactory = () => ({ name: 'recorder', start: () => seen.push('start'), process: (message) => void seen.push(message.type) });
    // One that cannot even be made leaves cube routing running.
    expect(() =>
      engine.useAlgorithm(() => {
        throw new Error('no such algorithm');
      }),
    ).toThrow('no such algorithm');
    net.advance(7000); // past 3 refreshes: only a running cube routing keeps the route
    const delivered = net.chunks(hosts[1]!).length;
    engine.sendChunk(1, Flags.Key, new Uint8Array(10));
    net.advance(100);
    expect(net.chunks(hosts[1]!).length).toBe(delivered + 1);
    engine.useAlgorithm(recorder);
    engine.useAlgorithm(recorder); // the same: nothing restarts
    engine.requestRoute({ subscriptionId: 's-x', channel: 1, target: 3, maxLatencyMs: 300, pipeline: [], policy: 'greedy' });
    expect(seen).toEqual(['start', 'route:request']);
    // Every stats interval, what the engine measured of its links, as the tab gets it.
    const measured: AlgorithmMessage[] = [];
    engine.useAlgorithm(() => ({ name: 'measurer', start: () => {}, process: (message) => void measured.push(message) }));
    net.advance(1000);
    const [measurement] = measured.filter((m) => m.type === 'measurement');
    expect(measurement).toEqual({ type: 'measurement', links: net.eventsOf(publisher, 'stats').at(-1)!.links });
    expect((measurement as Extract<AlgorithmMessage, { type: 'measurement' }>).links.map((l) => l.state)).toEqual(['open', 'open']);
    engine.useAlgorithm(recorder);
    // Cube routing no longer refreshes its route: after 3 refreshes the branch expires, and
    // the subscriber gets nothing more.
    net.advance(7000);
    const before = net.chunks(hosts[1]!).length;
    engine.sendChunk(1, Flags.Key, new Uint8Array(10));
    net.advance(100);
    expect(net.chunks(hosts[1]!).length).toBe(before);
  });

  it('when a queue drops a frame others depend on, asks for a key frame (here, its own publisher)', () => {
    const { net, hosts, publisher, subscribe } = setup(2, new Cube(2, 1));
    subscribe(hosts[1]!);
    net.advance(300);
    const engine = net.engines.get(publisher)!;
    const send = (flags: number, count: number) => {
      for (let i = 0; i < count; i++) engine.sendChunk(1, flags, new Uint8Array(1000));
    };
    // A link that drains slowly: 1 MiB in the channel's buffer, then the queue fills past 1024.
    net.setConditions({ drainBytesPerMs: 1 });
    send(Flags.Timely | Flags.Droppable | (2 << Flags.LayerShift), 2200);
    expect(net.eventsOf(publisher, 'keyframe:request')).toHaveLength(0);
    send(Flags.Timely, 50);
    expect(net.eventsOf(publisher, 'keyframe:request')).toHaveLength(0); // top-layer chunks went first
    send(Flags.Timely, 2200);
    expect(net.eventsOf(publisher, 'keyframe:request').length).toBeGreaterThan(0);
  });

  it('measures emulated delay from positions as RTT', () => {
    const net = new SimNetwork(new Cube(2, 1), () => 0.5);
    net.addHosts(['a', 'b']);
    net.engines.get('a')!.setEmulation({ position: [0, 0] });
    net.engines.get('b')!.setEmulation({ position: [30, 40] });
    net.advance(3000);
    // 50 ms each way emulated + 0.5 ms real propagation each way.
    expect(net.engines.get('a')!.linkRtt('b')).toBeCloseTo(101, 0);
  });

  it('paces to emulated upload bandwidth and drops droppable chunks first when the queue overflows', () => {
    const { net, hosts, publisher, subscribe } = setup(2, new Cube(2, 1));
    subscribe(hosts[1]!);
    net.advance(100);
    net.engines.get(publisher)!.setEmulation({ upKbps: 800 }); // 100 KB/s
    const start = net.now;
    for (let i = 0; i < 1500; i++) net.engines.get(publisher)!.sendChunk(1, i % 100 === 0 ? Flags.Key : Flags.Droppable, new Uint8Array(1000));
    net.advance(20_000);
    const got = net.chunks(hosts[1]!);
    // Keys all arrive; droppables beyond the queue were dropped.
    expect(got.filter((c) => c.flags & Flags.Key)).toHaveLength(15);
    expect(got.length).toBeLessThan(1500);
    expect(got.length).toBeGreaterThan(1000);
    // ~1 MB at 100 KB/s: about 10 s, not instantly.
    const last = got.at(-1)!.at - start;
    expect(last).toBeGreaterThan(8000);
  });

  it('drops malformed and duplicate messages without harm, and passes keyframe requests upstream', () => {
    const { net, hosts, publisher, subscribe } = setup(9, new Cube(3, 2));
    for (const h of hosts.slice(1)) subscribe(h);
    net.advance(100);
    const victim = hosts.find((h) => h !== publisher && net.engines.get(h)!.nextHops(1).length > 0) ?? hosts[1]!;
    const neighbour = [...net.ownership.linkedHosts(victim)][0]!;
    for (const junk of [new Uint8Array(3), new Uint8Array(64).fill(0xff), encode({ type: MessageType.RouteSetup, flags: 0, hops: 0, channel: 1, sequence: 0, source: 0, destination: 0, latencyUs: 0, fragmentIndex: 0, fragmentCount: 1 }, new Uint8Array([9, 9]))]) {
      net.inject(neighbour, victim, junk);
    }
    net.engines.get(publisher)!.sendChunk(1, Flags.Key, new Uint8Array(10));
    net.advance(1100);
    const stats = net.eventsOf(victim, 'stats').at(-1)!;
    expect(stats.malformed).toBe(3);
    for (const h of hosts.slice(1)) expect(net.chunks(h).length).toBe(1);

    const farthest = hosts.slice(1).sort((a, b) => net.chunks(b)[0]!.hops - net.chunks(a)[0]!.hops)[0]!;
    net.engines.get(farthest)!.requestKeyframe(1);
    net.advance(200);
    expect(net.eventsOf(publisher, 'keyframe:request')).toEqual([expect.objectContaining({ channel: 1 })]);
  });

  it('a key frame request whose reliable copy waits on retransmissions still reaches the publisher at once, and once', () => {
    const { net, hosts, publisher, subscribe } = setup(9, new Cube(3, 2));
    for (const h of hosts.slice(1)) subscribe(h);
    net.advance(100);
    net.engines.get(publisher)!.sendChunk(1, Flags.Key, new Uint8Array(10));
    net.advance(100);
    const farthest = hosts.slice(1).sort((a, b) => net.chunks(b)[0]!.hops - net.chunks(a)[0]!.hops)[0]!;
    expect(net.chunks(farthest)[0]!.hops).toBeGreaterThanOrEqual(2);
    // Every reliable message is lost twice, each loss costing SCTP's retransmission timeout.
    net.setConditions({ loss: 0.75, sctp: { rtoMs: 400 }, lossyLanes: [RELIABLE_LANE] }, () => true, 3);
    const asked = net.now;
    net.engines.get(farthest)!.requestKeyframe(1);
    net.advance(2000);
    const requests = net.eventsOf(publisher, 'keyframe:request');
    expect(requests).toHaveLength(1);
    expect(requests[0]!.at - asked).toBeLessThan(50);
  });

  it('takes each key frame request once: not its second copy, nor one overtaken; a host linked anew numbers afresh', () => {
    const { net, hosts, publisher, subscribe } = setup(9, new Cube(3, 2));
    for (const h of hosts.slice(1)) subscribe(h);
    net.advance(100);
    const neighbour = [...net.ownership.linkedHosts(publisher)][0]!;
    const heard: number[] = [];
    const send = (number: number) => {
      net.inject(neighbour, publisher, encode(messageHeader({ type: MessageType.KeyframeRequest, channel: 1, sequence: number })));
      // Past the coalescing interval: only numbering tells a copy from a new request.
      net.advance(400);
      heard.push(net.eventsOf(publisher, 'keyframe:request').length);
    };
    send(5);
    send(5);
    send(4);
    send(6);
    send(0xffffffff); // 7 behind 6 in serial order: overtaken
    net.relink(publisher, neighbour);
    send(1);
    expect(heard).toEqual([1, 1, 1, 2, 2, 3]);
  });
});

describe('duplicate suppression', () => {
  it('drops a repeat within the window and forgets keys beyond it', () => {
    const { net, hosts, publisher, subscribe } = setup(2, new Cube(2, 1));
    subscribe(hosts[1]!);
    net.advance(100);
    const engine = net.engines.get(publisher)!;
    engine.sendChunk(1, Flags.Key, new Uint8Array(10));
    net.advance(50);
    // Replay the same bytes from the publisher's side: the subscriber must drop them.
    const replay = encode({ type: MessageType.Data, flags: Flags.Key, hops: 0, channel: 1, sequence: 0, source: 0, destination: 0xffffffff, latencyUs: 0, fragmentIndex: 0, fragmentCount: 1 }, new Uint8Array(10));
    net.inject(publisher, hosts[1]!, replay);
    net.advance(1100);
    expect(net.chunks(hosts[1]!)).toHaveLength(1);
    expect(net.eventsOf(hosts[1]!, 'stats').at(-1)!.duplicates).toBe(1);
  });
});

describe('pipelines at branch points', () => {
  const THIN: SpaSpec[] = [{ spa: 'thin', config: { maxLayer: 0 } }];
  const LAYERS = [0, 2, 1, 2];
  /** 40 frames of L1T3 (layers 0, 2, 1, 2, ...), payload version 2; every 8th is a key frame. */
  function publishFrames(net: SimNetwork, publisher: string) {
    for (let i = 0; i < 40; i++) {
      const layer = LAYERS[i % 4]!;
      const key = i % 8 === 0;
      const payload = encodeVideoPayload({ key, width: 64, height: 48, layer, captureTimeMs: net.now, timestampUs: i }, new Uint8Array(i % 10 === 0 ? 30_000 : 300).fill(i));
      net.engines.get(publisher)!.sendChunk(1, (key ? Flags.Key : 0) | (layer << Flags.LayerShift), payload);
      net.advance(33);
    }
    net.advance(500);
  }
  const frameIndex = (payload: Uint8Array) => payload[payload.byteLength - 1]!;
  /** Pipelines start asynchronously (promises), outside the network's virtual time. */
  const started = () => new Promise((resolve) => setTimeout(resolve, 0));

  it('when every subscriber thins, the publisher is the branch point and no link carries the full stream', async () => {
    const { net, hosts, publisher, subscribe } = setup(27, new Cube(3, 3));
    for (const h of hosts.slice(1)) subscribe(h, THIN);
    net.advance(100);
    publishFrames(net, publisher); // the first chunk starts the pipeline: these are lost to it
    await started();
    net.carriedData.clear();
    for (const h of hosts.slice(1)) net.events.get(h)!.length = 0;
    publishFrames(net, publisher);
    const variant = pipelineVariant(THIN);
    for (const h of hosts.slice(1)) {
      const chunks = net.chunks(h);
      expect(chunks.map((c) => frameIndex(c.payload)), h).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 32, 36]);
      expect(chunks.every((c) => c.variant === variant)).toBe(true);
    }
    // Layer-0 frames 0, 20 (30 KB: 2 fragments each) and 8 others: 12 messages at most per link.
    for (const [link, count] of net.carriedData) expect(count, link).toBeLessThanOrEqual(12);
    const running = hosts.filter((h) => net.engines.get(h)!.spaReports().some((r) => r.state === 'running'));
    expect(running).toEqual([publisher]);
  });

  it('a branch point gives up on chunks whose fragments never all came, as subscribers do', async () => {
    const { net, hosts, publisher, subscribe } = setup(9, new Cube(3, 2));
    for (const h of hosts.slice(1)) subscribe(h, THIN);
    net.advance(100);
    publishFrames(net, publisher);
    await started();
    // First fragments of chunks whose other fragments were lost, arriving at the branch point.
    const neighbour = [...net.ownership.linkedHosts(publisher)][0]!;
    for (let i = 0; i < 10; i++) net.inject(neighbour, publisher, encode(messageHeader({ sequence: 10_000 + i, fragmentCount: 3 }), new Uint8Array(100)));
    expect(net.engines.get(publisher)!.footprint().partialChunks).toBe(10);
    net.advance(5000);
    expect(net.engines.get(publisher)!.footprint().partialChunks).toBe(0);
  });

  it('mixed: full subscribers get every frame, thin ones a quarter; shared links carry one variant, thin-only branches less', async () => {
    const { net, hosts, publisher, subscribe } = setup(27, new Cube(3, 3));
    const full = new Set(['h5', 'h13']);
    for (const h of hosts.slice(1)) subscribe(h, full.has(h) ? [] : THIN);
    net.advance(100);
    publishFrames(net, publisher);
    await started();
    net.carriedData.clear();
    for (const h of hosts.slice(1)) net.events.get(h)!.length = 0;
    publishFrames(net, publisher);
    for (const h of hosts.slice(1)) {
      const got = net.chunks(h).map((c) => frameIndex(c.payload));
      if (full.has(h)) {
        expect(got, h).toEqual([...Array(40).keys()]);
        expect(net.chunks(h).every((c) => c.variant === PUBLISHED_VARIANT)).toBe(true);
      } else {
        expect(got, h).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 32, 36]);
      }
    }
    // The full stream is 44 messages (frames 0, 10, 20, 30 in 2 fragments); no link carries more.
    const counts = [...net.carriedData.values()];
    expect(Math.max(...counts)).toBe(44);
    expect(counts.filter((c) => c === 44).length).toBeGreaterThan(0);
    expect(counts.filter((c) => c <= 12).length).toBeGreaterThan(0); // thin-only branches
    // Every host running the pipeline receives the full stream and sends or keeps only thin.
    const pipelineHosts = hosts.filter((h) => net.engines.get(h)!.spaReports().length > 0);
    expect(pipelineHosts.length).toBeGreaterThan(0);
    for (const h of pipelineHosts) {
      const inbound = [...net.carriedData].filter(([link]) => link.endsWith(`>${h}`)).reduce((sum, [, c]) => sum + c, 0);
      expect(h === publisher || inbound === 44, h).toBe(true);
    }
  });

  it('a branch whose pipeline cannot start gets nothing from it, and the host reports why', async () => {
    const hosts = ['h0', 'h1'];
    const net = new SimNetwork(new Cube(2, 1), () => 1, 'greedy', undefined, () => Promise.reject(new Error('no such SPA: nope')));
    net.addHosts(hosts);
    net.advance(200);
    net.engines.get('h0')!.publish(1, 0);
    net.engines.get('h1')!.subscribe(1);
    net.engines.get('h0')!.requestRoute({ subscriptionId: 's', channel: 1, target: 1, maxLatencyMs: 500, pipeline: [{ spa: 'nope' }], policy: 'greedy' });
    net.advance(50);
    net.engines.get('h0')!.sendChunk(1, Flags.Key, new Uint8Array(10));
    await started();
    net.engines.get('h0')!.sendChunk(1, Flags.Key, new Uint8Array(10));
    net.advance(100);
    expect(net.chunks('h1')).toHaveLength(0);
    expect(net.eventsOf('h0', 'spa:died')).toEqual([expect.objectContaining({ channel: 1, pipeline: ['nope'], message: 'no such SPA: nope' })]);
    expect(net.engines.get('h0')!.spaReports()).toEqual([expect.objectContaining({ state: 'dead', error: 'no such SPA: nope' })]);
  });

  it('split and merge: a split subscription gets every chunk in order, over two routes', async () => {
    const cube = new Cube(3, 3);
    const { net, hosts, publisher, anchor, subscribe } = setup(27, cube);
    // The host farthest from the publisher: its two routes can leave by different links.
    const far = hosts.slice(1).sort((a, b) => cube.hopDistance(anchor, net.ownership.idsOf(b)[0]!) - cube.hopDistance(anchor, net.ownership.idsOf(a)[0]!))[0]!;
    subscribe(far, [{ spa: 'split' }]);
    net.advance(100);
    publishFrames(net, publisher);
    await started();
    net.events.get(far)!.length = 0;
    net.carriedData.clear();
    publishFrames(net, publisher);
    await started(); // the merge at the subscriber starts on the first chunks
    for (const h of hosts) net.events.get(h)!.length = 0;
    publishFrames(net, publisher);
    const got = net.chunks(far);
    expect(got.map((c) => frameIndex(c.payload))).toEqual([...Array(40).keys()]);
    expect(got.every((c) => c.variant === pipelineVariant([{ spa: 'split' }]))).toBe(true);
    // The publisher splits; its two halves leave by two links; the subscriber merges.
    const out = [...net.carriedData].filter(([link]) => link.startsWith(`${publisher}>`));
    expect(out.length).toBe(2);
    for (const [, count] of out) expect(count).toBeGreaterThanOrEqual(20);
    expect(net.engines.get(publisher)!.spaReports()).toEqual([expect.objectContaining({ role: 'branch', pipeline: ['split'], state: 'running' })]);
    expect(net.engines.get(far)!.spaReports()).toEqual([expect.objectContaining({ role: 'merge', pipeline: ['merge'], state: 'running' })]);
  });
});

describe('SwitchingEngine against what a linked peer or a bad route can do', () => {
  it('forgets everything about a channel that leaves the directory, routes ending here included', () => {
    const net = new SimNetwork(new Cube(2, 1), () => 1);
    net.addHosts(['h0', 'h1']);
    net.advance(200);
    // A route setup for channel 2 that ends at h1, which neither publishes nor subscribes it.
    const at = net.ownership.idsOf('h1')[0]!;
    const setup = encodeRouteSetup({ policy: 'odr', subscriptionId: 'x', epoch: net.epoch, at, maxLatencyMs: 100, pipeline: [] });
    net.inject('h0', 'h1', encode(messageHeader({ type: MessageType.RouteSetup, channel: 2, destination: at }), setup));
    // Its upstream link fails: nothing but the route ending here remembers the channel.
    net.engines.get('h1')!.linkClosed('h0', 'closed');
    expect(net.engines.get('h1')!.footprint().channels).toBe(1);
    net.engines.get('h1')!.setChannels([1]);
    expect(net.engines.get('h1')!.footprint().channels).toBe(0);
  });

  
  it('keeps bounded state however many channels, variants, pipelines and partial chunks a peer invents', () => {
    const cube = new Cube(3, 2);
    const { net, hosts, subscribe } = setup(9, cube);
    const victim = 'h4';
    subscribe(victim);
    net.advance(100);
    const attacker = hosts.find((h) => h !== victim && net.ownership.linkedHosts(victim).has(h))!;
    const junk = net.engines.get(attacker)!;
    const at = net.ownership.idsOf(victim)[0]!;
    for (let i = 0; i < 2000; i++) {
      // Data of invented channels, of invented variants of a real one, and first fragments never finished.
      junk.sendRaw(victim, encode(messageHeader({ channel: 1000 + i, destination: i }), new Uint8Array(100)));
      junk.sendRaw(victim, encode(messageHeader({ channel: 1, destination: (i * 2654435761) >>> 0 }), new Uint8Array(100)));
      junk.sendRaw(victim, encode(messageHeader({ channel: 1, sequence: 10_000 + i, fragmentCount: 256 }), new Uint8Array(100)));
      // Route setups of 2000 different pipelines through the victim.
      const setup = encodeRouteSetup({ policy: 'odr', subscriptionId: `x${i}`, epoch: net.epoch, at, maxLatencyMs: 100, pipeline: [{ spa: 'thin', config: { maxLayer: 0, n: i } }] });
      junk.sendRaw(victim, encode(messageHeader({ type: MessageType.RouteSetup, channel: 1, destination: (at + 1) % cube.size }), setup));
      junk.sendRaw(victim, encode(messageHeader({ type: MessageType.KeyframeRequest, channel: 5000 + i })));
    }
    net.advance(10);
    const footprint = net.engines.get(victim)!.footprint();
    expect(footprint.dedupWindows).toBeLessThanOrEqual(128);
    expect(footprint.pipelineSpecs).toBeLessThanOrEqual(64);
    expect(footprint.partialChunks).toBeLessThanOrEqual(64 * 2);
    expect(footprint.channels).toBeLessThanOrEqual(net.channels.length);
    // Once the invented routes expire (3 refreshes), their pipelines are forgotten.
    net.advance(10_000);
    expect(net.engines.get(victim)!.footprint().pipelineSpecs).toBe(0);
  });

  it('answers a repair request only from a host the channel goes to, with the rows asked; a malformed one is counted and dropped', () => {
    const { net, hosts, publisher, subscribe } = setup(4, new Cube(2, 2), 'greedy', 300);
    const owner = (id: number) => hosts.find((h) => net.ownership.idsOf(h).includes(id))!;
    const [subscriber, bystander] = [owner(1), owner(2)];
    subscribe(subscriber);
    net.advance(500);
    const sequence = net.engines.get(publisher)!.sendChunk(1, Flags.Timely, new Uint8Array(12_000));
    net.advance(100);
    const sentTo = (to: string) => net.carriedData.get(`${publisher}>${to}`) ?? 0;
    const [before, beforeBystander] = [sentTo(subscriber), sentTo(bystander)];
    const ask = (from: string, payload: Uint8Array) => {
      net.inject(from, publisher, encode(messageHeader({ type: MessageType.RepairRequest, flags: Flags.Timely, sequence, fragmentCount: Math.ceil(12_000 / TIMELY_FRAGMENT_PAYLOAD) }), payload));
      net.advance(50);
    };
    ask(bystander, encodeRepairRequest({ wanted: 2, rowsHeld: 0 }));
    expect(sentTo(bystander)).toBe(beforeBystander);
    ask(subscriber, encodeRepairRequest({ wanted: 2, rowsHeld: 0b1 }));
    expect(sentTo(subscriber)).toBe(before + 2); // a clean path: no margin
    const malformed = () => net.eventsOf(publisher, 'stats').at(-1)?.malformed ?? 0;
    net.advance(1000);
    const malformedBefore = malformed();
    ask(subscriber, Uint8Array.of(0, 0, 0, 0, 0));
    net.advance(1000);
    expect(malformed()).toBe(malformedBefore + 1);
    expect(sentTo(subscriber)).toBe(before + 2);
  });

  it('a route the data plane cannot carry costs only itself: every refresh still sets up the others', () => {
    const cube = new Cube(3, 2);
    const { net, publisher, anchor, subscribe } = setup(9, cube);
    subscribe('h4');
    const engine = net.engines.get(publisher)!;
    const long: SpaSpec[] = Array.from({ length: 8 }, () => ({ spa: 'thin', config: { a: 'x'.repeat(256), b: 'y'.repeat(256) } }));
    const target = routeTarget(cube, anchor, net.ownership.idsOf('h8'));
    // The algorithm throws on it: that costs the request, reported, not the engine.
    engine.requestRoute({ subscriptionId: 'long', channel: 1, target, maxLatencyMs: 500, pipeline: long, policy: 'greedy' });
    expect(net.eventsOf(publisher, 'engine:error').map((e) => e.message)).toEqual([expect.stringMatching(/pipeline too long/)]);
    // Five refreshes: a branch not refreshed for three expires, so a dead refresh loop would end the stream.
    net.advance(10_000);
    for (let i = 0; i < 5; i++) {
      engine.sendChunk(1, Flags.Key, new Uint8Array(100).fill(i));
      net.advance(50);
    }
    expect(net.chunks('h4').map((c) => c.sequence)).toEqual([0, 1, 2, 3, 4]);
    expect(net.eventsOf(publisher, 'engine:error').length).toBeGreaterThanOrEqual(4);
  });
});

describe('SwitchingEngine over links that lose, reorder, duplicate and back up', () => {
  /** 30 chunks, every fifth fragmented (40 KB: 3 fragments), each filled with its sequence number. */
  function stream(net: SimNetwork, publisher: string, first = 0) {
    for (let i = first; i < first + 30; i++) {
      net.engines.get(publisher)!.sendChunk(1, i % 5 === 0 ? Flags.Key : Flags.Droppable, new Uint8Array(i % 5 === 0 ? 40_000 : 1200).fill(i));
      net.advance(33);
    }
    net.advance(1000);
  }
  const intact = (c: { sequence: number; payload: Uint8Array }) => c.payload.byteLength === (c.sequence % 5 === 0 ? 40_000 : 1200) && c.payload.every((b) => b === (c.sequence & 0xff));

  it('with jitter that reorders messages and links that deliver some twice: every chunk once, whole', () => {
    const { net, hosts, publisher, subscribe } = setup(9, new Cube(3, 2));
    for (const h of hosts.slice(1)) subscribe(h);
    net.advance(100);
    net.setConditions({ jitterMs: 40, duplicate: 0.3 });
    stream(net, publisher);
    for (const h of hosts.slice(1)) {
      const chunks = net.chunks(h);
      expect(chunks.map((c) => c.sequence).sort((a, b) => a - b), h).toEqual([...Array(30).keys()]);
      expect(chunks.every(intact), h).toBe(true);
    }
    // Reordering happened: some host saw chunks out of order.
    expect(hosts.slice(1).some((h) => net.chunks(h).some((c, i, all) => i > 0 && c.sequence < all[i - 1]!.sequence))).toBe(true);
  });

  it('with loss: what arrives is whole and arrives once, nothing half-built is kept, and the stream is whole again once the loss stops', () => {
    const { net, hosts, publisher, subscribe } = setup(9, new Cube(3, 2));
    for (const h of hosts.slice(1)) subscribe(h);
    net.advance(100);
    net.setConditions({ loss: 0.1, jitterMs: 10 });
    stream(net, publisher);
    let delivered = 0;
    for (const h of hosts.slice(1)) {
      const chunks = net.chunks(h);
      delivered += chunks.length;
      expect(new Set(chunks.map((c) => c.sequence)).size, h).toBe(chunks.length);
      expect(chunks.every(intact), h).toBe(true);
    }
    expect(delivered).toBeLessThan(8 * 30);
    expect(delivered).toBeGreaterThan(8 * 30 * 0.5);
    net.setConditions({});
    net.advance(4000); // lost fragments' chunks are given up on
    for (const h of hosts) expect(net.engines.get(h)!.footprint().partialChunks, h).toBe(0);
    for (const h of hosts) net.events.get(h)!.length = 0;
    stream(net, publisher, 30);
    for (const h of hosts.slice(1)) expect(net.chunks(h).map((c) => c.sequence).sort((a, b) => a - b), h).toEqual([...Array(30).keys()].map((i) => i + 30));
  });

  it('a slow channel holds the sender at the high mark, resumes the moment it drains to the low mark, and loses no key frame', () => {
    const { net, hosts, publisher, subscribe } = setup(2, new Cube(2, 1));
    subscribe(hosts[1]!);
    net.advance(100);
    net.setConditions({ drainBytesPerMs: 200 }, (from) => from === publisher); // 200 KB/s
    // 4 MB of key frames at once: four times what may sit in the channel's buffer.
    for (let i = 0; i < 40; i++) net.engines.get(publisher)!.sendChunk(1, Flags.Key, new Uint8Array(100_000).fill(i));
    net.advance(30_000);
    const wire = net.wire(publisher, hosts[1]!);
    const largest = 65_536; // a full fragment and its header, rounded up
    expect(wire.peakBuffered).toBeGreaterThan(HIGH_WATER_BYTES);
    expect(wire.peakBuffered).toBeLessThanOrEqual(HIGH_WATER_BYTES + largest);
    // Each time the buffer fell to the low mark the engine sent again at once, not a stats tick later.
    // (Until the queue is empty: the last data left before the buffer's last fall.)
    const lastSent = wire.dataSentAt.at(-1)!;
    const whileQueued = wire.bufferLowAt.filter((t) => t < lastSent);
    expect(whileQueued.length).toBeGreaterThanOrEqual(3);
    for (const at of whileQueued) expect(wire.dataSentAt, `resumed at ${at}`).toContain(at);
    expect(net.chunks(hosts[1]!).map((c) => c.sequence)).toEqual([...Array(40).keys()]);
  });

  it('a link whose send throws costs only its own branch: the others get every chunk and nothing escapes', () => {
    const { net, hosts, publisher, subscribe } = setup(9, new Cube(3, 2));
    for (const h of hosts.slice(1)) subscribe(h);
    net.advance(100);
    const broken = net.engines.get(publisher)!.nextHops(1)[0]!;
    net.setConditions({ sendThrows: true }, (from, to) => from === publisher && to === broken);
    // The hosts the stream reaches through the broken link.
    const behind = new Set([broken]);
    for (const h of behind) for (const next of net.engines.get(h)!.nextHops(1)) behind.add(next);
    expect(() => stream(net, publisher)).not.toThrow();
    for (const h of hosts.slice(1)) if (!behind.has(h)) expect(net.chunks(h).map((c) => c.sequence), h).toEqual([...Array(30).keys()]);
    expect(hosts.slice(1).filter((h) => !behind.has(h)).length).toBeGreaterThan(0);
  });
});
