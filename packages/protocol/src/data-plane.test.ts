import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decode,
  decodeRepairPayload,
  decodeRepairRequest,
  decodeRouteSetup,
  encode,
  encodeInto,
  encodeRepairPayload,
  encodeRepairRequest,
  encodeTimely,
  encodeRouteSetup,
  Flags,
  HEADER_BYTES,
  LINK_CHANNELS,
  MalformedMessageError,
  MAX_PAYLOAD_BYTES,
  MessageType,
  patchForwarded,
  RELIABLE_LANE,
  temporalLayer,
  timelyLane,
  TIMELY_MESSAGE_BYTES,
  MAX_ALGORITHM_PAYLOAD_BYTES,
  type MessageHeader,
} from './data-plane.js';
import { FEC_BLOCK_SOURCES } from './fec.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

const header = fc
  .record({
    type: fc.constantFrom(...Object.values(MessageType)),
    flags: fc.integer({ min: 0, max: 255 }),
    hops: fc.integer({ min: 0, max: 255 }),
    channel: fc.nat({ max: 0xffffffff }),
    sequence: fc.nat({ max: 0xffffffff }),
    source: fc.nat({ max: 0xffffffff }),
    destination: fc.nat({ max: 0xffffffff }),
    latencyUs: fc.nat({ max: 0xffffffff }),
    fragmentCount: fc.integer({ min: 1, max: 256 }),
  })
  .chain((h) => fc.record({ ...Object.fromEntries(Object.entries(h).map(([k, v]) => [k, fc.constant(v)])), fragmentIndex: fc.integer({ min: 0, max: h.fragmentCount - 1 }) }))
  .map((h) => h as unknown as MessageHeader)
  // A repair request names its block by the block's first fragment.
  .map((h) => (h.type === MessageType.RepairRequest ? { ...h, fragmentIndex: h.fragmentIndex - (h.fragmentIndex % FEC_BLOCK_SOURCES) } : h));

describe('timelyLane', () => {
  it('takes the longest retransmission bound the time left allows, and no retransmission when none does', () => {
    const bound = (lane: number) => LINK_CHANNELS[lane]!.maxPacketLifeTime ?? LINK_CHANNELS[lane]!.maxRetransmits;
    expect([-5, 0, 49.9, 50, 99, 100, 399, 400, 1599, 1600, 60_000].map((slack) => bound(timelyLane(slack)))).toEqual([0, 0, 0, 50, 50, 100, 200, 400, 800, 1600, 1600]);
    expect(LINK_CHANNELS[RELIABLE_LANE]).toMatchObject({ ordered: true });
    expect(LINK_CHANNELS[RELIABLE_LANE]!.maxRetransmits).toBeUndefined();
    expect(LINK_CHANNELS[RELIABLE_LANE]!.maxPacketLifeTime).toBeUndefined();
    for (const lane of LINK_CHANNELS.slice(1)) expect(lane.ordered).toBe(false);
    expect(new Set(LINK_CHANNELS.map((c) => c.id)).size).toBe(LINK_CHANNELS.length);
  });
});

