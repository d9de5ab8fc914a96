import { LINK_CHANNELS, RELIABLE_LANE } from '@cubecast/protocol';
import { LeakyBufferedAmount } from './buffered-amount.js';

/** What a stripe needs of a data channel (RTCDataChannel has it). */
export interface StripeChannel {
  readonly readyState: string;
  readonly bufferedAmount: number;
  send(bytes: Uint8Array<ArrayBuffer>): void;
  close(): void;
}

/**
 * A link's channels in stripes: each stripe is one peer connection's LINK_CHANNELS, so each
 * has an SCTP association of its own, with its own congestion window and timers.
 *
 * Why: under loss, Chromium's SCTP stalls the whole association (its delayed acknowledgements
 * and doubling retransmission timeout are not a page's to set), whatever lane the data is on.
 * Timely data taken in turn over four associations keeps flowing on the others while one
 * stalls, and each FEC block spans all four, so repairs on one stand in for what another
 * holds back. At 10% loss over 4 hops, one association kept 80% of the frames decodable with
 * stalls to 0.54 s, four kept 92.8% with stalls to 0.48 s (docs/benchmarks.md, Stripes).
 *
 * Control and in-order data stay on stripe 0's reliable lane: one order, as before. Stripe 0
 * is the link: it opens and closes it. A later stripe that closes or fails is dropped, and
 * its share goes to the others.
 */
export class LinkStripes<C extends StripeChannel> {
  private readonly stripes: C[][];
  private readonly dropped = new Set<number>();
  /** Per stripe: the reliable lane's bufferedAmount is true; the others' count what SCTP abandoned. */
  private readonly backlogs: { readonly channel: C; readonly leaky?: LeakyBufferedAmount }[][];
  private turn = 0;

  constructor(
    channels: readonly C[],
    now: number,
    private readonly lanes = LINK_CHANNELS.length,
  ) {
    if (channels.length === 0 || channels.length % lanes !== 0) {
      throw new RangeError(`a link's channels come in stripes of ${lanes}, not ${channels.length}`);
    }
    this.stripes = Array.from({ length: channels.length / lanes }, (_, stripe) => channels.slice(stripe * lanes, (stripe + 1) * lanes));
    this.backlogs = this.stripes.map((stripe) =>
      stripe.map((channel, lane) => (lane === RELIABLE_LANE ? { channel } : { channel, leaky: new LeakyBufferedAmount(() => channel.bufferedAmount, now) })),
    );
  }

  get stripeCount(): number {
    return this.stripes.length;
  }

  /** The lane of the channel at `index` of the channels as given. */
  laneOf(index: number): number {
    return index % this.lanes;
  }

  /** The stripe of the channel at `index`. */
  stripeOf(index: number): number {
    return Math.floor(index / this.lanes);
  }

  /** Whether the link can carry data: every channel of stripe 0 is open. */
  get open(): boolean {
    return this.stripes[0]!.every((channel) => channel.readyState === 'open');
  }

  /**
   * The channel a message on `lane` goes on: the reliable lane's on stripe 0; any other lane's
   * on the next stripe in turn whose channel is open, stripe 0's if none is.
   */
  channelFor(lane: number): C {
    if (lane === RELIABLE_LANE || this.stripes.length === 1) return this.stripes[0]![lane]!;
    for (let tries = 0; tries < this.stripes.length; tries++) {
      const stripe = this.turn++ % this.stripes.length;
      const channel = this.stripes[stripe]![lane]!;
      if (!this.dropped.has(stripe) && channel.readyState === 'open') return channel;
    }
    return this.stripes[0]![lane]!;
  }

  /**
   * The channel at `index` closed or failed. Returns whether the link is lost with it (a
   * channel of stripe 0); a later stripe is dropped, and closed.
   */
  channelLost(index: number): boolean {
    const stripe = this.stripeOf(index);
    if (stripe === 0) return true;
    if (!this.dropped.has(stripe)) {
      this.dropped.add(stripe);
      for (const channel of this.stripes[stripe]!) channel.close();
    }
    return false;
  }

  /** Bytes waiting to be sent, over every stripe still used. */
  bufferedAmount(now: number): number {
    let total = 0;
    for (const [stripe, lanes] of this.backlogs.entries()) {
      if (this.dropped.has(stripe)) continue;
      for (const { channel, leaky } of lanes) total += leaky ? leaky.backlog(now) : channel.bufferedAmount;
    }
    return total;
  }

  close(): void {
    for (const stripe of this.stripes) for (const channel of stripe) channel.close();
  }
}
