import { ERROR_CODES } from '@cubecast/protocol';
import { z } from 'zod';
import { decodeVersionedJson } from '../versioned-json.js';

/**
 * What server nodes say to each other over Redis pub/sub: a gateway's requests to a room's
 * owner and the owner's answers, leaves, and what the owner sends the gateway's sockets. One
 * JSON envelope per publish carries every message for one node from one event-loop turn.
 * docs/protocol.md ("Node bus") describes each message.
 */
export const BUS_VERSION = 1;

/** The largest envelope a node reads (a burst of joins answered in one turn stays far below). */
export const MAX_BUS_ENVELOPE_BYTES = 16 * 1024 * 1024;

/** An envelope that is not one of this version's. */
export class BusMessageError extends Error {
  override readonly name = 'BusMessageError';
}

const room = z.string().min(1).max(64);
const fence = z.number().int().positive();
const connection = z.string().min(1).max(64);

const messageSchema = z.discriminatedUnion('t', [
  /** Gateway to owner: a room request (room-request.ts), answered by `res` with the same id. */
  z.strictObject({ t: z.literal('req'), id: z.number().int().nonnegative(), room, request: z.object({ kind: z.string() }).passthrough() }),
  /** Owner to gateway: the answer. `moved`: this node does not own the room (ask its owner). */
  z.strictObject({
    t: z.literal('res'),
    id: z.number().int().nonnegative(),
    ok: z.boolean(),
    result: z.unknown().optional(),
    code: z.enum(ERROR_CODES).optional(),
    message: z.string().optional(),
    moved: z.literal(true).optional(),
  }),
  /** Gateway to owner: a host's socket closed. */
  z.strictObject({ t: z.literal('leave'), room, hostId: z.string().min(1).max(64), reason: z.enum(['leave', 'disconnect', 'failure', 'killed']), connection: connection.optional() }),
  /** Owner to gateway: an event for one socket, for every host socket of the room, a socket to close, a message for the room's observers. */
  z.strictObject({ t: z.literal('host'), room, fence, connection, event: z.string(), args: z.array(z.unknown()) }),
  z.strictObject({ t: z.literal('hosts'), room, fence, event: z.string(), args: z.array(z.unknown()) }),
  z.strictObject({ t: z.literal('drop'), room, fence, connection }),
  z.strictObject({ t: z.literal('observers'), room, fence, event: z.enum(['observer:delta', 'observer:event', 'observer:snapshot']), payload: z.unknown() }),
]);

export type BusMessage = z.infer<typeof messageSchema>;

const envelopeSchema = z.strictObject({ v: z.literal(BUS_VERSION), from: z.string().min(1).max(200), messages: z.array(messageSchema).min(1) });

export type BusEnvelope = z.infer<typeof envelopeSchema>;

export function encodeBusEnvelope(from: string, messages: readonly BusMessage[]): string {
  return JSON.stringify({ v: BUS_VERSION, from, messages });
}

export function decodeBusEnvelope(text: string): BusEnvelope {
  return decodeVersionedJson(text, { what: 'a bus envelope', version: BUS_VERSION, maxBytes: MAX_BUS_ENVELOPE_BYTES, schema: envelopeSchema }, (message) => new BusMessageError(message));
}
