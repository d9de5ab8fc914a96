import { encode, MessageType, NO_DESTINATION, UNRETRANSMITTED_LANE, type DecodedMessage, type MessageHeader } from '@cubecast/protocol';
import type { Link } from './link.js';

type Position = readonly [number, number];

export interface LinkMonitorOptions {
  readonly now: () => number;
  /** Silence after which a link stalls: routes go around it while its connection tries to mend. */
  readonly stallAfterMs: number;
  /** Silence after which a stalled link is given up. */
  readonly failAfterMs: number;
  /** A link went silent: the switch stops routing over it and says so. */
  stall(link: Link, reason: string): void;
  /** A stalled link stayed silent: the switch tears it down and says so. */
  fail(link: Link, reason: string): void;
}

const POSITION_BYTES = 9;
const PAYLOAD_BYTES = POSITION_BYTES + 6;
const LOSS_SCALE = 0xffff;

/**
 * Liveness and measurement of the links: pings out, pongs back, each carrying the sender's
 * emulated position so both ends apply the same emulated distance, and the counts each end
 * needs to measure loss both ways (link.ts); silence past one limit
 * stalls the link, past a longer one fails it. The links keep what is measured (RTT, the
 * peer's position, when they last heard); this decides when to ask and what a reply means.
 */
export class LinkMonitor {
  private nonce = 0;
  private position: Position | undefined;

  constructor(private readonly options: LinkMonitorOptions) {}

  /** This host's emulated position, sent with every ping and pong from now on. */
  setPosition(position: Position | undefined, links: Iterable<Link>): void {
    this.position = position;
    for (const link of links) link.updateDelay(position);
  }

  /**
   * One round: open links silent too long stall, stalled ones silent for longer fail, the
   * others are pinged. Stalled links are pinged too: a pong is how one finds out it mended.
   */
  tick(links: Iterable<Link>): void {
    const now = this.options.now();
    for (const link of links) {
      if (link.state !== 'open' && link.state !== 'stalled') continue;
      const silence = link.silentFor(now);
      const reason = `silent for ${Math.round(silence)} ms`;
      if (silence > this.options.failAfterMs) this.options.fail(link, reason);
      else if (link.state === 'open' && silence > this.options.stallAfterMs) this.options.stall(link, reason);
      else this.ping(link);
    }
  }

  ping(link: Link): void {
    const nonce = (this.nonce = (this.nonce + 1) >>> 0);
    const now = this.options.now();
    link.notePingSent(nonce, now);
    link.toWire(encode(this.header(MessageType.Ping, nonce), this.payload(link)), now, UNRETRANSMITTED_LANE);
  }

  /** A ping or pong from the link's host. */
  receive(link: Link, message: DecodedMessage): void {
    // Position first: if it changed the delay, pings in flight measured the old one.
    this.notePeer(link, message.payload);
    if (message.type === MessageType.Ping) link.toWire(encode(this.header(MessageType.Pong, message.sequence), this.payload(link)), this.options.now(), UNRETRANSMITTED_LANE);
    else if (message.type === MessageType.Pong) link.notePong(message.sequence, this.options.now());
  }

  private header(type: MessageType, sequence: number): MessageHeader {
    return { type, flags: 0, hops: 0, channel: 0, sequence, source: 0, destination: NO_DESTINATION, latencyUs: 0, fragmentIndex: 0, fragmentCount: 1 };
  }

  /**
   * Ping and pong payloads: u8 has-position, f32 x, f32 y, u32 messages this end has sent on
   * the unretransmitted lane, u16 the share (of 65535) of the peer's messages there lost.
   */
  private payload(link: Link): Uint8Array {
    const out = new Uint8Array(PAYLOAD_BYTES);
    const view = new DataView(out.buffer);
    if (this.position) {
      view.setUint8(0, 1);
      view.setFloat32(1, this.position[0]);
      view.setFloat32(5, this.position[1]);
    }
    view.setUint32(9, link.unretransmittedSent >>> 0);
    view.setUint16(13, Math.round(link.inboundLoss * LOSS_SCALE));
    return out;
  }

  private notePeer(link: Link, payload: Uint8Array): void {
    if (payload.byteLength < PAYLOAD_BYTES) return;
    const view = new DataView(payload.buffer, payload.byteOffset, PAYLOAD_BYTES);
    link.notePeerPosition(view.getUint8(0) === 1 ? [view.getFloat32(1), view.getFloat32(5)] : undefined, this.position);
    // An overtaken ping's measure is older than the one already taken.
    if (link.notePeerSent(view.getUint32(9))) link.noteOutboundLoss(view.getUint16(13) / LOSS_SCALE);
  }
}
