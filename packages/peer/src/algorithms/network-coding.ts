import { decodeCodedPayload, encodeCodedPayload, Flags, MalformedMessageError, pipelineVariant, PUBLISHED_VARIANT, recoverCodedPart, type MessageHeader } from '@cubecast/protocol';
import { HOLD, type AlgorithmFactory, type AlgorithmMessage, type DataMessage } from '../engine/algorithm.js';
import { BaseAlgorithm } from './base-algorithm.js';

/** The variant coded messages travel as: the channel through the coding SPA's encoder. No subscriber takes it as a chunk. */
export const CODED_VARIANT = pipelineVariant([{ spa: 'coding', config: { mode: 'encode' } }]);

/**
 * iOverlay's network-coding topology (seed 004, Fig. 4) laid on the lowest three dimensions of
 * a 2-ary cube, by a host's id XOR the source's: the butterfly's nine links are cube links.
 * The source splits its stream in two (a: even sequences, b: odd); the coder gets both and
 * its uplink carries only one stream's worth, so it sends a + b; each decoder gets one plain
 * stream directly and a + b through the helper, and recovers the other.
 */
export const BUTTERFLY = {
  source: 0b000,
  relayOfA: 0b001,
  relayOfB: 0b010,
  coder: 0b011,
  helper: 0b111,
  /** Gets a from its relay: recovers b. */
  decoderOfB: 0b101,
  /** Gets b from its relay: recovers a. */
  decoderOfA: 0b110,
} as const;

type Stream = 'a' | 'b' | 'coded';

/** Where each role sends each stream on (the coder codes instead, while coding is on). */
const NEXT: ReadonlyMap<number, Partial<Record<Stream, readonly number[]>>> = new Map([
  [BUTTERFLY.source, { a: [BUTTERFLY.relayOfA], b: [BUTTERFLY.relayOfB] }],
  [BUTTERFLY.relayOfA, { a: [BUTTERFLY.coder, BUTTERFLY.decoderOfB] }],
  [BUTTERFLY.relayOfB, { b: [BUTTERFLY.coder, BUTTERFLY.decoderOfA] }],
  [BUTTERFLY.coder, { a: [BUTTERFLY.helper], b: [BUTTERFLY.helper] }],
  [BUTTERFLY.helper, { a: [BUTTERFLY.decoderOfB, BUTTERFLY.decoderOfA], b: [BUTTERFLY.decoderOfB, BUTTERFLY.decoderOfA], coded: [BUTTERFLY.decoderOfB, BUTTERFLY.decoderOfA] }],
]);

/**
 * How long a held message waits for its partner before it goes on alone (plain) or is dropped
 * (coded): this, or four of the channel's chunk intervals if longer, as a pair's second
 * message leaves the source one chunk after the first (250 ms later for 4 chunks a second).
 */
const PARTNER_WAIT_MS = 250;
/** The wait before a channel's pace is known (one chunk seen): a second may be a slow stream's next. */
const UNPACED_WAIT_MS = 1000;
const FLUSH_EVERY_MS = 50;
/** The engine's own bound on a hold, past any partner wait a live stream calls for. */
const HOLD_MS = 5000;

interface Pending {
  readonly message: DataMessage;
  readonly heldAt: number;
}

/**
 * Network coding as an overlay algorithm, with iOverlay's hold (n-to-m processing): the
 * coder holds each plain message until its partner of the other stream comes, then sends one
 * coded message (GF(2^8), protocol's coded payload) and releases both to its own subscriber;
 * a decoder holds its plain message until the coded one comes (or the other way round),
 * recovers the missing one and hands it to the engine as if it had arrived. A partner that
 * never comes costs only the wait: plain messages then go on alone, coded ones are dropped.
 *
 * The observer's control turns coding off (a = 0: the coder forwards both streams plain, as
 * in the paper's Fig. 4a) and on (a = 1). Messages of the two streams are paired by
 * sequence (2k with 2k + 1) and fragment; a pair whose chunks differ in fragment count goes
 * plain. The recovered message takes the coded one's flags (its A part's): the case study's
 * streams are of equal messages, not video whose frames differ in flags.
 */
export class NetworkCoding extends BaseAlgorithm {
  readonly name = 'coding';
  readonly receivesData = true;
  readonly holdMs = HOLD_MS;
  private readonly pending = new Map<string, Pending>();
  /** Per channel: the smoothed interval between its chunks here, from the latest one seen. */
  private readonly pace = new Map<number, { sequence: number; at: number; intervalMs: number }>();
  private notOnCube = false;

