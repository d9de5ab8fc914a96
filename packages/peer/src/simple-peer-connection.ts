import './node-shims.js';
import { LINK_CHANNELS, type SignalData } from '@cubecast/protocol';
import SimplePeer from 'simple-peer';
import { iceUfrag, type CreateConnection, type LinkConnection } from './link-manager.js';
import { linkFailure, selectedRoute, type IceServerError } from './link-route.js';
import { readStats, rtcConfiguration } from './rtc.js';

/**
 * A link's connection: simple-peer over an RTCPeerConnection made with the server's ICE
 * servers, its negotiated data channels (one per lane), its route (getStats), and ICE
 * restarts. An ICE restart comes from the offering side (`restartIce()` then `negotiate()`);
 * the other side asks for one (simple-peer's `renegotiate` signal). The DTLS and SCTP
 * sessions, and so the data channels, carry on over whatever pair works after it.
 */
export const createSimplePeerConnection: CreateConnection = (initiator, ice) => {
  const peer = new SimplePeer({ initiator, trickle: true, config: rtcConfiguration(ice) });
  // simple-peer has no public handle on its RTCPeerConnection; the negotiated channels must be
  // created on it and transferred in this same task.
  const pc = (peer as unknown as { _pc: RTCPeerConnection })._pc;
  const negotiate = () => (peer as unknown as { negotiate(): void }).negotiate();
  const iceErrors: IceServerError[] = [];
  pc.addEventListener('icecandidateerror', (event) => {
    const { url, errorCode } = event as RTCPeerConnectionIceErrorEvent;
    if (iceErrors.length < 32) iceErrors.push({ url, errorCode });
  });
  let restarts = 0;
  let ufrag: string | null = null;
  peer.on('signal', (data: SignalData) => {
    const sent = 'sdp' in data && data.sdp ? iceUfrag(data.sdp) : null;
    if (sent === null) return;
    if (ufrag !== null && sent !== ufrag) restarts++;
    ufrag = sent;
  });
  const connection: LinkConnection = {
    get connected() {
      return peer.connected;
    },
    on: (event: 'signal' | 'error' | 'close', listener: (...args: never[]) => void) => peer.on(event, listener as (...args: unknown[]) => void),
    signal(data: SignalData) {
      // The other side asks for a restart: the offer this side makes must carry new credentials.
      if (initiator && 'renegotiate' in data && !peer.destroyed) pc.restartIce();
      peer.signal(data as SimplePeer.SignalData);
    },
    destroy() {
      peer.destroy();
    },
  };
  return {
    connection,
    channels: LINK_CHANNELS.map(({ label, ...init }) => pc.createDataChannel(label, init)),
    route: () => readStats(pc).then(selectedRoute),
    restartIce() {
      if (peer.destroyed) return;
      pc.restartIce();
      negotiate();
    },
    iceRestarts: () => restarts,
    failure: () => readStats(pc).then((entries) => linkFailure(iceErrors, entries, ice.iceServers)),
  };
};
