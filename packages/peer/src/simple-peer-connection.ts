import './node-shims.js';
import { DATA_CHANNEL, type SignalData } from '@cubecast/protocol';
import SimplePeer from 'simple-peer';
import type { CreateConnection, LinkConnection } from './link-manager.js';
import { linkFailure, selectedRoute, type IceServerError } from './link-route.js';
import { readStats, rtcConfiguration } from './rtc.js';

/**
 * How long a connection may stay `disconnected` before it restarts ICE. Chromium says
 * `disconnected` once consent checks go unanswered for a few seconds, and a blip mends itself;
 * one that lasts needs new candidates (a changed network, a NAT that dropped its mapping).
 */
const ICE_RESTART_AFTER_MS = 1000;

/**
 * A link's connection: simple-peer over an RTCPeerConnection made with the server's ICE
 * servers, its negotiated data channel, its route (getStats), and ICE restarts. simple-peer
 * closes a connection whose ICE `failed`; before that, at `disconnected`, this restarts ICE:
 * the offering side makes an offer with new credentials (`restartIce()` then `negotiate()`),
 * the other side asks it to (simple-peer's `renegotiate` signal), and the link carries on
 * over whatever pair works now.
 */
export const createSimplePeerConnection: CreateConnection = (initiator, ice) => {
  const peer = new SimplePeer({ initiator, trickle: true, config: rtcConfiguration(ice) });
  // simple-peer has no public handle on its RTCPeerConnection; the negotiated channel must be
  // created on it and transferred in this same task.
  const pc = (peer as unknown as { _pc: RTCPeerConnection })._pc;
  const negotiate = () => (peer as unknown as { negotiate(): void }).negotiate();
  const iceErrors: IceServerError[] = [];
  pc.addEventListener('icecandidateerror', (event) => {
    const { url, errorCode } = event as RTCPeerConnectionIceErrorEvent;
    if (iceErrors.length < 32) iceErrors.push({ url, errorCode });
  });
  let restarts = 0;
  let restartTimer: ReturnType<typeof setTimeout> | undefined;
  const restart = () => {
    restartTimer = undefined;
    if (peer.destroyed || pc.iceConnectionState !== 'disconnected') return;
    restarts++;
    pc.restartIce();
    negotiate();
  };
  pc.addEventListener('iceconnectionstatechange', () => {
    if (pc.iceConnectionState === 'disconnected') restartTimer ??= setTimeout(restart, ICE_RESTART_AFTER_MS);
    else {
      clearTimeout(restartTimer);
      restartTimer = undefined;
    }
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
      clearTimeout(restartTimer);
      peer.destroy();
    },
  };
  const { label, ...init } = DATA_CHANNEL;
  return {
    connection,
    channel: pc.createDataChannel(label, init),
    route: () => readStats(pc).then(selectedRoute),
    iceRestarts: () => restarts,
    failure: () => readStats(pc).then((entries) => linkFailure(iceErrors, entries, ice.iceServers.length)),
  };
};
