import { decode, encode, FEC_MAX_REPAIRS, Flags, MessageType, RELIABLE_LANE, repairCount, timelyLane, UNRETRANSMITTED_LANE } from '@cubecast/protocol';
import { describe, expect, it } from 'vitest';
import { BandwidthBucket, HIGH_WATER_BYTES, Link, MAX_QUEUED, TIMELY_BUFFER_BYTES, type Outgoing } from './link.js';
import type { LinkTransport } from './types.js';

/** A transport whose buffer the test fills and drains by hand; `sent` is what left, in order. */
function transport(options: { throws?: (bytes: Uint8Array) => boolean } = {}) {
  const sent: Uint8Array[] = [];
  const lanes: number[] = [];
  const t = {
    sent,
    lanes,
    bufferedAmount: 0,
    send(bytes: Uint8Array, lane: number) {
      if (options.throws?.(bytes)) throw new Error('the channel is closing');
      sent.push(bytes);
      lanes.push(lane);
      t.bufferedAmount += bytes.byteLength;
    },
    close() {},
  } satisfies LinkTransport & { sent: Uint8Array[]; lanes: number[] };
  return t;
}

const clock = { now: () => 0, set: () => 0, clear: () => {} };
const unlimited = () => new BandwidthBucket(undefined, 0);

/** A message whose first byte names it, in a drop group, of channel 1 unless told. */
function message(name: number, group: string, flags: number, size = 100, channel = 1): Outgoing {
  const bytes = new Uint8Array(size);
  bytes[0] = name;
  return { bytes, flags, group, channel };
}

function openLink(t: LinkTransport) {
  const link = new Link('peer', t, clock);
  link.open(0);
  return link;
}

