import { MalformedMessageError, MAX_ALGORITHM_PAYLOAD_BYTES } from '@cubecast/protocol';
import type { z } from 'zod';

type WithoutVersion<T> = T extends unknown ? Omit<T, 'v'> : never;

/**
 * An algorithm's own messages (data-plane type 8 payloads) as versioned UTF-8 JSON: `v` is
 * the version, the schema (strict objects, each with `v`) the limits. Encoding refuses what
 * would not fit a type 8 payload; decoding refuses anything the schema does not take, in one
 * MalformedMessageError (the engine counts it with the malformed).
 */
export function jsonMessages<Schema extends z.ZodType<{ v: number }>>(schema: Schema, version: number) {
  type Message = WithoutVersion<z.infer<Schema>>;
  return {
    encode(message: Message): Uint8Array {
      const bytes = new TextEncoder().encode(JSON.stringify({ v: version, ...message }));
      if (bytes.byteLength > MAX_ALGORITHM_PAYLOAD_BYTES) throw new RangeError(`an algorithm's message is at most ${MAX_ALGORITHM_PAYLOAD_BYTES} bytes, not ${bytes.byteLength}`);
      return bytes;
    },
    decode(payload: Uint8Array): Message {
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
      } catch {
        throw new MalformedMessageError('an algorithm message is UTF-8 JSON');
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) throw new MalformedMessageError(`not a message of this algorithm: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      const { v: _version, ...message } = parsed.data;
      return message as Message;
    },
    /** Decodes, or (a peer's bad bytes) counts it refused and gives undefined. */
    read(payload: Uint8Array, refused: () => void): Message | undefined {
      try {
        return this.decode(payload);
      } catch (error) {
        if (!(error instanceof MalformedMessageError)) throw error;
        refused();
        return undefined;
      }
    },
  };
}
