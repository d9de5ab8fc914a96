import { decode, MessageType, RELIABLE_LANE, UNRETRANSMITTED_LANE, type DecodedMessage } from '@cubecast/protocol';
import { describe, expect, it } from 'vitest';
import { Link } from './link.js';
import { LinkMonitor } from './link-monitor.js';
import type { LinkTransport } from './types.js';

function setup(stallAfterMs = 3500, failAfterMs = 15_000) {
  let now = 0;
  const sent = new Map<string, Uint8Array[]>();
  const clock = { now: () => now, set: () => 0, clear: () => {} };
  const link = (hostId: string, open = true) => {
    const transport: LinkTransport = { bufferedAmount: 0, send: (bytes) => void sent.set(hostId, [...(sent.get(hostId) ?? []), bytes.slice()]), close() {} };
    const l = new Link(hostId, transport, clock);
    if (open) l.open(now);
    return l;
  };
  const failed: string[] = [];
  const monitor = new LinkMonitor({
    now: () => now,
    stallAfterMs,
    failAfterMs,
    stall: (l, reason) => {
      l.stall();
      failed.push(`stalled ${l.hostId}: ${reason}`);
    },
    fail: (l, reason) => {
      l.close();
      failed.push(`failed ${l.hostId}: ${reason}`);
    },
  });
  const messages = (hostId: string): DecodedMessage[] => (sent.get(hostId) ?? []).map((bytes) => decode(bytes).message);
  return { monitor, link, failed, messages, advance: (ms: number) => (now += ms) };
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('LinkMonitor', () => {
  it('pings open links with a fresh nonce and this host\'s position; stalls those silent past the limit; leaves connecting ones alone', () => {
    const s = setup(3500);
    const quiet = s.link('quiet');
    const chatty = s.link('chatty');
    const connecting = s.link('connecting', false);
    s.monitor.setPosition([3, -1.5], [quiet, chatty, connecting]);
    s.advance(3000);
    s.monitor.tick([quiet, chatty, connecting]);
    s.advance(1000);
    chatty.noteReceived(10, 4000, RELIABLE_LANE);
    s.monitor.tick([quiet, chatty, connecting]);
    expect(s.failed).toEqual(['stalled quiet: silent for 4000 ms']);
    const pings = s.messages('chatty');
    expect(pings.map((m) => [m.type, m.sequence])).toEqual([
      [MessageType.Ping, 2], // nonce 1 went to quiet, in the first round
      [MessageType.Ping, 3],
    ]);
    // u8 1 (has a position), f32 3, f32 -1.5, big-endian: computed by hand from IEEE 754;
    // u32 0 sent unretransmitted before this ping, u16 0 loss measured of the peer.
    expect(hex(pings[0]!.payload)).toBe('0140400000bfc00000' + '00000000' + '0000');
    // The first ping is counted in the second's count.
    expect(hex(pings[1]!.payload.subarray(9))).toBe('00000001' + '0000');
    expect(s.messages('connecting')).toEqual([]);
  });

  it('pings stalled links, and fails one still silent past the second limit', () => {
    const s = setup(3500, 10_000);
    const link = s.link('h2');
    s.advance(4000);
    s.monitor.tick([link]);
    expect(s.messages('h2')).toEqual([]);
    s.advance(1000);
    s.monitor.tick([link]);
    expect(s.messages('h2').map((m) => m.type)).toEqual([MessageType.Ping]);
    s.advance(5000);
    s.monitor.tick([link]);
    expect(s.messages('h2')).toHaveLength(2);
    s.advance(1);
    s.monitor.tick([link]);
    s.monitor.tick([link]);
    expect(s.failed).toEqual(['stalled h2: silent for 4000 ms', 'failed h2: silent for 10001 ms']);
    expect(s.messages('h2')).toHaveLength(2);
  });

  it('answers a ping with a pong of the same nonce, and takes the RTT from a pong it awaited', () => {
    const s = setup();
    const link = s.link('h2');
    s.monitor.ping(link); // nonce 1
    const ping = s.messages('h2')[0]!;
    expect(hex(ping.payload)).toBe('00'.repeat(15)); // no position, nothing sent, no loss: all zero
    s.monitor.receive(link, { ...ping, type: MessageType.Ping, sequence: 77 });
    const pong = s.messages('h2')[1]!;
    expect([pong.type, pong.sequence]).toEqual([MessageType.Pong, 77]);
    s.advance(40);
    s.monitor.receive(link, { ...ping, type: MessageType.Pong, sequence: 9 }); // not a ping of ours
    expect(link.rttMs).toBeUndefined();
    s.monitor.receive(link, { ...ping, type: MessageType.Pong, sequence: 1 });
    expect(link.rttMs).toBe(40);
  });

  it('takes the peer\'s position from its ping, which sets the emulated delay and starts the RTT afresh', () => {
    const s = setup();
    const link = s.link('h2');
    s.monitor.setPosition([0, 0], [link]);
    s.monitor.ping(link);
    s.advance(10);
    const ours = s.messages('h2')[0]!;
    s.monitor.receive(link, { ...ours, type: MessageType.Pong, sequence: 1 });
    expect(link.rttMs).toBe(10);
    // The peer is far away now: its next ping says so, and the old sample no longer holds.
    const far = new Uint8Array(15);
    new DataView(far.buffer).setUint8(0, 1);
    new DataView(far.buffer).setFloat32(1, 3000);
    s.monitor.receive(link, { ...ours, type: MessageType.Ping, sequence: 5, payload: far });
    expect(link.rttMs).toBeUndefined();
  });

  it('carries the counts that measure loss both ways: the peer\'s count in, this end\'s measure of it back', () => {
    const s = setup();
    const link = s.link('h2');
    const fromPeer = (type: MessageType, peerSent: number, lossOfOurs: number) => {
      const payload = new Uint8Array(15);
      new DataView(payload.buffer).setUint32(9, peerSent);
      new DataView(payload.buffer).setUint16(13, lossOfOurs);
      s.monitor.receive(link, { type, flags: 0, hops: 0, channel: 0, sequence: 1, source: 0, destination: 0, latencyUs: 0, fragmentIndex: 0, fragmentCount: 1, payload });
    };
    fromPeer(MessageType.Ping, 0, 0);
    for (let i = 0; i < 80; i++) link.noteReceived(100, 0, UNRETRANSMITTED_LANE);
    fromPeer(MessageType.Pong, 100, 0xffff / 4);
    expect(link.stats(1).lossRate).toBeCloseTo(0.25, 4);
    s.monitor.ping(link);
    const ping = s.messages('h2').at(-1)!;
    // 20 of 100 lost (beside 20 assumed delivered, the count 2 sigma high), of 65535, rounded.
    expect(new DataView(ping.payload.buffer, ping.payload.byteOffset).getUint16(13)).toBe(Math.round((0xffff * (20 + 2 * Math.sqrt(20))) / 120));
    // A ping overtaken on another stripe: its older measure of our loss is not taken.
    fromPeer(MessageType.Ping, 90, 0);
    expect(link.stats(2).lossRate).toBeCloseTo(0.25, 4);
  });
});
