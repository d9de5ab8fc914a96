import { CubecastPeer, type PeerSnapshot } from '@cubecast/peer';
import EngineWorker from '@cubecast/peer/engine.worker?worker';
import type { Emulation } from '@cubecast/protocol';
import { useEffect, useState } from 'react';
import { readableSpaText } from './pipelines.js';
import { SPA_RESOURCES } from './spa-resources.js';

declare global {
  interface Window {
    /** A read-only snapshot of this tab's host, kept current (tests read it). */
    cubecast?: Readonly<PeerSnapshot>;
    /** Diagnostics, only with `?debug` in the URL: raw bytes onto the link to a neighbour. */
    cubecastDebug?: { sendRaw(hostId: string, bytes: number[]): void };
  }
}

/** One peer per page, joined on mount and closed on unmount; its snapshot as state. */
export function usePeer(options: { emulation?: Emulation; name?: string; room?: string; debug?: boolean }) {
  const [peer, setPeer] = useState<CubecastPeer | null>(null);
  const [snapshot, setSnapshot] = useState<PeerSnapshot | null>(null);
  const [errors, setErrors] = useState<string[]>([]);
  useEffect(() => {
    const { debug, ...peerOptions } = options;
    const created = new CubecastPeer({ ...peerOptions, createWorker: () => new EngineWorker(), spaResources: SPA_RESOURCES });
    const publish = (s: PeerSnapshot) => {
      window.cubecast = Object.freeze(s);
      setSnapshot(s);
    };
    created.on('snapshot:changed', publish);
    created.on('error:raised', ({ message }) => setErrors((e) => [...e.slice(-4), message]));
    created.on('subscription:waiting', ({ channel, waitMs }) =>
      setErrors((e) => [...e.slice(-4), `The publisher of ${channel} lost its connection: waiting up to ${waitMs / 1000} s for it to come back.`]),
    );
    created.on('subscription:ended', ({ channel, reason }) => setErrors((e) => [...e.slice(-4), `Your subscription to ${channel} ended: ${reason}.`]));
    created.on('link:failed', ({ hostId, reason }) => setErrors((e) => [...e.slice(-4), `Link to ${hostId} failed (${reason}); re-linking.`]));
    created.on('spa:failed', ({ channel, pipeline, host, message }) =>
      setErrors((e) => [...e.slice(-4), readableSpaText(`The ${pipeline.join(' > ')} pipeline of your ${channel} subscription was stopped on ${host}: ${message}. Nothing more arrives on it; unsubscribe and pick another pipeline.`)]),
    );
    if (debug) window.cubecastDebug = { sendRaw: (hostId, bytes) => created.debugSendRaw(hostId, new Uint8Array(bytes)) };
    publish(created.snapshot());
    setPeer(created);
    return () => created.close();
    // The peer lives as long as the page: options are read once, from the URL.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return { peer, snapshot, errors, dismiss: (i: number) => setErrors((e) => e.filter((_, j) => j !== i)) };
}
