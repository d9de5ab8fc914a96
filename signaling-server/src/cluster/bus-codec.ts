import { ERROR_CODES } from '@cubecast/protocol';
import { z } from 'zod';
import { decodeVersionedJson } from '../versioned-json.js';

/**
 * What server nodes say to each other over Redis pub/sub: a gateway's requests to a room's
 * owner and the owner's answers, leaves, and what the owner sends the gateway's sockets. One
 * JSON envelope per publish carries the messages for one node from one event-loop turn (in
 * several envelopes past BUS_ENVELOPE_TARGET_LENGTH).
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

/**
 * How long an envelope a node publishes gets before the next message goes into another: a
 * re-embedding sends a full state to every host, 18 MB to each gateway at 59050 hosts, which in one
 * envelope would be over the read limit and refused whole. In pieces of 1 MiB the gateway
 * handles one piece per Redis message, and Redis's output buffer for the gateway's pub/sub
 * connection (`client-output-buffer-limit pubsub`, 32 MB hard, 8 MB soft) fills in steps.
 */
export const BUS_ENVELOPE_TARGET_LENGTH = 1024 * 1024;

export interface EncodedEnvelopes {
  /** In order: read one after another, they give the messages in the order they were given. */
  readonly envelopes: string[];
  /** Messages no envelope can carry (each alone over the read limit): not sent. */
  readonly oversized: { readonly message: BusMessage; readonly length: number }[];
}

/**
 * Messages from `from` as envelopes of at most `targetLength` characters each, besides one
 * message that alone is longer (up to the read limit), which goes in an envelope of its own.
 */
export function encodeBusEnvelopes(from: string, messages: readonly BusMessage[], targetLength = BUS_ENVELOPE_TARGET_LENGTH): EncodedEnvelopes {
  const head = `{"v":${BUS_VERSION},"from":${JSON.stringify(from)},"messages":[`;
  const tail = ']}';
  const envelopes: string[] = [];
  const oversized: EncodedEnvelopes['oversized'][number][] = [];
  let parts: string[] = [];
  let length = head.length + tail.length;
  const close = () => {
    if (parts.length > 0) envelopes.push(head + parts.join(',') + tail);
    parts = [];
    length = head.length + tail.length;
  };
  for (const message of messages) {
    const text = JSON.stringify(message);
    if (head.length + text.length + tail.length > MAX_BUS_ENVELOPE_BYTES) {
      oversized.push({ message, length: text.length });
      continue;
    }
    if (parts.length > 0 && length + 1 + text.length > targetLength) close();
    length += text.length + (parts.length > 0 ? 1 : 0);
    parts.push(text);
  }
  close();
  return { envelopes, oversized };
}

export function decodeBusEnvelope(text: string): BusEnvelope {
  return decodeVersionedJson(text, { what: 'a bus envelope', version: BUS_VERSION, maxBytes: MAX_BUS_ENVELOPE_BYTES, schema: envelopeSchema }, (message) => new BusMessageError(message));
}
