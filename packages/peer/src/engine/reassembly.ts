import type { MessageHeader } from '@cubecast/protocol';
import type { DeliveredChunk } from './types.js';

interface Partial {
  readonly parts: (Uint8Array | undefined)[];
  received: number;
  bytes: number;
  latencyUs: number;
  hops: number;
  readonly flags: number;
  readonly firstAt: number;
}

/** Names one chunk of one variant (a data header's destination) of a channel: its fragments share it. */
export function chunkKey(header: Pick<MessageHeader, 'channel' | 'destination' | 'sequence'>): string {
  return `${header.channel}:${header.destination}:${header.sequence}`;
}

/** Incomplete chunks older than this are given up on (a fragment was lost). */
const GIVE_UP_MS = 3000;
/**
 * Incomplete chunks held at once: a second of video has a few, and a peer that sends first
 * fragments of chunks it never finishes must not make this host hold 256 parts for each.
 */
const MAX_PARTIAL_CHUNKS = 64;

/**
 * Puts fragmented chunks back together at a subscriber, or for a branch point's pipeline
 * (relays forward fragments as they come). Data messages carry their variant in `destination`.
 * A chunk's latency is that of its last fragment: when the whole chunk was there.
 */
export class Reassembler {
  private readonly partial = new Map<string, Partial>();

  add(message: MessageHeader, payload: Uint8Array, now: number): DeliveredChunk | undefined {
    if (message.fragmentCount === 1) {
      return {
        channel: message.channel,
        variant: message.destination,
        sequence: message.sequence,
        flags: message.flags,
        payload: payload.slice(),
        latencyUs: message.latencyUs,
        hops: message.hops,
      };
    }
    const key = chunkKey(message);
    let entry = this.partial.get(key);
    if (!entry) {
      // The oldest incomplete chunk is the likeliest to have lost a fragment for good.
      if (this.partial.size >= MAX_PARTIAL_CHUNKS) this.partial.delete(this.partial.keys().next().value!);
      entry = { parts: new Array(message.fragmentCount), received: 0, bytes: 0, latencyUs: 0, hops: 0, flags: message.flags, firstAt: now };
      this.partial.set(key, entry);
    }
    if (entry.parts.length !== message.fragmentCount || entry.parts[message.fragmentIndex]) return undefined;
    entry.parts[message.fragmentIndex] = payload.slice();
    entry.received++;
    entry.bytes += payload.byteLength;
    entry.latencyUs = Math.max(entry.latencyUs, message.latencyUs);
    entry.hops = Math.max(entry.hops, message.hops);
    if (entry.received < entry.parts.length) return undefined;
    this.partial.delete(key);
    const whole = new Uint8Array(entry.bytes);
    let offset = 0;
    for (const part of entry.parts) {
      whole.set(part!, offset);
      offset += part!.byteLength;
    }
    return { channel: message.channel, variant: message.destination, sequence: message.sequence, flags: entry.flags, payload: whole, latencyUs: entry.latencyUs, hops: entry.hops };
  }

  /** Incomplete chunks held now. */
  get size(): number {
    return this.partial.size;
  }

  expire(now: number): void {
    for (const [key, entry] of this.partial) if (now - entry.firstAt > GIVE_UP_MS) this.partial.delete(key);
  }
}
