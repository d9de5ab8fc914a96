/**
 * The kit's seat at the server's observer feed (socket.io, `/observer`): the overlay as the
 * server sees it (snapshot plus deltas), its events, and the controls an admin token allows.
 */
import { applyObserverDelta, errorFromAck, type Ack, type ObserverClientEvents, type ObserverDelta, type ObserverEvent, type ObserverServerEvents, type ObserverSnapshot } from '@cubecast/protocol';
import { io, type Socket } from 'socket.io-client';

const CONTROL_TIMEOUT_MS = 10_000;

type ControlEvent = keyof ObserverClientEvents;
type ControlPayload<E extends ControlEvent> = Parameters<ObserverClientEvents[E]>[0];

export class ObserverConnection {
  /** The overlay as last reported (undefined until the first snapshot). */
  current: ObserverSnapshot | undefined;
  private readonly socket: Socket<ObserverServerEvents, ObserverClientEvents>;
  private readonly listeners: ((event: ObserverEvent) => void)[] = [];

  constructor(url: string, options: { room?: string | undefined; token?: string | undefined }) {
    this.socket = io(`${url}/observer`, {
      transports: ['websocket'],
      forceNew: true,
      // The NAT test network's server has a certificate this run made.
      rejectUnauthorized: false,
      auth: { ...(options.room !== undefined && { room: options.room }), ...(options.token !== undefined && { token: options.token }) },
    });
    this.socket.on('observer:snapshot', (snapshot) => (this.current = snapshot));
    this.socket.on('observer:delta', (delta: ObserverDelta) => {
      if (this.current) this.current = applyObserverDelta(this.current, delta);
    });
    this.socket.on('observer:event', (event) => {
      for (const listener of this.listeners) listener(event);
    });
  }

  onEvent(listener: (event: ObserverEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Sends an observer control; resolves to its answer, or throws the server's refusal as its error class. */
  async control<E extends ControlEvent>(event: E, payload: ControlPayload<E>): Promise<Ack> {
    const timed = this.socket.timeout(CONTROL_TIMEOUT_MS) as unknown as { emitWithAck(event: E, payload: ControlPayload<E>): Promise<Ack> };
    const ack = await timed.emitWithAck(event, payload);
    if (!ack.ok) throw errorFromAck(ack);
    return ack;
  }

  close(): void {
    this.socket.close();
  }
}
