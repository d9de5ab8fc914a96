import { LINK_CHANNELS, RELIABLE_LANE, UNRETRANSMITTED_LANE } from '@cubecast/protocol';
import { LeakyBufferedAmount } from './buffered-amount.js';

/** What a stripe needs of a data channel (RTCDataChannel has it). */
export interface StripeChannel {
  readonly readyState: string;
  readonly bufferedAmount: number;
  send(bytes: Uint8Array<ArrayBuffer>): void;
  close(): void;
}

/** One peer connection's channels, one per lane, as a link uses them. */
export interface Stripe<C extends StripeChannel> {
  readonly channels: readonly C[];
}

interface StripeState<C extends StripeChannel> extends Stripe<C> {
  /** The reliable lane's bufferedAmount is true; the others' count what SCTP abandoned. */
  readonly backlogs: { readonly channel: C; readonly leaky?: LeakyBufferedAmount }[];
}

/** What a stripe's timely lanes hold, less what they never drain below (LeakyBufferedAmount). */
function timelyBacklog<C extends StripeChannel>(stripe: StripeState<C>, now: number): number {
  let total = 0;
  for (const { leaky } of stripe.backlogs) if (leaky) total += leaky.backlog(now);
  return total;
}

/**
 * A link's channels in stripes: each stripe is one peer connection's LINK_CHANNELS, so each
 * has an SCTP association of its own, with its own congestion window and timers.
 *
 * Why: under loss, Chromium's SCTP stalls the whole association (its delayed acknowledgements
 * and doubling retransmission timeout are not a page's to set), whatever lane the data is on.
 * Timely data spread over four associations keeps flowing on the others while one stalls
 * (each message goes on the one that holds the least), and each FEC block spans all four, so
 * repairs on one stand in for what another holds back. At 10% loss over 4 hops, one
 * association kept 72% of the frames decodable, with stalls to 0.58 s and a p99 of 417 ms;
 * four kept every frame, with stalls to 41 ms and a p99 of 21 ms (docs/benchmarks.md,
 * Stripes).
 *
 * The first stripe added is the link's own: it opens and closes the link, and control and
 * in-order data stay on its reliable lane (one order, as before). Stripes added later (a lossy
 * link widened) carry the other lanes' share; one that closes or fails is dropped, and the
 * others take its share.
 */
export class LinkStripes<C extends StripeChannel> {
  /** In use: the link's own first, then those added, less those dropped. */
  private readonly stripes: StripeState<C>[] = [];
  private turn = 0;

  constructor(private readonly lanes = LINK_CHANNELS.length) {}

  /** Takes a stripe's channels (one per lane, in lane order). The first is the link's own. */
  add(channels: readonly C[], now: number): Stripe<C> {
    if (channels.length !== this.lanes) throw new RangeError(`a stripe is ${this.lanes} channels, one per lane, not ${channels.length}`);
    const backlogs = channels.map((channel, lane) =>
      lane === RELIABLE_LANE ? { channel } : { channel, leaky: new LeakyBufferedAmount(() => channel.bufferedAmount, now) },
    );
    const stripe = { channels, backlogs };
    this.stripes.push(stripe);
    return stripe;
  }

  /** Whether the link can carry data: every channel of its own stripe is open. */
  get open(): boolean {
    return this.stripes[0]?.channels.every((channel) => channel.readyState === 'open') ?? false;
  }

  /**
   * The channel a message on `lane` goes on: the reliable lane's on the link's own stripe; any
   * other lane's on the stripe whose timely lanes hold the least backlog, of those whose
   * channel is open (ties in turn, so a frame's messages, sent back to back, spread over them
   * all); the link's own if none is open. A stripe whose association stalls backs up, and is
   * passed over until it drains: the others carry the stream meanwhile.
   */
  channelFor(lane: number, now: number): C {
    const own = this.stripes[0]!.channels[lane]!;
    if (lane === RELIABLE_LANE || this.stripes.length === 1) return own;
    let best: C | undefined;
    let bestBacklog = Infinity;
    let bestIndex = 0;
    for (let tries = 0; tries < this.stripes.length; tries++) {
      const index = (this.turn + tries) % this.stripes.length;
      const stripe = this.stripes[index]!;
      const channel = stripe.channels[lane]!;
      if (channel.readyState !== 'open') continue;
      const backlog = timelyBacklog(stripe, now);
      if (backlog < bestBacklog) [best, bestBacklog, bestIndex] = [channel, backlog, index];
    }
    if (best === undefined) return own;
    this.turn = bestIndex + 1;
    return best;
  }

  /**
   * A channel of `stripe` closed or failed. Returns whether the link is lost with it (its own
   * stripe's); another stripe is dropped, and its channels closed.
   */
  lost(stripe: Stripe<C>): boolean {
    const index = this.stripes.indexOf(stripe as StripeState<C>);
    if (index === 0) return true;
    if (index > 0) {
      this.stripes.splice(index, 1);
      for (const channel of stripe.channels) channel.close();
    }
    return false;
  }

  /**
   * Bytes waiting ahead of the next message: the reliable lanes' as they are (they take no
   * other path), and the timely lanes' as if every stripe held what the clearest open one
   * does. A stalled stripe's backlog gets nothing more (channelFor passes it over) and drains
   * or expires by itself; counted, it would hold back the stripes still flowing. With every
   * stripe backed up, or one stripe, this is the sum.
   */
  bufferedAmount(now: number): number {
    let reliable = 0;
    let timely = 0;
    let clearest = Infinity;
    for (const stripe of this.stripes) {
      for (const { channel, leaky } of stripe.backlogs) if (!leaky) reliable += channel.bufferedAmount;
      const backlog = timelyBacklog(stripe, now);
      timely += backlog;
      // A stripe's channels open together, with its association: one says for all.
      if (stripe.channels[UNRETRANSMITTED_LANE]!.readyState === 'open') clearest = Math.min(clearest, backlog);
    }
    return reliable + (clearest === Infinity ? timely : clearest * this.stripes.length);
  }

  close(): void {
    for (const stripe of this.stripes) for (const channel of stripe.channels) channel.close();
  }
}
