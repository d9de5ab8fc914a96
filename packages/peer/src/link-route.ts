import type { IceServer } from '@cubecast/protocol';
/** An ICE candidate's type: its own address, as a NAT showed it (srflx: by STUN, prflx: by the peer), or a TURN relay. */
export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

/** How a link's packets travel: the selected candidate pair, from the connection's getStats(). */
export interface LinkRoute {
  /** The pair's most indirect end: `relay` if either end relays, then `srflx`, `prflx`, `host`. */
  readonly type: CandidateType;
  readonly local: CandidateType;
  readonly remote: CandidateType;
  /** The transport between the ends: `udp` or `tcp`. */
  readonly protocol: string;
  /** To the TURN server, when this end relays (`udp`, `tcp`, `tls`). */
  readonly relayProtocol?: string;
}

/** The fields of getStats() entries read here; RTCStatsReport's values have them. */
export interface StatsEntry {
  readonly id: string;
  readonly type: string;
  readonly selectedCandidatePairId?: string;
  readonly selected?: boolean;
  readonly nominated?: boolean;
  readonly state?: string;
  readonly localCandidateId?: string;
  readonly remoteCandidateId?: string;
  readonly candidateType?: string;
  readonly protocol?: string;
  readonly relayProtocol?: string;
}

const INDIRECTNESS: readonly CandidateType[] = ['host', 'prflx', 'srflx', 'relay'];
const isCandidateType = (value: unknown): value is CandidateType => INDIRECTNESS.includes(value as CandidateType);

/**
 * The selected candidate pair of a connection's stats, or null while none is selected. The
 * transport names it (`selectedCandidatePairId`); without a transport entry, the pair that
 * says `selected`, else the nominated pair that succeeded.
 */
export function selectedRoute(stats: Iterable<StatsEntry>): LinkRoute | null {
  const byId = new Map<string, StatsEntry>();
  for (const entry of stats) byId.set(entry.id, entry);
  let pair: StatsEntry | undefined;
  for (const entry of byId.values()) {
    if (entry.type === 'transport' && entry.selectedCandidatePairId) pair = byId.get(entry.selectedCandidatePairId);
  }
  pair ??= [...byId.values()].find((entry) => entry.type === 'candidate-pair' && entry.selected === true);
  pair ??= [...byId.values()].find((entry) => entry.type === 'candidate-pair' && entry.nominated === true && entry.state === 'succeeded');
  const local = pair?.localCandidateId === undefined ? undefined : byId.get(pair.localCandidateId);
  const remote = pair?.remoteCandidateId === undefined ? undefined : byId.get(pair.remoteCandidateId);
  if (!local || !remote || !isCandidateType(local.candidateType) || !isCandidateType(remote.candidateType)) return null;
  const type = INDIRECTNESS[Math.max(INDIRECTNESS.indexOf(local.candidateType), INDIRECTNESS.indexOf(remote.candidateType))]!;
  return {
    type,
    local: local.candidateType,
    remote: remote.candidateType,
    protocol: local.protocol ?? remote.protocol ?? 'udp',
    ...(local.candidateType === 'relay' && local.relayProtocol !== undefined && { relayProtocol: local.relayProtocol }),
  };
}

/** An `icecandidateerror` of the connection: a STUN or TURN server that did not serve it. */
export interface IceServerError {
  readonly url: string;
  /** STUN error codes (401: unauthorized), or 701: the server did not answer. */
  readonly errorCode: number;
}

/**
 * Why a link did not connect, in words a person can act on: what the ICE servers said first
 * (a refused TURN credential, a server that did not answer), then what the checks found. A
 * TURN server that gave no relay address and no error has not answered either: Chromium
 * reports an unanswered allocation (701) only after its retransmissions give up, later than
 * a link's connect timeout.
 */
export function linkFailure(errors: readonly IceServerError[], stats: Iterable<StatsEntry>, iceServers: readonly IceServer[]): string {
  const reasons: string[] = [];
  if (iceServers.length === 0) reasons.push('the server hands out no STUN or TURN servers, so only tabs on one network can link (see "Across networks" in docs/deploy.md)');
  const turn = (url: string) => url.startsWith('turn');
  const refused = errors.find((error) => turn(error.url) && (error.errorCode === 401 || error.errorCode === 403 || error.errorCode === 437 || error.errorCode === 438));
  if (refused) reasons.push(`the TURN server refused the credentials (${refused.url}, error ${refused.errorCode})`);
  const entries = [...stats];
  const relayed = entries.some((entry) => entry.type === 'local-candidate' && entry.candidateType === 'relay');
  const silentTurn = relayed ? [] : iceServers.flatMap((server) => [server.urls].flat()).filter((url) => turn(url) && !errors.some((error) => error.url === url));
  const unreachable = [...new Set([...errors.filter((error) => error.errorCode === 701 && error.url !== refused?.url).map((error) => error.url), ...silentTurn])];
  if (unreachable.length > 0) {
    // Chromium checks a turns: server's certificate and says nothing when it refuses one.
    const tlsHint = unreachable.some((url) => url.startsWith('turns:')) ? ' (a turns: server needs a certificate browsers trust)' : '';
    reasons.push(`no answer from ${unreachable.join(', ')}${tlsHint}`);
  }
  const pairs = entries.filter((entry) => entry.type === 'candidate-pair');
  const remote = entries.filter((entry) => entry.type === 'remote-candidate');
  if (remote.length === 0) reasons.push('no candidates came from the other side');
  else if (pairs.length === 0) reasons.push('no candidate pair to try');
  else reasons.push(`none of the ${pairs.length} candidate pairs got through (${pairs.some((pair) => (pair as { state?: string }).state === 'in-progress') ? 'still trying' : 'all failed'})`);
  return reasons.join('; ');
}
