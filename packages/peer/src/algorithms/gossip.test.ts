import { Cube, createRng } from '@cubecast/overlay';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ENGINE_OPTIONS } from '../engine/switching-engine.js';
import { SimNetwork } from '../testing/sim-network.js';
import { Gossip } from './gossip.js';

/**
 * 16 hosts on the 2-ary 4-cube (one id each, four links each), gossiping with `probability`:
 * h0 publishes, h1-h14 subscribe, h15 only passes messages on.
 */
function gossipRun(probability: number, control?: [a: number, b: number]) {
  let seed = 1;
  const net = new SimNetwork(new Cube(2, 4), () => 1, 'greedy', { ...DEFAULT_ENGINE_OPTIONS, algorithm: () => new Gossip(probability, createRng(seed++)) });
  const hosts = Array.from({ length: 16 }, (_, i) => `h${i}`);
  net.addHosts(hosts);
  net.advance(200);
  const publisher = hosts[0]!;
  const subscribers = hosts.slice(1, 15);
  net.engines.get(publisher)!.publish(1, net.ownership.idsOf(publisher)[0]!);
  for (const h of subscribers) net.engines.get(h)!.subscribe(1);
  if (control) for (const engine of net.engines.values()) engine.controlAlgorithm(...control);
  for (let i = 0; i < 50; i++) {
    net.engines.get(publisher)!.sendChunk(1, 0, new Uint8Array(1000).fill(i));
    net.advance(20);
  }
  net.advance(500);
  const copies = [...net.carriedData.values()].reduce((sum, n) => sum + n, 0);
  const delivered = subscribers.map((h) => net.chunks(h).length);
  return { copies, delivered, chunks: subscribers.flatMap((h) => net.chunks(h)) };
}

describe('Gossip (the tutorial algorithm)', () => {
  it('with p = 1 floods: every subscriber gets every chunk, whole and once, over no route at all', () => {
    const { copies, delivered, chunks } = gossipRun(1);
    expect(delivered).toEqual(Array(14).fill(50));
    for (const c of chunks) expect(c.payload.every((b) => b === c.sequence)).toBe(true);
    // The publisher to its 4 neighbours, every other host (the relay too) to its 3 others, once
    // a chunk: a host passes on only the first copy it gets (the engine drops the rest).
    expect(copies).toBe(50 * (4 + 15 * 3));
  });

  it('with p = 0.5 each host passes a message to about half its neighbours: fewer copies, and some hosts miss some', () => {
    const flood = gossipRun(1);
    const half = gossipRun(0.5);
    expect(half.copies).toBeGreaterThan(flood.copies * 0.25);
    expect(half.copies).toBeLessThan(flood.copies * 0.6);
    const share = half.delivered.reduce((a, b) => a + b, 0) / (14 * 50);
    expect(share).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(1);
  });

  it('the observer\'s control message sets p to a / b; one that is no probability changes nothing', () => {
    expect(gossipRun(0, [1, 1])).toEqual(gossipRun(1));
    expect(gossipRun(1, [1, 2]).copies).toBeLessThan(gossipRun(1).copies * 0.6);
    for (const bad of [[2, 1], [-1, 2], [1, 0]] as [number, number][]) expect(gossipRun(0, bad).copies).toBe(0);
  });

  it('with p = 0 nothing leaves the publisher; p outside 0..1 is refused', () => {
    expect(gossipRun(0)).toMatchObject({ copies: 0, delivered: Array(14).fill(0) });
    for (const p of [-0.1, 1.5, Number.NaN]) expect(() => new Gossip(p)).toThrow(RangeError);
  });
});