describe('Link backpressure', () => {
  it('stops handing the channel messages above the high mark and goes on where it stopped', () => {
    const t = transport();
    const link = openLink(t);
    const size = 64 * 1024;
    const count = Math.ceil(HIGH_WATER_BYTES / size) + 10;
    for (let i = 0; i < count; i++) link.enqueue(message(i, `g${i}`, Flags.Key, size));
    link.pump(0, unlimited());
    // Sending stops once more than the high mark is buffered: one message past it at most.
    expect(t.bufferedAmount).toBeGreaterThan(HIGH_WATER_BYTES);
    expect(t.bufferedAmount).toBeLessThanOrEqual(HIGH_WATER_BYTES + size);
    const first = t.sent.length;
    expect(link.queued).toBe(count - first);
    // The channel drains (bufferedamountlow): the next pump resumes in order.
    t.bufferedAmount = 0;
    link.pump(0, unlimited());
    expect(t.sent.map((b) => b[0])).toEqual([...Array(count).keys()]);
    expect(link.queued).toBe(0);
  });

  it('when the queue overflows, drops the oldest droppable chunk, all its fragments, and never a key frame', () => {
    const t = transport();
    const link = openLink(t);
    t.bufferedAmount = HIGH_WATER_BYTES + 1; // blocked: everything queues
    link.enqueue(message(0, 'key', Flags.Key | Flags.Droppable));
    link.enqueue(message(1, 'old', Flags.Droppable));
    link.enqueue(message(2, 'plain', 0));
    link.enqueue(message(3, 'old', Flags.Droppable));
    link.enqueue(message(4, 'next', Flags.Droppable));
    for (let i = 5; i < MAX_QUEUED; i++) link.enqueue(message(i & 0xff, `filler${i}`, Flags.Droppable));
    expect(link.queued).toBe(MAX_QUEUED);
    link.enqueue(message(9, 'overflow', Flags.Droppable));
    // The two fragments of 'old' went; the key frame and the non-droppable stayed.
    expect(link.queued).toBe(MAX_QUEUED - 1);
    expect(link.stats(0).dropped).toBe(2);
    t.bufferedAmount = 0;
    link.pump(0, unlimited());
    expect(t.sent.slice(0, 3).map((b) => b[0])).toEqual([0, 2, 4]);
  });

  it('drops by what depends on a frame: the top layer first, then timely layer 1, then layer 0, saying which channel needs a key frame', () => {
    const layer = (l: number) => Flags.Timely | (l << Flags.LayerShift);
    /** A full, blocked queue: key frame, base (layer 0), sensor reading, middle (layer 1), top layer, then untimely filler. */
    const full = () => {
      const t = transport();
      const link = openLink(t);
      t.bufferedAmount = HIGH_WATER_BYTES + 1;
      link.enqueue(message(0, 'key', Flags.Timely | Flags.Key, 100, 7));
      link.enqueue(message(1, 'base', layer(0), 100, 7));
      link.enqueue(message(2, 'sensor', 0, 100, 8));
      link.enqueue(message(3, 'middle', layer(1), 100, 7));
      link.enqueue(message(4, 'top', layer(2) | Flags.Droppable, 100, 7));
      for (let i = 5; i < MAX_QUEUED; i++) link.enqueue(message(i & 0xff, `plain${i}`, 0));
      const sent = () => {
        t.bufferedAmount = 0;
        link.pump(0, unlimited());
        return t.sent.slice(0, 4).map((b) => b[0]);
      };
      return { link, sent };
    };
    // Two overflows: the top layer goes (no key frame needed), then the middle; the base stays.
    const a = full();
    expect(a.link.enqueue(message(9, 'x1', 0))).toBeUndefined();
    expect(a.link.enqueue(message(9, 'x2', 0))).toBe(7);
    expect(a.sent()).toEqual([0, 1, 2, 5]);
    // Four: then the base; then nothing may go (the key frame, untimely data) and the queue runs over.
    const b = full();
    for (const name of ['x1', 'x2', 'x3']) b.link.enqueue(message(9, name, 0));
    expect(b.link.enqueue(message(9, 'x4', 0))).toBeUndefined();
    expect(b.link.queued).toBe(MAX_QUEUED + 1);
    expect(b.link.stats(0).dropped).toBe(3);
    expect(b.sent()).toEqual([0, 2, 5, 6]);
  });

  it('keeps non-droppable data when nothing can be dropped: the queue runs over instead', () => {
    const t = transport();
    const link = openLink(t);
    t.bufferedAmount = HIGH_WATER_BYTES + 1;
    for (let i = 0; i < MAX_QUEUED + 10; i++) link.enqueue(message(i & 0xff, `k${i}`, Flags.Key));
    expect(link.queued).toBe(MAX_QUEUED + 10);
    expect(link.stats(0).dropped).toBe(0);
  });

  it('a send that throws costs that message only: the pump goes on and nothing escapes', () => {
    const t = transport({ throws: (bytes) => bytes[0] === 1 });
    const link = openLink(t);
    for (let i = 0; i < 3; i++) link.enqueue(message(i, `g${i}`, Flags.Key));
    expect(() => link.pump(0, unlimited())).not.toThrow();
    expect(t.sent.map((b) => b[0])).toEqual([0, 2]);
    expect(() => link.toWire(message(1, 'c', 0).bytes, 0)).not.toThrow();
  });

  it('holds messages for the host upload bucket and says when to try again', () => {
    const t = transport();
    const link = openLink(t);
    const bucket = new BandwidthBucket(800, 0); // 100 bytes per ms, 16 KiB burst
    for (let i = 0; i < 40; i++) link.enqueue(message(i, `g${i}`, Flags.Key, 1000));
    const wait = link.pump(0, bucket);
    expect(t.sent.length).toBe(16);
    expect(wait).toBeCloseTo(6.16, 5); // 16384 - 16000 = 384 left: 616 bytes short, at 100 bytes per ms
    link.pump(10, bucket); // 1000 more bytes of tokens: one more message
    expect(t.sent.length).toBe(17);
  });

  it('a bucket drawing on a shared one (the host total) passes bytes only when both have them, and spends both', () => {
    const total = new BandwidthBucket(800, 0); // 100 bytes per ms, 16 KiB burst
    const up = new BandwidthBucket(undefined, 0, total);
    const down = new BandwidthBucket(8000, 0, total); // ten times the total
    expect(up.take(10_000, 0)).toBe(0);
    // The total has 6384 bytes left: the download's own 50 KB burst would pass 10000, the total not.
    expect(down.take(10_000, 0)).toBeCloseTo(36.16, 5);
    expect(down.take(6000, 0)).toBe(0);
    expect(up.take(1000, 0)).toBeCloseTo(6.16, 5);
    // Unlimited on both sides: always passes.
    const free = new BandwidthBucket(undefined, 0, new BandwidthBucket(undefined, 0));
    expect(free.take(1e9, 0)).toBe(0);
  });
});

