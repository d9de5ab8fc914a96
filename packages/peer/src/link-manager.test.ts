import type { IceConfiguration, SignalData } from '@cubecast/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { dtlsFingerprint, iceUfrag, LinkManager } from './link-manager.js';
import { FakeConnection } from './testing/fake-connection.js';


const OFFER = { type: 'offer', sdp: 'v=0' } as const;

function manager(wanted: string[]) {
  const want = new Set(wanted);
  const log: string[] = [];
  const made = new Map<string, FakeConnection[]>();
  const sent: [string, SignalData][] = [];
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
    removed: (hostId) => log.push(`remove ${hostId}`),
    signal: (hostId, data) => sent.push([hostId, data]),
    wanted: () => want,
    changed: () => changes++,
    connectTimeoutMs: 10_000,
    relinkBackoffMs: 1500,
  });
  const last = (hostId: string) => made.get(hostId)?.at(-1);
  return { links, want, log, made, sent, last, iceUsed, current, changes: () => changes };
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
