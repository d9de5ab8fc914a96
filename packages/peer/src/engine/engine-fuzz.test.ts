/**
 * Data-plane bytes into the engine: valid messages of every type, mutated (bytes flipped,
 * lengths and fragment fields rewritten, cut short or padded), from a linked peer. Nothing
 * may throw, and afterwards the stream still reaches its subscriber whole and once. (While they
 * run, forged chunks of the stream's own channel can take the place of real ones: the data plane
 * does not authenticate a publisher's chunks, docs/security.md.)
 * `npm test` runs a CI-sized count; `npm run fuzz` sets CUBECAST_FUZZ_RUNS for a longer run.
 */
import { Cube, routeTarget } from '@cubecast/overlay';
import { decode, encode, encodeRouteSetup, Flags, MessageType } from '@cubecast/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { messageHeader, SimNetwork } from '../testing/sim-network.js';

const RUNS = Number(process.env.CUBECAST_FUZZ_RUNS ?? 50);


const seeds = (at: number): Uint8Array[] => [
  encode(messageHeader({ sequence: 7 }), new Uint8Array(300).fill(7)),
  encode(messageHeader({ sequence: 8, fragmentIndex: 1, fragmentCount: 3, flags: Flags.Key }), new Uint8Array(1000)),
  encode(messageHeader({ type: MessageType.RouteSetup, destination: at }), encodeRouteSetup({ policy: 'greedy', subscriptionId: 'f', epoch: 1, at, maxLatencyMs: 100, pipeline: [{ spa: 'thin', config: { maxLayer: 0 } }] })),
  encode(messageHeader({ type: MessageType.RoutePrune, destination: at }), encodeRouteSetup({ policy: 'odr', subscriptionId: 'f', epoch: 1, at, maxLatencyMs: 100, pipeline: [] })),
  encode(messageHeader({ type: MessageType.Ping, sequence: 3 }), new Uint8Array(16)),
  encode(messageHeader({ type: MessageType.Pong, sequence: 3 }), new Uint8Array(16)),
  encode(messageHeader({ type: MessageType.KeyframeRequest })),
];

/** A seed with bytes rewritten (header fields included), cut short or padded. */
const mutatedMessage = (at: number) =>
  fc
    .tuple(
      fc.nat(seeds(at).length - 1),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.oneof(fc.constant(0), fc.integer({ min: -40, max: 40 })),
    )
    .map(([which, edits, resize]) => {
      const seed = seeds(at)[which]!;
      const bytes = new Uint8Array(Math.max(0, seed.byteLength + resize));
      bytes.set(seed.subarray(0, bytes.byteLength));
      // Most edits land in the header, where lengths and fragment fields live.
      for (const [where, value] of edits) if (bytes.byteLength > 0) bytes[where % Math.min(bytes.byteLength, where % 3 === 0 ? bytes.byteLength : 40)] = value;
      return bytes;
    });

function tryDecode(bytes: Uint8Array) {
  try {
    return decode(bytes).message;
  } catch {
    return undefined;
  }
}

describe('fuzzing the data plane', () => {
  it('mutated messages from a linked peer never throw, and the stream still arrives whole and once after them', () => {
    const cube = new Cube(3, 2);
    const net = new SimNetwork(cube, () => 2);
    const hosts = Array.from({ length: 9 }, (_, i) => `h${i}`);
    net.addHosts(hosts);
    net.advance(200);
    const anchor = Math.min(...net.ownership.idsOf('h0'));
    const subscriber = 'h4';
    net.engines.get('h0')!.publish(1, anchor);
    net.engines.get(subscriber)!.subscribe(1);
    net.engines.get('h0')!.requestRoute({ subscriptionId: 's', channel: 1, target: routeTarget(cube, anchor, net.ownership.idsOf(subscriber)), maxLatencyMs: 500, pipeline: [], policy: 'greedy' });
    net.advance(100);
    const attacker = hosts.find((h) => h !== subscriber && h !== 'h0' && net.ownership.linkedHosts(subscriber).has(h))!;
    const at = net.ownership.idsOf(subscriber)[0]!;
    let sequence = 0;
    // Sequence numbers of the stream's chunks the attacker may have forged: the subscriber can
    // take the real ones that come later for duplicates (the data plane does not authenticate chunks).
    const forged = new Set<number>();
    fc.assert(
      fc.property(fc.array(mutatedMessage(at), { minLength: 1, maxLength: 20 }), (messages) => {
        for (const bytes of messages) {
          const header = tryDecode(bytes);
          if (header?.type === MessageType.Data && header.channel === 1) forged.add(header.sequence);
          net.engines.get(attacker)!.sendRaw(subscriber, bytes);
        }
        net.engines.get('h0')!.sendChunk(1, Flags.Key, new Uint8Array(20_000).fill(sequence++ & 0xff));
        net.advance(40);
      }),
      { numRuns: RUNS },
    );
    net.advance(500);
    const before = net.chunks(subscriber).length;
    for (let i = 0; i < 20; i++) {
      net.engines.get('h0')!.sendChunk(1, Flags.Key, new Uint8Array(20_000).fill(sequence++ & 0xff));
      net.advance(40);
    }
    net.advance(500);
    const after = net.chunks(subscriber).slice(before);
    const sent = Array.from({ length: 20 }, (_, i) => sequence - 20 + i);
    const got = after.map((c) => c.sequence);
    // In order and once; every chunk whose sequence number no forgery took, without fail.
    expect(got).toEqual(sent.filter((s) => got.includes(s)));
    expect(got).toEqual(expect.arrayContaining(sent.filter((s) => !forged.has(s))));
    expect(after.every((c) => c.payload.byteLength === 20_000 && c.payload.every((b) => b === (c.sequence & 0xff)))).toBe(true);
  });
});