  constructor(private coding = true) {
    super();
  }

  protected handle(message: AlgorithmMessage): void | typeof HOLD {
    switch (message.type) {
      case 'control':
        if (message.a === 0 || message.a === 1) this.coding = message.a === 1;
        return;
      case 'hold:expired':
        for (const [key, { message: held }] of this.pending) if (sameMessage(held.header, message.header)) this.pending.delete(key);
        return;
      case 'timer':
        if (message.name === 'flush') this.flush();
        return;
      case 'data':
        return this.route(message);
      default:
        return;
    }
  }

  private route(message: DataMessage): void | typeof HOLD {
    const { header } = message;
    if (header.destination !== PUBLISHED_VARIANT && header.destination !== CODED_VARIANT) return;
    const roles = this.rolesFor(header.source);
    const stream = streamOf(header);
    if (stream !== 'coded') this.notePace(header);
    let held = false;
    for (const role of roles) {
      if (this.coding && role === BUTTERFLY.coder && stream !== 'coded') held = this.code(message) || held;
      else if (this.coding && (role === BUTTERFLY.decoderOfA || role === BUTTERFLY.decoderOfB)) held = this.decode(message, role === BUTTERFLY.decoderOfB ? 'a' : 'b') || held;
      else this.forward(message, role, stream);
    }
    return held ? HOLD : undefined;
  }

  /** The butterfly roles this host plays for a source: its ids in the source's 3-dimensional subcube. */
  private rolesFor(source: number): number[] {
    const shape = this.context.topology.shape;
    if (!shape) return [];
    if (shape.k !== 2 || shape.n < 3) {
      if (!this.notOnCube) this.context.reportError(new RangeError(`network coding lays its butterfly on a 2-ary cube of 3 or more dimensions, not a ${shape.k}-ary ${shape.n}-cube`));
      this.notOnCube = true;
      return [];
    }
    return shape.ids.map((id) => id ^ source).filter((offset) => offset < 8);
  }

  private forward(message: DataMessage, role: number, stream: Stream): void {
    for (const offset of NEXT.get(role)?.[stream] ?? []) this.sendToRole(message.header.source, offset, message.header, message.payload);
  }

  private sendToRole(source: number, offset: number, header: MessageHeader, payload: Uint8Array): void {
    const hostId = this.context.topology.ownerOf(source ^ offset);
    if (hostId) this.context.send(hostId, header, payload);
  }

  /** The coder: holds a plain message until its partner comes; then codes the pair. Returns whether it held this one. */
  private code(message: DataMessage): boolean {
    const stream = streamOf(message.header) as 'a' | 'b';
    const { header } = message;
    const partnerKey = pendingKey(header, (stream === 'a' ? header.sequence + 1 : header.sequence - 1) >>> 0, 'plain');
    const partner = this.pending.get(partnerKey);
    if (!partner) return this.hold(message, pendingKey(header, header.sequence, 'plain'));
    this.pending.delete(partnerKey);
    const [a, b] = stream === 'a' ? [{ message, heldAt: this.context.now() }, partner] : [partner, { message, heldAt: this.context.now() }];
    if (a.message.header.fragmentCount !== b.message.header.fragmentCount) {
      this.forward(a.message, BUTTERFLY.coder, 'a');
      this.forward(b.message, BUTTERFLY.coder, 'b');
    } else {
      const payload = encodeCodedPayload({ sequence: a.message.header.sequence, payload: a.message.payload }, { sequence: b.message.header.sequence, payload: b.message.payload });
      const header: MessageHeader = { ...this.later(a, b), destination: CODED_VARIANT, sequence: a.message.header.sequence, flags: a.message.header.flags & ~Flags.Repair };
      this.sendToRole(header.source, BUTTERFLY.helper, header, payload);
    }
    this.context.release(partner.message.header);
    return false;
  }

  /** A decoder holding plain stream `kept`: pairs it with the coded message, either order. Returns whether it held this one. */
  private decode(message: DataMessage, kept: 'a' | 'b'): boolean {
    const stream = streamOf(message.header);
    if (stream !== 'coded' && stream !== kept) return false;
    if (stream === kept) {
      const coded = this.pending.get(pendingKey(message.header, message.header.sequence, 'coded'));
      if (!coded) return this.hold(message, pendingKey(message.header, message.header.sequence, 'plain'));
      this.recover(coded, { message, heldAt: this.context.now() }, kept);
      this.context.discard(coded.message.header);
      return false;
    }
    let parts;
    try {
      parts = decodeCodedPayload(message.payload);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      this.context.refused();
      return false;
    }
    const keptSequence = parts[kept].sequence;
    const plain = this.pending.get(pendingKey(message.header, keptSequence, 'plain'));
    if (!plain) return this.hold(message, pendingKey(message.header, keptSequence, 'coded'));
    this.recover({ message, heldAt: this.context.now() }, plain, kept);
    this.context.release(plain.message.header);
    return false;
  }