describe('data-plane codec', () => {
  it('round-trips every header and payload', () => {
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 2048 }), (h, anyPayload) => {
        const payload = h.type === MessageType.Algorithm ? anyPayload.subarray(0, MAX_ALGORITHM_PAYLOAD_BYTES) : anyPayload;
        const encoded = encode(h, payload);
        const { message, bytesRead } = decode(encoded);
        expect(bytesRead).toBe(HEADER_BYTES + payload.byteLength);
        expect({ ...message, payload: [...message.payload] }).toEqual({ ...h, payload: [...payload] });
      }),
    );
  });

  const goldenHeader: MessageHeader = {
    type: MessageType.Data,
    flags: Flags.Key | Flags.Timely,
    hops: 2,
    channel: 7,
    sequence: 258,
    source: 5,
    destination: 0xffffffff,
    latencyUs: 12345,
    fragmentIndex: 0,
    fragmentCount: 1,
  };

  it('matches the golden vector in docs/protocol.md', () => {
    const h = goldenHeader;
    const golden = '03 01 11 02 00000007 00000102 00000005 ffffffff 00003039 0000 0001 00000002 dead';
    expect(hex(encode(h, bytes('dead')))).toBe(golden.replace(/ /g, ''));
    expect(decode(bytes(golden)).message).toMatchObject(h);
  });

  it('matches the repair golden vector in docs/protocol.md (block 1, row 2 of a 40-fragment chunk)', () => {
    const h: MessageHeader = { ...goldenHeader, flags: Flags.Timely | Flags.Repair, hops: 0, latencyUs: 0, fragmentIndex: 34, fragmentCount: 40 };
    const golden = '03 01 30 00 00000007 00000102 00000005 ffffffff 00000000 0022 0028 00000005 0001 beef01';
    expect(hex(encode(h, encodeRepairPayload(1, bytes('beef01'))))).toBe(golden.replace(/ /g, ''));
    const { message } = decode(bytes(golden));
    expect(message).toMatchObject(h);
    expect(decodeRepairPayload(message.payload)).toEqual({ lastSourceBytes: 1, coded: bytes('beef01') });
    for (const bad of ['0001', '0000 beef', '0003 beef']) expect(() => decodeRepairPayload(bytes(bad.replace(/ /g, '')))).toThrow(MalformedMessageError);
    expect(() => encodeRepairPayload(3, bytes('beef'))).toThrow(RangeError);
  });

  it('matches the repair request golden vector in docs/protocol.md (block 1 of a 40-fragment chunk wants 2 more, holds rows 0 and 2)', () => {
    const h: MessageHeader = { ...goldenHeader, type: MessageType.RepairRequest, flags: Flags.Timely, hops: 0, latencyUs: 0, fragmentIndex: 32, fragmentCount: 40 };
    const golden = '03 07 10 00 00000007 00000102 00000005 ffffffff 00000000 0020 0028 00000005 02 00000005';
    expect(hex(encode(h, encodeRepairRequest({ wanted: 2, rowsHeld: 0b101 })))).toBe(golden.replace(/ /g, ''));
    const { message } = decode(bytes(golden));
    expect(message).toMatchObject(h);
    expect(decodeRepairRequest(message.payload)).toEqual({ wanted: 2, rowsHeld: 5 });
    expect(decodeRepairRequest(bytes('20 ffffffff'))).toEqual({ wanted: 32, rowsHeld: 0xffffffff });
    // Not a block's first fragment; a payload of another length; no repairs or more than a block's.
    expect(() => decode(bytes(golden.replace('0020 0028', '0021 0028')))).toThrow(MalformedMessageError);
    for (const bad of ['02 000005', '02 00000005 00', '00 00000005', '21 00000005']) expect(() => decodeRepairRequest(bytes(bad))).toThrow(MalformedMessageError);
    for (const wanted of [0, 33, 1.5]) expect(() => encodeRepairRequest({ wanted, rowsHeld: 0 })).toThrow(RangeError);
    expect(() => encodeRepairRequest({ wanted: 1, rowsHeld: 2 ** 32 })).toThrow(RangeError);
  });

  it('matches the algorithm message golden vector in docs/protocol.md, and refuses one over its limit', () => {
    const h: MessageHeader = { ...goldenHeader, type: MessageType.Algorithm, flags: 0, hops: 0, sequence: 0, latencyUs: 0 };
    const golden = '03 08 00 00 00000007 00000000 00000005 ffffffff 00000000 0000 0001 00000002 7b7d';
    expect(hex(encode(h, bytes('7b7d')))).toBe(golden.replace(/ /g, ''));
    expect(decode(bytes(golden)).message).toMatchObject({ ...h, payload: bytes('7b7d') });
    const over = encode({ ...h, type: MessageType.Data }, new Uint8Array(MAX_ALGORITHM_PAYLOAD_BYTES + 1));
    over[1] = MessageType.Algorithm;
    expect(() => decode(over)).toThrow(MalformedMessageError);
    expect(() => encode(h, new Uint8Array(MAX_ALGORITHM_PAYLOAD_BYTES + 1))).toThrow(RangeError);
    expect(decode(encode(h, new Uint8Array(MAX_ALGORITHM_PAYLOAD_BYTES))).message.payload.byteLength).toBe(MAX_ALGORITHM_PAYLOAD_BYTES);
  });

  it('pads a timely message to one packet, which decoding ignores; a longer one stays as it is', () => {
    const h: MessageHeader = { type: MessageType.Data, flags: Flags.Timely, hops: 0, channel: 1, sequence: 2, source: 0, destination: 0, latencyUs: 0, fragmentIndex: 0, fragmentCount: 1 };
    const padded = encodeTimely(h, bytes('beef'));
    expect(padded.byteLength).toBe(TIMELY_MESSAGE_BYTES);
    expect(hex(padded.subarray(0, HEADER_BYTES + 2))).toBe(hex(encode(h, bytes('beef'))));
    expect(padded.subarray(HEADER_BYTES + 2).every((b) => b === 0)).toBe(true);
    expect(decode(padded)).toMatchObject({ message: { ...h, payload: bytes('beef') }, bytesRead: HEADER_BYTES + 2 });
    const long = new Uint8Array(TIMELY_MESSAGE_BYTES);
    expect(encodeTimely(h, long).byteLength).toBe(HEADER_BYTES + TIMELY_MESSAGE_BYTES);
  });

  it('encodes into a larger buffer at an offset and reports bytes written', () => {
    const target = new Uint8Array(100).fill(0xee);
    const h = { type: MessageType.Ping, flags: 0, hops: 0, channel: 0, sequence: 9, source: 0, destination: 0, latencyUs: 0, fragmentIndex: 0, fragmentCount: 1 } as const;
    expect(encodeInto(target, h, bytes('0102'), 10)).toBe(34);
    expect(target[9]).toBe(0xee);
    expect(target[44]).toBe(0xee);
    expect(decode(target.subarray(10)).bytesRead).toBe(34);
    expect(() => encodeInto(new Uint8Array(20), h, bytes('01'))).toThrow(RangeError);
  });

  it('refuses bad bytes with MalformedMessageError', () => {
    const good = encode({ type: 1, flags: 0, hops: 0, channel: 1, sequence: 1, source: 1, destination: 1, latencyUs: 0, fragmentIndex: 0, fragmentCount: 1 }, bytes('aabb'));
    const mutate = (f: (b: Uint8Array) => void) => {
      const copy = good.slice();
      f(copy);
      return copy;
    };
    const cases: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['short header', good.subarray(0, 31)],
      ['truncated payload', good.subarray(0, 33)],
      ['version 1 (one channel per link)', mutate((b) => (b[0] = 1))],
      ['version 2 (no repairs, pings without loss)', mutate((b) => (b[0] = 2))],
      ['version 4', mutate((b) => (b[0] = 4))],
      ['type 0', mutate((b) => (b[1] = 0))],
      ['type 99', mutate((b) => (b[1] = 99))],
      ['fragment count 0', mutate((b) => (b[27] = 0))],
      ['fragment index past count', mutate((b) => (b[25] = 1))],
      ['repair of a block past the count', mutate((b) => ((b[2] = Flags.Repair), (b[25] = 32)))],
      ['huge payload length', mutate((b) => new DataView(b.buffer).setUint32(28, 0xffffffff))],
    ];
    for (const [what, input] of cases) expect(() => decode(input), what).toThrow(MalformedMessageError);
  });

  it('decodes mutated valid messages consistently or refuses them with MalformedMessageError', () => {
    // Random bytes would almost all stop at the version byte: start from valid messages and
    // rewrite header bytes (type, fragment fields and the payload length most of all), cut or pad.
    const hot = [1, 24, 25, 26, 27, 28, 29, 30, 31];
    const mutated = fc
      .tuple(
        header,
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.tuple(fc.oneof(fc.constantFrom(...hot), fc.nat(HEADER_BYTES - 1)), fc.oneof(fc.constantFrom(0, 1, 0xff), fc.nat(255))), { maxLength: 4 }),
        fc.oneof(fc.constant(0), fc.integer({ min: -40, max: 40 })),
      )
      .map(([h, payload, edits, resize]) => {
        const valid = encode(h, payload);
        const out = new Uint8Array(Math.max(0, valid.byteLength + resize));
        out.set(valid.subarray(0, out.byteLength));
        for (const [at, value] of edits) if (at < out.byteLength) out[at] = value;
        return out;
      });
    let decoded = 0;
    let refused = 0;
    fc.assert(
      fc.property(mutated, (input) => {
        let result: ReturnType<typeof decode>;
        try {
          result = decode(input);
        } catch (error) {
          expect(error).toBeInstanceOf(MalformedMessageError);
          refused++;
          return;
        }
        decoded++;
        const { message, bytesRead } = result;
        // Whatever is accepted is a message the encoder could have written, byte for byte.
        expect(bytesRead).toBe(HEADER_BYTES + message.payload.byteLength);
        expect(hex(encode(message, message.payload))).toBe(hex(input.subarray(0, bytesRead)));
        // A repair names a block of the chunk's fragments; anything else, a fragment of it.
        const first = (message.flags & Flags.Repair) !== 0 ? message.fragmentIndex - (message.fragmentIndex % FEC_BLOCK_SOURCES) : message.fragmentIndex;
        expect(first).toBeLessThan(message.fragmentCount);
      }),
      { numRuns: 2000 },
    );
    // Both sides were exercised, not just the version byte.
    expect(decoded).toBeGreaterThan(200);
    expect(refused).toBeGreaterThan(200);
  });

  it('refuses to encode what it could not decode', () => {
    const base = { type: 1, flags: 0, hops: 0, channel: 1, sequence: 1, source: 1, destination: 1, latencyUs: 0, fragmentIndex: 0, fragmentCount: 1 } as const;
    expect(() => encode(base, new Uint8Array(MAX_PAYLOAD_BYTES + 1))).toThrow(RangeError);
    expect(() => encode({ ...base, channel: -1 })).toThrow(RangeError);
    expect(() => encode({ ...base, fragmentCount: 257 })).toThrow(RangeError);
    expect(() => encode({ ...base, type: 42 as 1 })).toThrow(RangeError);
  });

  it('patches hops and latency in place for forwarding, and reads temporal layers', () => {
    const message = encode({ type: 1, flags: Flags.Droppable | (2 << Flags.LayerShift), hops: 1, channel: 3, sequence: 4, source: 0, destination: 0, latencyUs: 100, fragmentIndex: 0, fragmentCount: 1 });
    patchForwarded(message, 2, 5100.4);
    const { message: m } = decode(message);
    expect([m.hops, m.latencyUs, temporalLayer(m.flags)]).toEqual([2, 5100, 2]);
  });
});

describe('route setup payload', () => {
  it('round-trips and matches its golden vector', () => {
    const setup = { policy: 'greedy', subscriptionId: 's1', epoch: 3, at: 10, maxLatencyMs: 150, pipeline: [] } as const;
    const golden = '02 00 0002 00000003 0000000a 00000096 0002 7331 5b5d';
    expect(hex(encodeRouteSetup(setup))).toBe(golden.replace(/ /g, ''));
    expect(decodeRouteSetup(bytes(golden))).toEqual(setup);
    const withPipeline = { ...setup, policy: 'random' as const, pipeline: [{ spa: 'grayscale' }] };
    expect(decodeRouteSetup(encodeRouteSetup(withPipeline))).toEqual(withPipeline);
  });

  it('refuses bad route setups', () => {
    for (const bad of ['02', '07 00 0002 00000003 0000000a 00000096 0002 7331 5b5d', '02 00 0009 00000003 0000000a 00000096 0002 7331 5b5d', '02 00 0002 00000003 0000000a 00000096 0002 7331 7b7d', '02 00 0002 00000003 0000000a 00000096 0002 ff31 5b5d']) {
      expect(() => decodeRouteSetup(bytes(bad)), bad).toThrow(MalformedMessageError);
    }
  });
});
