import { errorFromAck } from './errors.js';
import type { Ack, ClientToServerEvents } from './signaling.js';

/** The ok ack of a client-to-server event. */
export type AckResult<E extends keyof ClientToServerEvents> = Extract<Parameters<Parameters<ClientToServerEvents[E]>[1]>[0], { ok: true }>;

/** What `request` needs of a socket.io client socket (kept structural: no dependency here). */
export interface AckingSocket {
  timeout(ms: number): unknown;
}

/**
 * Sends a client-to-server event and resolves to its ack; a refusal rejects with the error
 * class of its code, a silent server with socket.io's timeout error.
 */
export async function request<E extends keyof ClientToServerEvents>(
  socket: AckingSocket,
  event: E,
  payload: Parameters<ClientToServerEvents[E]>[0],
  timeoutMs = 10_000,
): Promise<AckResult<E>> {
  // emitWithAck's overloads cannot follow a generic event name; the event map types the rest.
  const sender = socket.timeout(timeoutMs) as { emitWithAck(event: string, payload: unknown): Promise<Ack> };
  const ack = await sender.emitWithAck(event, payload);
  if (!ack.ok) throw errorFromAck(ack);
  return ack as AckResult<E>;
}