describe('Link measurement and liveness', () => {
  it('smooths RTT from pongs that answer its pings, and ignores unknown or repeated pongs', () => {
    const link = openLink(transport());
    expect(link.rttMs).toBeUndefined();
    expect(link.oneWayMs).toBe(0);
    link.notePingSent(1, 0);
    link.notePong(1, 40);
    expect(link.rttMs).toBe(40);
    expect(link.oneWayMs).toBe(20);
    link.notePong(1, 100); // answered already
    link.notePong(99, 100); // never sent
    expect(link.rttMs).toBe(40);
    link.notePingSent(2, 100);
    link.notePong(2, 180); // sample 80: 40 + (80 - 40) / 8
    expect(link.rttMs).toBe(45);
    expect(link.stats(200).lossRate).toBe(0);
  });

  it('gives up on all but the last 16 pings awaiting pongs', () => {
    const link = openLink(transport());
    for (let nonce = 1; nonce <= 20; nonce++) link.notePingSent(nonce, nonce);
    link.notePong(1, 50); // given up: no sample
    expect(link.rttMs).toBeUndefined();
    link.notePong(20, 50);
    expect(link.rttMs).toBe(30);
  });

  it('measures the loss of what the peer sent on the lane that never retransmits, from the counts in its pings', () => {
    const link = openLink(transport());
    const arrive = (n: number, lane = UNRETRANSMITTED_LANE) => {
      for (let i = 0; i < n; i++) link.noteReceived(100, 0, lane);
    };
    link.notePeerSent(0); // the first count is only a baseline
    expect(link.inboundLoss).toBe(0);
    arrive(90);
    arrive(50, RELIABLE_LANE); // the reliable lane's messages are not what the count is of
    link.notePeerSent(100);
    // 10 lost (taken 2 sigma high) of 100, beside the 20 assumed delivered before anything was counted.
    expect(link.inboundLoss).toBeCloseTo((10 + 2 * Math.sqrt(10)) / 120, 9);
    arrive(200);
    link.notePeerSent(300);
    // The past decays by 0.8 every 200 messages.
    expect(link.inboundLoss).toBeCloseTo((8 + 2 * Math.sqrt(8)) / (0.8 * 100 + 200 + 20), 9);
    // A pause in the stream: a ping's count forgets little (0.8^0.1), so a resumed stream
    // finds its loss still known.
    link.notePeerSent(301);
    expect(link.inboundLoss).toBeGreaterThan(0.8 * ((8 + 2 * Math.sqrt(8)) / (0.8 * 100 + 200 + 20)));
    // A message in flight at one count and surplus at the next nets out.
    const inFlight = openLink(transport());
    inFlight.notePeerSent(0);
    for (let i = 0; i < 99; i++) inFlight.noteReceived(1, 0, UNRETRANSMITTED_LANE);
    inFlight.notePeerSent(100);
    for (let i = 0; i < 101; i++) inFlight.noteReceived(1, 0, UNRETRANSMITTED_LANE);
    inFlight.notePeerSent(200);
    expect(inFlight.inboundLoss).toBe(0);
    // The count wraps at 2^32 without a false spike.
    const wrapped = openLink(transport());
    wrapped.notePeerSent(0xfffffff0);
    for (let i = 0; i < 32; i++) wrapped.noteReceived(1, 0, UNRETRANSMITTED_LANE);
    wrapped.notePeerSent(0x10);
    expect(wrapped.inboundLoss).toBe(0);
    // A count overtaken by a newer one (pings on different stripes) is passed over: what
    // arrived meanwhile counts toward the next.
    const overtaken = openLink(transport());
    overtaken.notePeerSent(1000);
    for (let i = 0; i < 100; i++) overtaken.noteReceived(1, 0, UNRETRANSMITTED_LANE);
    overtaken.notePeerSent(1100);
    overtaken.notePeerSent(1050);
    expect(overtaken.inboundLoss).toBe(0);
    for (let i = 0; i < 90; i++) overtaken.noteReceived(1, 0, UNRETRANSMITTED_LANE);
    overtaken.notePeerSent(1200);
    expect(overtaken.inboundLoss).toBeCloseTo((10 + 2 * Math.sqrt(10)) / (0.8 ** 0.5 * 100 + 100 + 20), 9);
  });

  it('takes the peer\'s measure of its own loss, reports it, and sizes FEC repairs by it', () => {
    const link = openLink(transport());
    // No loss measured: a repair every fourth block, to measure it.
    expect([1, 2, 3, 4, 5].map(() => link.repairsFor(11))).toEqual([1, 0, 0, 0, 1]);
    link.noteOutboundLoss(0.1);
    expect(link.stats(100).lossRate).toBe(0.1);
    expect(link.repairsFor(11)).toBe(repairCount(11, 0.1));
    expect(link.repairsFor(11)).toBeGreaterThan(link.repairsFor(1));
  });

  it('starts measuring afresh when the emulated delay changes, and only then', () => {
    const t = transport();
    const link = openLink(t);
    link.notePingSent(1, 0);
    link.notePong(1, 10);
    link.notePingSent(2, 10);
    link.notePeerPosition(undefined, undefined); // no emulation either side: the same delay
    expect(link.rttMs).toBe(10);
    link.notePeerPosition([30, 40], [0, 0]); // 50 ms each way now
    expect(link.rttMs).toBeUndefined();
    link.notePong(2, 20); // sent before the change: not a sample
    expect(link.rttMs).toBeUndefined();
    // What it sends now waits out the emulated delay before reaching the transport.
    link.toWire(new Uint8Array([7]), 20);
    expect(t.sent).toHaveLength(0);
  });

  it('times silence from when it opened and from the last bytes heard; a failed link stays failed', () => {
    const link = new Link('peer', transport(), clock);
    expect(link.state).toBe('connecting');
    link.open(100);
    expect(link.silentFor(1000)).toBe(900);
    link.noteReceived(10, 800, RELIABLE_LANE);
    expect(link.silentFor(1000)).toBe(200);
    link.close();
    link.open(2000);
    expect(link.state).toBe('failed');
  });

  it('stalls only when open, drops what it queued and the pings it awaited, sends nothing queued until it recovers, and recovers only from a stall', () => {
    const t = transport();
    const link = new Link('peer', t, clock);
    link.stall();
    expect(link.state).toBe('connecting');
    link.open(0);
    link.notePingSent(1, 0);
    link.enqueue(message(1, 'a', 0));
    link.enqueue(message(2, 'b', 0));
    link.stall();
    expect(link.state).toBe('stalled');
    expect([link.queued, link.backlogBytes, link.stats(1).dropped]).toEqual([0, 0, 2]);
    link.enqueue(message(3, 'c', 0));
    link.pump(10, unlimited());
    expect(t.sent).toHaveLength(0);
    // Pings into the outage, before and during the stall, give no RTT sample when answered.
    link.notePingSent(7, 5);
    link.notePong(1, 400);
    link.notePong(7, 400);
    expect(link.rttMs).toBeUndefined();
    expect(link.recover(500)).toBe(true);
    expect([link.state, link.silentFor(600)]).toEqual(['open', 100]);
    expect(link.recover(700)).toBe(false);
    link.pump(700, unlimited());
    expect(t.sent.map((bytes) => bytes[0])).toEqual([3]);
    link.close();
    expect(link.recover(800)).toBe(false);
    expect(link.state).toBe('failed');
  });
});