  /** The other stream's message, from a coded one and the plain one it names, goes on here as if it had arrived. */
  private recover(coded: Pending, plain: Pending, kept: 'a' | 'b'): void {
    const { header: plainHeader } = plain.message;
    this.pending.delete(pendingKey(plainHeader, plainHeader.sequence, 'plain'));
    this.pending.delete(pendingKey(coded.message.header, plainHeader.sequence, 'coded'));
    let parts;
    let payload;
    try {
      parts = decodeCodedPayload(coded.message.payload);
      payload = recoverCodedPart(parts, kept, plain.message.payload);
    } catch (error) {
      if (!(error instanceof MalformedMessageError) && !(error instanceof RangeError)) throw error;
      this.context.refused();
      return;
    }
    const other = kept === 'a' ? parts.b : parts.a;
    const header: MessageHeader = { ...this.later(coded, plain), destination: PUBLISHED_VARIANT, sequence: other.sequence, flags: coded.message.header.flags };
    this.context.accept(header, payload, coded.message.from ?? plain.message.from ?? '');
  }

  /** A header whose latency and hops are the later of two held messages', the time each was held included. */
  private later(x: Pending, y: Pending): MessageHeader {
    const now = this.context.now();
    const latency = (p: Pending) => p.message.header.latencyUs + Math.round((now - p.heldAt) * 1000);
    return { ...x.message.header, latencyUs: Math.max(latency(x), latency(y)), hops: Math.max(x.message.header.hops, y.message.header.hops) };
  }

  private hold(message: DataMessage, key: string): true {
    this.pending.set(key, { message, heldAt: this.context.now() });
    if (!this.context.hasTimer('flush')) this.context.setTimer('flush', FLUSH_EVERY_MS);
    return true;
  }

  private notePace(header: MessageHeader): void {
    const now = this.context.now();
    const pace = this.pace.get(header.channel);
    if (!pace) {
      this.pace.set(header.channel, { sequence: header.sequence, at: now, intervalMs: 0 });
      return;
    }
    const ahead = (header.sequence - pace.sequence) >>> 0;
    if (ahead === 0 || ahead >= 2 ** 31) return;
    const interval = (now - pace.at) / ahead;
    pace.intervalMs = pace.intervalMs === 0 ? interval : pace.intervalMs + (interval - pace.intervalMs) / 8;
    pace.sequence = header.sequence;
    pace.at = now;
  }

  private partnerWaitMs(channel: number): number {
    const intervalMs = this.pace.get(channel)?.intervalMs ?? 0;
    return intervalMs === 0 ? UNPACED_WAIT_MS : Math.max(PARTNER_WAIT_MS, 4 * intervalMs);
  }

  /** Messages whose partner is late: plain ones go on alone, coded ones are dropped. */
  private flush(): void {
    const now = this.context.now();
    for (const [key, { message, heldAt }] of this.pending) {
      if (now - heldAt < this.partnerWaitMs(message.header.channel)) continue;
      this.pending.delete(key);
      if (message.header.destination === CODED_VARIANT) this.context.discard(message.header);
      else this.context.release(message.header);
    }
    if (this.pending.size > 0) this.context.setTimer('flush', FLUSH_EVERY_MS);
  }
}

function streamOf(header: MessageHeader): Stream {
  if (header.destination === CODED_VARIANT) return 'coded';
  return header.sequence % 2 === 0 ? 'a' : 'b';
}

/**
 * Names what is pending by the plain message it pairs with: a plain one by its own sequence,
 * a coded one by the sequence of the plain part its decoder keeps (so either finds the other).
 */
function pendingKey(header: MessageHeader, sequence: number, kind: 'plain' | 'coded'): string {
  return `${header.channel}:${sequence}:${header.fragmentIndex}:${kind}`;
}

function sameMessage(x: MessageHeader, y: MessageHeader): boolean {
  return x.channel === y.channel && x.destination === y.destination && x.sequence === y.sequence && x.fragmentIndex === y.fragmentIndex;
}

export const networkCoding: AlgorithmFactory = () => new NetworkCoding();
