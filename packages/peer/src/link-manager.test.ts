import { LIMITS, type IceConfiguration, type SignalData } from '@cubecast/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LinkStats } from './engine/types.js';
import { dtlsFingerprint, iceUfrag, LinkManager, WIDEN_AT_LOSS, WIDEN_MIN_KBPS } from './link-manager.js';
import { FakeConnection } from './testing/fake-connection.js';


const OFFER = { type: 'offer', sdp: 'v=0' } as const;

function manager(wanted: string[]) {
  const want = new Set(wanted);
  const log: string[] = [];
  const made = new Map<string, FakeConnection[]>();
  const stripes = new Map<string, FakeConnection[]>();
  const sent: [string, SignalData][] = [];
  const stripeSignals: [string, SignalData, number][] = [];
  const iceUsed: IceConfiguration[] = [];
  const current = { ice: { iceServers: [], iceTransportPolicy: 'all' } as IceConfiguration };
  // The manager makes a connection, then names its host in `added`.
  let unnamed: FakeConnection | undefined;
  let changes = 0;
  const links = new LinkManager({
    createConnection: (initiator, ice) => {
      unnamed = new FakeConnection(initiator);
      iceUsed.push(ice);
      return unnamed.made();
    },
    ice: () => current.ice,
    added: (hostId) => {
      (made.get(hostId) ?? made.set(hostId, []).get(hostId)!).push(unnamed!);
      log.push(`add ${hostId}`);
    },
    stripeAdded: (hostId) => {
      (stripes.get(hostId) ?? stripes.set(hostId, []).get(hostId)!).push(unnamed!);
      log.push(`stripe ${hostId}`);
    },
    removed: (hostId) => log.push(`remove ${hostId}`),
    signal: (hostId, data, stripe) => (stripe === 0 ? sent.push([hostId, data]) : stripeSignals.push([hostId, data, stripe])),
    wanted: () => want,
    changed: () => changes++,
    connectTimeoutMs: 10_000,
    relinkBackoffMs: 1500,
  });
  const last = (hostId: string) => made.get(hostId)?.at(-1);
  return { links, want, log, made, stripes, sent, stripeSignals, last, iceUsed, current, changes: () => changes };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('LinkManager', () => {
  it("reads a connected link's route every 2 s, says when it changed, and forgets it with the link", async () => {
    const m = manager(['h3']);
    m.links.sync('h2');
    const link = m.last('h3')!;
    link.routeNow = { type: 'srflx', local: 'srflx', remote: 'host', protocol: 'udp' };
    await vi.advanceTimersByTimeAsync(2000);
    // Not connected yet: not read.
    expect(m.links.routeOf('h3')).toBeNull();
    link.connected = true;
    await vi.advanceTimersByTimeAsync(2000);
    expect(m.links.routeOf('h3')).toEqual(link.routeNow);
    const changes = m.changes();
    await vi.advanceTimersByTimeAsync(2000);
    expect(m.changes()).toBe(changes);
    link.routeNow = { type: 'relay', local: 'relay', remote: 'host', protocol: 'udp', relayProtocol: 'udp' };
    await vi.advanceTimersByTimeAsync(2000);
    expect(m.links.routeOf('h3')!.type).toBe('relay');
    expect(m.changes()).toBe(changes + 1);
    m.want.delete('h3');
    m.links.sync('h2');
    expect(m.links.routeOf('h3')).toBeNull();
    m.links.close();
  });

  it('makes each connection with the ICE servers current when it is made', () => {
    const m = manager(['h3', 'h4']);
    m.links.sync('h2');
    const refreshed: IceConfiguration = { iceServers: [{ urls: 'turn:turn.example:3478', username: '1:r/h2', credential: 'c' }], iceTransportPolicy: 'relay' };
    m.current.ice = refreshed;
    m.want.add('h5');
    m.links.sync('h2');
    expect(m.iceUsed.slice(0, 2).map((ice) => ice.iceTransportPolicy)).toEqual(['all', 'all']);
    expect(m.iceUsed[2]).toBe(refreshed);
  });

  it('offers to wanted hosts whose ids sort after its own, and sends their signals on', () => {
    const m = manager(['h1', 'h3']);
    m.links.sync('h2');
    expect(m.log).toEqual(['add h3']);
    expect(m.last('h3')!.initiator).toBe(true);
    expect(m.links.has('h1')).toBe(false);
    m.last('h3')!.emit('signal', OFFER);
    expect(m.sent).toEqual([['h3', OFFER]]);
  });

  it('answers an offer on a connection of its own, ignores other signals from unknown hosts, and replaces a link the other side started over', () => {
    const m = manager(['h1']);
    m.links.onSignal('h1', { candidate: { candidate: 'c' } } as unknown as SignalData);
    expect(m.log).toEqual([]);
    m.links.onSignal('h1', OFFER);
    const first = m.last('h1')!;
    expect(first).toMatchObject({ initiator: false, signals: [OFFER] });
    m.links.onSignal('h1', { type: 'answer', sdp: 'x' });
    expect(first.signals).toHaveLength(2);
    m.links.onSignal('h1', OFFER);
    expect(first.destroyed).toBe(1);
    expect(m.last('h1')).not.toBe(first);
    expect(m.log).toEqual(['add h1', 'remove h1', 'add h1']);
  });

  it("passes an ICE restart's offer (the same DTLS fingerprint) to the link it restarts, and a renegotiation request on", () => {
    const sdp = (fingerprint: string, ufrag: string) => `v=0\r\na=ice-ufrag:${ufrag}\r\na=fingerprint:sha-256 ${fingerprint}\r\n`;
    const m = manager(['h1']);
    m.links.onSignal('h1', { type: 'offer', sdp: sdp('AA:BB', 'u1') });
    const first = m.last('h1')!;
    m.links.onSignal('h1', { type: 'offer', sdp: sdp('aa:bb', 'u2') });
    expect(first.destroyed).toBe(0);
    expect(first.signals).toHaveLength(2);
    m.links.onSignal('h1', { type: 'offer', sdp: sdp('CC:DD', 'u3') });
    expect(first.destroyed).toBe(1);
    expect(m.last('h1')).not.toBe(first);
    // The offering side is asked to renegotiate by the other.
    const offering = manager(['h3']);
    offering.links.sync('h2');
    const request = { type: 'renegotiate', renegotiate: true } as SignalData;
    offering.links.onSignal('h3', request);
    expect(offering.last('h3')!.signals).toEqual([request]);
  });

  it('reads the DTLS fingerprint of an SDP', () => {
    expect(dtlsFingerprint('v=0\r\na=group:BUNDLE 0\r\na=fingerprint:sha-256 4F:A1:0C \r\na=setup:actpass\r\n')).toBe('sha-256 4f:a1:0c');
    expect(dtlsFingerprint('v=0\r\n')).toBeNull();
  });

  it('reads the ICE username fragment of an SDP', () => {
    expect(iceUfrag('v=0\r\na=ice-ufrag:Xy+9\r\na=ice-pwd:secret\r\n')).toBe('Xy+9');
    expect(iceUfrag('v=0\r\n')).toBeNull();
  });

  /** h2 offering to h3, and the link connected. */
  const connectedToH3 = () => {
    const m = manager(['h3']);
    m.links.sync('h2');
    const link = m.last('h3')!;
    link.connected = true;
    return { m, silent: link };
  };

  it('restarts ICE on a link the engine found silent, keeping its connection', () => {
    const { m, silent } = connectedToH3();
    m.links.stalled('h3');
    m.links.stalled('h9');
    expect(silent.iceRestartsAsked).toBe(1);
    expect(silent.destroyed).toBe(0);
    expect(m.log).toEqual(['add h3']);
  });

  it('drops a link the engine gave up on, and the offering side makes a new one after the backoff', () => {
    const { m, silent } = connectedToH3();
    m.links.failed('h3');
    expect(silent.destroyed).toBe(1);
    vi.advanceTimersByTime(1500);
    expect(m.last('h3')).not.toBe(silent);
    expect(m.log).toEqual(['add h3', 'remove h3', 'add h3']);
    m.links.failed('h9');
    expect(m.log).toHaveLength(3);
  });

  it('closes links no longer wanted, once', () => {
    const m = manager(['h3']);
    m.links.sync('h2');
    m.want.delete('h3');
    m.links.sync('h2');
    m.links.sync('h2');
    expect(m.last('h3')!.destroyed).toBe(1);
    expect(m.log).toEqual(['add h3', 'remove h3']);
  });

  it('when its connection fails, the offering side tries again after the backoff while the host is wanted', () => {
    const m = manager(['h3', 'h4']);
    m.links.sync('h2');
    m.links.sync('h2');
    m.last('h3')!.emit('close');
    m.last('h4')!.emit('error');
    m.want.delete('h4');
    expect(m.links.has('h3')).toBe(false);
    vi.advanceTimersByTime(1500);
    expect(m.links.has('h3')).toBe(true);
    expect(m.made.get('h3')).toHaveLength(2);
    expect(m.links.has('h4')).toBe(false);
    // A close the manager caused (destroy) or one from a replaced connection changes nothing.
    m.made.get('h3')![0]!.emit('close');
    expect(m.links.has('h3')).toBe(true);
  });

  it('starts over a link not connected within the timeout, says why, and keeps one that is', async () => {
    const m = manager(['h3', 'h4']);
    m.links.sync('h2');
    m.links.sync('h2');
    m.last('h4')!.connected = true;
    const failed = m.last('h3')!;
    failed.failureNow = 'the TURN server refused the credentials (turn:t:3478, error 401); none of the 4 candidate pairs got through (all failed)';
    await vi.advanceTimersByTimeAsync(10_000);
    expect(failed.destroyed).toBe(1);
    expect(m.last('h4')!.destroyed).toBe(0);
    expect(m.links.problemOf('h3')).toBe(failed.failureNow);
    expect(m.links.problemOf('h4')).toBeNull();
    // The next attempt connects: the problem is gone at the next look.
    await vi.advanceTimersByTimeAsync(1500);
    m.last('h3')!.connected = true;
    await vi.advanceTimersByTimeAsync(2000);
    expect(m.links.problemOf('h3')).toBeNull();
  });

  it('on the answering side says why a link has not connected, and leaves the starting over to the offering side', async () => {
    const m = manager(['h1']);
    m.links.onSignal('h1', OFFER);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(m.last('h1')!.destroyed).toBe(0);
    expect(m.links.problemOf('h1')).toBe(m.last('h1')!.failureNow);
    m.want.delete('h1');
    m.links.sync('h2');
    expect(m.links.problemOf('h1')).toBeNull();
  });

  it('on a new epoch drops only the links still negotiating', () => {
    const m = manager(['h3', 'h4']);
    m.links.sync('h2');
    m.links.sync('h2');
    m.last('h3')!.connected = true;
    m.links.dropNegotiating();
    expect(m.links.has('h3')).toBe(true);
    expect(m.links.has('h4')).toBe(false);
  });

  describe('stripes', () => {
    const LOSSY = WIDEN_AT_LOSS;
    const STREAM = WIDEN_MIN_KBPS;
    const ADDED = LIMITS.maxStripesPerLink - 1;
    const stats = (hostId: string, measures: Partial<LinkStats>): LinkStats => ({
      hostId,
      state: 'open',
      throughputKbps: 0,
      receivedKbps: 0,
      queued: 0,
      dropped: 0,
      late: 0,
      repairsResent: 0,
      lossRate: 0,
      inboundLossRate: 0,
      bufferedBytes: 0,
      sentBytes: 0,
      ...measures,
    });

    it('widens a connected link that loses messages either way while it carries a stream, from the offering side, once', () => {
      const { m, silent } = connectedToH3();
      expect(m.links.stripesOf('h3')).toBe(1);
      // Lossy but idle, or busy but clean enough: as it was.
      m.links.measured(stats('h3', { lossRate: 0.5, throughputKbps: STREAM - 1, receivedKbps: STREAM - 1 }), 0);
      m.links.measured(stats('h3', { lossRate: LOSSY * 0.99, inboundLossRate: LOSSY * 0.99, throughputKbps: 1000 }), 0);
      m.links.measured(stats('h9', { lossRate: 0.5, throughputKbps: 1000 }), 0);
      expect(m.log).toEqual(['add h3']);
      // Loss measured on the way here, a stream the other way.
      m.links.measured(stats('h3', { inboundLossRate: LOSSY, receivedKbps: STREAM }), 0);
      expect(m.log).toEqual(['add h3', ...Array<string>(ADDED).fill('stripe h3')]);
      const added = m.stripes.get('h3')!;
      expect(added.every((stripe) => stripe.initiator)).toBe(true);
      added.forEach((stripe, i) => stripe.emit('signal', { ...OFFER, sdp: `stripe ${i + 1}` }));
      expect(m.stripeSignals).toEqual(added.map((_, i) => ['h3', { ...OFFER, sdp: `stripe ${i + 1}` }, i + 1]));
      expect(m.sent).toEqual([]);
      // Not connected yet: not counted.
      expect(m.links.stripesOf('h3')).toBe(1);
      added[0]!.connected = true;
      added[2]!.connected = true;
      expect(m.links.stripesOf('h3')).toBe(3);
      m.links.measured(stats('h3', { lossRate: 1, throughputKbps: 1000 }), 1);
      expect(m.stripes.get('h3')).toHaveLength(ADDED);
      expect(silent.destroyed).toBe(0);
    });

    it('leaves widening to the offering side, which measures both ways, and takes no stripe offer there', () => {
      const m = manager(['h1']);
      m.links.onSignal('h1', OFFER);
      expect(m.links.stripesOf('h1')).toBe(0);
      m.last('h1')!.connected = true;
      m.links.measured(stats('h1', { lossRate: 0.5, inboundLossRate: 0.5, throughputKbps: 1000 }), 0);
      expect(m.log).toEqual(['add h1']);
      const { m: offering } = connectedToH3();
      offering.links.onSignal('h3', OFFER, 1);
      expect(offering.log).toEqual(['add h3']);
    });

    it("answers a stripe's offer on a link it has, ignores a stripe's signals otherwise, and replaces a stripe the other side started over", () => {
      const m = manager(['h1']);
      m.links.onSignal('h1', OFFER, 2);
      expect(m.log).toEqual([]);
      m.links.onSignal('h1', OFFER);
      m.links.onSignal('h1', { type: 'answer', sdp: 'x' }, 1);
      expect(m.log).toEqual(['add h1']);
      m.links.onSignal('h1', OFFER, 2);
      const stripe = m.stripes.get('h1')![0]!;
      expect(stripe).toMatchObject({ initiator: false, signals: [OFFER] });
      expect(m.last('h1')!.signals).toEqual([OFFER]);
      stripe.emit('signal', { type: 'answer', sdp: 'a' });
      expect(m.stripeSignals).toEqual([['h1', { type: 'answer', sdp: 'a' }, 2]]);
      m.links.onSignal('h1', { type: 'candidate', candidate: { candidate: 'c' } }, 2);
      expect(stripe.signals).toHaveLength(2);
      // Another offer with no fingerprint known to match: a new connection for that stripe.
      m.links.onSignal('h1', OFFER, 2);
      expect(stripe.destroyed).toBe(1);
      expect(m.stripes.get('h1')).toHaveLength(2);
      expect(m.last('h1')!.destroyed).toBe(0);
    });

    it('drops a stripe that fails or does not connect in time, and makes it again a backoff after the last widening', () => {
      const { m } = connectedToH3();
      const lossy = stats('h3', { lossRate: 0.2, throughputKbps: 1000 });
      m.links.measured(lossy, 0);
      const [first, second, third] = m.stripes.get('h3')!;
      first!.connected = true;
      third!.connected = true;
      first!.emit('close');
      expect(first!.destroyed).toBe(1);
      vi.advanceTimersByTime(10_000);
      expect(second!.destroyed).toBe(1);
      expect(third!.destroyed).toBe(0);
      expect(m.links.stripesOf('h3')).toBe(2);
      // Too soon after the widening, then time for the two it lost; the link's own stays.
      m.links.measured(lossy, 1000);
      expect(m.stripes.get('h3')).toHaveLength(ADDED);
      m.links.measured(stats('h3', {}), 1500);
      expect(m.stripes.get('h3')).toHaveLength(ADDED + 2);
      expect(m.log.filter((entry) => entry.startsWith('add'))).toHaveLength(1);
    });

    it('restarts ICE on its stripes with the link, drops those negotiating at a new epoch, and tears them down with it', () => {
      const { m, silent } = connectedToH3();
      m.links.measured(stats('h3', { lossRate: 0.2, throughputKbps: 1000 }), 0);
      const added = m.stripes.get('h3')!;
      added[0]!.connected = true;
      m.links.stalled('h3');
      expect(added.map((stripe) => stripe.iceRestartsAsked)).toEqual(Array<number>(ADDED).fill(1));
      m.links.dropNegotiating();
      expect(added.map((stripe) => stripe.destroyed)).toEqual([0, ...Array<number>(ADDED - 1).fill(1)]);
      expect(m.links.has('h3')).toBe(true);
      m.links.failed('h3');
      expect(silent.destroyed).toBe(1);
      expect(added[0]!.destroyed).toBe(1);
      expect(m.links.stripesOf('h3')).toBe(0);
    });
  });

  it('close tears everything down and its timers do nothing after', () => {
    const m = manager(['h3']);
    m.links.sync('h2');
    m.last('h3')!.emit('close'); // a relink is pending
    m.links.sync('h2');
    m.links.close();
    expect(m.made.get('h3')!.every((c) => c.destroyed === 1)).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(m.made.get('h3')).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });
});
