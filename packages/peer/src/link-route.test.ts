import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { linkFailure, selectedRoute, type CandidateType } from './link-route.js';

/** Stats as Chromium reports them for a connected pair (the fields read, and a few others). */
function chromiumStats(local: CandidateType, remote: CandidateType, extra: { relayProtocol?: string; protocol?: string } = {}) {
  return [
    { id: 'T01', type: 'transport', selectedCandidatePairId: 'CPab', dtlsState: 'connected' },
    { id: 'CPxy', type: 'candidate-pair', localCandidateId: 'Ix', remoteCandidateId: 'Iy', state: 'failed', nominated: false },
    { id: 'CPab', type: 'candidate-pair', localCandidateId: 'Ia', remoteCandidateId: 'Ib', state: 'succeeded', nominated: true, currentRoundTripTime: 0.001 },
    { id: 'Ix', type: 'local-candidate', candidateType: 'host', protocol: 'udp' },
    { id: 'Iy', type: 'remote-candidate', candidateType: 'host', protocol: 'udp' },
    { id: 'Ia', type: 'local-candidate', candidateType: local, protocol: extra.protocol ?? 'udp', ...(extra.relayProtocol !== undefined && { relayProtocol: extra.relayProtocol }) },
    { id: 'Ib', type: 'remote-candidate', candidateType: remote, protocol: extra.protocol ?? 'udp' },
  ];
}

describe('selectedRoute', () => {
  it('reads the pair the transport selected, not another', () => {
    expect(selectedRoute(chromiumStats('srflx', 'host'))).toEqual({ type: 'srflx', local: 'srflx', remote: 'host', protocol: 'udp' });
    expect(selectedRoute(chromiumStats('relay', 'srflx', { relayProtocol: 'tls' }))).toEqual({ type: 'relay', local: 'relay', remote: 'srflx', protocol: 'udp', relayProtocol: 'tls' });
    expect(selectedRoute(chromiumStats('host', 'host', { protocol: 'tcp' }))).toEqual({ type: 'host', local: 'host', remote: 'host', protocol: 'tcp' });
  });

  it('is the most indirect end: relay, then srflx, prflx, host', () => {
    const order: CandidateType[] = ['host', 'prflx', 'srflx', 'relay'];
    fc.assert(
      fc.property(fc.constantFrom(...order), fc.constantFrom(...order), (local, remote) => {
        expect(selectedRoute(chromiumStats(local, remote))!.type).toBe(order[Math.max(order.indexOf(local), order.indexOf(remote))]);
      }),
    );
  });

  it('falls back to the pair marked selected, or the nominated one that succeeded, without a transport entry', () => {
    const withoutTransport = chromiumStats('prflx', 'host').filter((entry) => entry.type !== 'transport');
    expect(selectedRoute(withoutTransport)!.type).toBe('prflx');
    const selected = withoutTransport.map((entry) => (entry.id === 'CPxy' ? { ...entry, selected: true } : entry));
    expect(selectedRoute(selected)!.type).toBe('host');
  });

  it('is null while no pair is selected', () => {
    expect(selectedRoute([])).toBeNull();
    expect(selectedRoute(chromiumStats('host', 'host').map((entry) => (entry.type === 'transport' ? { ...entry, selectedCandidatePairId: '' } : { ...entry, nominated: false })))).toBeNull();
    expect(selectedRoute(chromiumStats('host', 'host').filter((entry) => entry.id !== 'Ib'))).toBeNull();
  });
});

describe('linkFailure', () => {
  const tried = [
    { id: 'L1', type: 'local-candidate', candidateType: 'host' },
    { id: 'R1', type: 'remote-candidate', candidateType: 'host' },
    { id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', state: 'failed' },
    { id: 'P2', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', state: 'failed' },
  ];

  it('says when no STUN or TURN server was configured', () => {
    expect(linkFailure([], tried, [])).toBe('the server hands out no STUN or TURN servers, so only tabs on one network can link (see "Across networks" in docs/deploy.md); none of the 2 candidate pairs got through (all failed)');
  });

  const stun = { urls: 'stun:203.0.113.9:3478' };
  const servers = [stun, { urls: 'turn:203.0.113.1:3478?transport=udp', username: 'u', credential: 'c' }];

  it('puts a TURN server that refused the credentials first, and servers that did not answer', () => {
    const errors = [
      { url: 'turn:203.0.113.1:3478?transport=udp', errorCode: 401 },
      { url: 'stun:203.0.113.9:3478', errorCode: 701 },
      { url: 'stun:203.0.113.9:3478', errorCode: 701 },
    ];
    expect(linkFailure([...errors, { url: 'turn:203.0.113.1:3478?transport=udp', errorCode: 701 }], tried, servers)).toBe('the TURN server refused the credentials (turn:203.0.113.1:3478?transport=udp, error 401); no answer from stun:203.0.113.9:3478; none of the 2 candidate pairs got through (all failed)');
  });

  it('counts a TURN server that gave no relay address and no error as not answering, unless another gave one', () => {
    const turn = { urls: ['turn:203.0.113.1:3478?transport=udp', 'turns:203.0.113.1:5349'], username: 'u', credential: 'c' };
    expect(linkFailure([], tried, [stun, turn])).toBe('no answer from turn:203.0.113.1:3478?transport=udp, turns:203.0.113.1:5349 (a turns: server needs a certificate browsers trust); none of the 2 candidate pairs got through (all failed)');
    expect(linkFailure([{ url: 'turns:203.0.113.1:5349', errorCode: 701 }], tried, [turn])).toBe('no answer from turns:203.0.113.1:5349, turn:203.0.113.1:3478?transport=udp (a turns: server needs a certificate browsers trust); none of the 2 candidate pairs got through (all failed)');
    const relayed = [...tried, { id: 'L2', type: 'local-candidate', candidateType: 'relay' }];
    expect(linkFailure([], relayed, [turn])).toBe('none of the 2 candidate pairs got through (all failed)');
  });

  it('says when the other side sent no candidates, or there was no pair to try, or checks go on', () => {
    expect(linkFailure([], [], [stun])).toBe('no candidates came from the other side');
    expect(linkFailure([], tried.slice(0, 2), [stun])).toBe('no candidate pair to try');
    expect(linkFailure([], [...tried.slice(0, 3), { ...tried[3]!, state: 'in-progress' }], [stun])).toBe('none of the 2 candidate pairs got through (still trying)');
  });
});
