import type { ObserverClientEvents, ObserverDelta, ObserverEvent, ObserverServerEvents, ObserverSnapshot } from '@cubecast/protocol';
import { useCallback, useEffect, useRef, useState } from 'react';
import { io, type Socket } from 'socket.io-client';
import { ObserverModel } from './observer-model.js';

export type FeedStatus = 'connecting' | 'live' | 'refused' | 'disconnected';
export type ControlEvent = keyof ObserverClientEvents;
export type ControlPayload<E extends ControlEvent> = Parameters<ObserverClientEvents[E]>[0];

/** A control's answer: the server's (its result, or its refusal), or why none came. */
export type ControlResult = ({ readonly ok: true } & Record<string, unknown>) | { readonly ok: false; readonly code: string; readonly message: string };

/** How long a control waits for the server's answer before saying it got none. */
const CONTROL_TIMEOUT_MS = 8000;

/**
 * The page's connection to the observer feed of a room: the model it keeps current, a
 * version that changes (at most once a frame) when the model did, the feed's status, and
 * the controls. A new token reconnects: the server grants controls at connection.
 */
export function useObserverFeed(room: string | undefined, token: string) {
  const model = useRef(new ObserverModel(room ?? 'default'));
  const socket = useRef<Socket<ObserverServerEvents, ObserverClientEvents> | undefined>(undefined);
  const [version, setVersion] = useState(0);
  const [status, setStatus] = useState<FeedStatus>('connecting');
  const [refusal, setRefusal] = useState<string | undefined>(undefined);

  useEffect(() => {
    let frame: number | undefined;
    // Deltas can come several a frame with a thousand hosts: one render per frame carries them all.
    const changed = () => {
      frame ??= requestAnimationFrame(() => {
        frame = undefined;
        setVersion((v) => v + 1);
      });
    };
    setStatus('connecting');
    setRefusal(undefined);
    const s: Socket<ObserverServerEvents, ObserverClientEvents> = io('/observer', {
      transports: ['websocket'],
      auth: { ...(room !== undefined && { room }), ...(token !== '' && { token }) },
    });
    socket.current = s;
    s.on('observer:snapshot', (snapshot: ObserverSnapshot) => {
      model.current.snapshot(snapshot);
      setStatus('live');
      changed();
    });
    s.on('observer:delta', (delta: ObserverDelta) => {
      model.current.delta(delta);
      changed();
    });
    s.on('observer:event', (event: ObserverEvent) => {
      model.current.event(event);
      changed();
    });
    s.on('disconnect', () => setStatus('disconnected'));
    s.on('connect_error', (error: Error & { data?: unknown }) => {
      // A refusal by the server's middleware is final for this token (socket.io does not retry it).
      if (!s.active) {
        setStatus('refused');
        setRefusal(error.message);
      } else setStatus('disconnected');
    });
    return () => {
      if (frame !== undefined) cancelAnimationFrame(frame);
      s.disconnect();
    };
  }, [room, token]);

  const control = useCallback(async <E extends ControlEvent>(event: E, payload: ControlPayload<E>): Promise<ControlResult> => {
    const s = socket.current;
    if (!s?.connected) return { ok: false, code: 'NOT_CONNECTED', message: 'not connected to the server: wait for the feed to come back' };
    try {
      const timed = s.timeout(CONTROL_TIMEOUT_MS) as unknown as { emitWithAck(event: string, payload: unknown): Promise<ControlResult> };
      return await timed.emitWithAck(event, payload);
    } catch {
      return { ok: false, code: 'TIMEOUT', message: `the server did not answer within ${CONTROL_TIMEOUT_MS / 1000} s` };
    }
  }, []);

  return { model: model.current, version, status, refusal, control };
}
