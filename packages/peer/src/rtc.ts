import type { IceConfiguration } from '@cubecast/protocol';
import type { StatsEntry } from './link-route.js';

/** The server's ICE configuration as RTCPeerConnection takes it (mutable arrays). */
export function rtcConfiguration(ice: IceConfiguration): RTCConfiguration {
  return { iceServers: ice.iceServers.map((server) => ({ ...server, urls: [server.urls].flat() })), iceTransportPolicy: ice.iceTransportPolicy };
}

/** A connection's getStats() entries, for selectedRoute and linkFailure. */
export async function readStats(pc: Pick<RTCPeerConnection, 'getStats'>): Promise<StatsEntry[]> {
  const entries: StatsEntry[] = [];
  // forEach: not every DOM lib types RTCStatsReport as iterable.
  (await pc.getStats()).forEach((entry: StatsEntry) => entries.push(entry));
  return entries;
}