describe('Link deadlines', () => {
  const data = (latencyUs: number) => encode({ type: MessageType.Data, flags: Flags.Timely, hops: 1, channel: 1, sequence: 0, source: 0, destination: 0, latencyUs, fragmentIndex: 0, fragmentCount: 1 }, new Uint8Array(4));

  it('stamps what it forwards as it leaves, drops timely data past its deadline (key frames excepted), and gives the rest the lane its time left allows', () => {
    const t = transport();
    const link = openLink(t);
    // Arrived at 0 with 20 ms behind it; leaves at 30: 50 ms, of a 300 ms deadline.
    link.enqueue({ bytes: data(20_000), flags: Flags.Timely, group: 'a', channel: 1, forwarded: { hops: 1, latencyUs: 20_000, arrival: 0, deadlineUs: 300_000 } });
    // 290 ms behind it: past its 300 ms deadline by the time it leaves.
    link.enqueue({ bytes: data(290_000), flags: Flags.Timely, group: 'b', channel: 1, forwarded: { hops: 1, latencyUs: 290_000, arrival: 0, deadlineUs: 300_000 } });
    // Untimely (no deadline): reliable lane, however late.
    link.enqueue({ bytes: data(900_000), flags: 0, group: 'c', channel: 1, forwarded: { hops: 1, latencyUs: 900_000, arrival: 0 } });
    // A late key frame still goes, never retransmitted: a subscriber must see and measure something.
    link.enqueue({ bytes: data(400_000), flags: Flags.Timely | Flags.Key, group: 'd', channel: 1, forwarded: { hops: 1, latencyUs: 400_000, arrival: 0, deadlineUs: 300_000 } });
    link.pump(30, unlimited());
    expect(t.sent.map((bytes) => decode(bytes).message.latencyUs)).toEqual([50_000, 930_000, 430_000]);
    expect(t.sent.map((bytes) => decode(bytes).message.hops)).toEqual([2, 2, 2]);
    expect(t.lanes).toEqual([timelyLane(250), RELIABLE_LANE, timelyLane(-130)]);
    expect(timelyLane(-130)).toBe(1);
    expect(link.stats(30)).toMatchObject({ late: 1, dropped: 0 });
  });

  it('judges lateness by the path\'s least recent RTT, not by one inflated by a burst\'s queue', () => {
    const t = transport();
    const link = openLink(t);
    link.notePingSent(1, 0);
    link.notePong(1, 10); // the path: 10 ms
    link.notePingSent(2, 10);
    link.notePong(2, 1610); // behind a queue: 1.6 s, smoothed RTT now 209 ms
    expect(link.rttMs).toBeCloseTo(10 + (1600 - 10) / 8, 6);
    // 150 ms of a 200 ms deadline: late by the smoothed RTT's half (104 ms), not by the path's 5.
    link.enqueue({ bytes: data(150_000), flags: Flags.Timely, group: 'a', channel: 1, forwarded: { hops: 1, latencyUs: 150_000, arrival: 1610, deadlineUs: 200_000 } });
    link.pump(1610, unlimited());
    expect([t.sent.length, link.stats(1610).late]).toEqual([1, 0]);
    // The header still says what the smoothed RTT says: latency as honestly as it is known.
    expect(decode(t.sent[0]!).message.latencyUs).toBeCloseTo(150_000 + link.oneWayMs * 1000, -1);
  });

  it('keeps timely data in its queue, where its deadline applies, while the channel holds more than a little', () => {
    const t = transport();
    const link = openLink(t);
    t.bufferedAmount = TIMELY_BUFFER_BYTES + 1;
    link.enqueue({ bytes: data(0), flags: Flags.Timely, group: 'a', channel: 1, forwarded: { hops: 1, latencyUs: 0, arrival: 0, deadlineUs: 100_000 } });
    link.enqueue({ bytes: data(0), flags: 0, group: 'b', channel: 1, forwarded: { hops: 1, latencyUs: 0, arrival: 0 } });
    expect(link.pump(0, unlimited())).toBeGreaterThan(0);
    expect([t.sent.length, link.queued]).toEqual([0, 2]);
    // Past its deadline while it waited: it goes unsent, and what is behind it moves on.
    link.pump(150, unlimited());
    expect([t.sent.length, link.queued, link.stats(150).late]).toEqual([1, 0, 1]);
    expect(t.lanes).toEqual([RELIABLE_LANE]); // the untimely one
  });

  it('makes no repairs for a backed-up link, nor resends any asked for, and never more than half again the block', () => {
    const t = transport();
    const link = openLink(t);
    link.noteOutboundLoss(0.4);
    expect(link.repairsFor(1)).toBe(2);
    expect(link.repairsFor(11)).toBe(6);
    // Asked for more: those, and as many again as the loss calls for, up to a block's rows.
    expect(link.repairsToResend(2)).toBe(2 + repairCount(2, 0.4));
    expect(link.repairsToResend(FEC_MAX_REPAIRS)).toBe(FEC_MAX_REPAIRS);
    t.bufferedAmount = TIMELY_BUFFER_BYTES + 1;
    expect(link.repairsFor(11)).toBe(0);
    expect(link.repairsToResend(2)).toBe(0);
    t.bufferedAmount = 0;
    link.enqueue(message(1, 'a', 0));
    expect(link.repairsFor(11)).toBe(0);
    expect(link.repairsToResend(2)).toBe(0);
  });

  it('sends FEC repairs on the lane that never retransmits, and counts what it sends there', () => {
    const t = transport();
    const link = openLink(t);
    const forwarded = { hops: 1, latencyUs: 20_000, arrival: 0, deadlineUs: 300_000 };
    link.enqueue({ bytes: data(20_000), flags: Flags.Timely, group: 'a', channel: 1, forwarded });
    link.enqueue({ bytes: data(20_000), flags: Flags.Timely | Flags.Repair, group: 'a', channel: 1, forwarded });
    link.pump(30, unlimited());
    expect(t.lanes).toEqual([timelyLane(250), UNRETRANSMITTED_LANE]);
    expect(link.unretransmittedSent).toBe(1);
  });
});
