import type { AlgorithmContext, AlgorithmFactory, AlgorithmMessage, OverlayAlgorithm } from '../engine/algorithm.js';

/**
 * Gossip, the tutorial's algorithm (docs/algorithms.md) and iOverlay's "disseminate with
 * probability p": every data message a host publishes or first receives goes on to each
 * linked host but the one it came from, each with probability p. No routes, no server: the
 * engine drops the copies a host has seen, and delivers what arrives to a subscriber here.
 * With p = 1 it floods; with p near 1/degree most messages die out.
 */
export class Gossip implements OverlayAlgorithm {
  readonly name = 'gossip';
  readonly receivesData = true;
  private context!: AlgorithmContext;

  /** `random`: uniform in [0, 1), seeded in tests. */
  constructor(
    private probability: number,
    private readonly random: () => number = Math.random,
  ) {
    if (!(probability >= 0 && probability <= 1)) throw new RangeError(`gossip's probability is 0..1, got ${probability}`);
  }

  start(context: AlgorithmContext): void {
    this.context = context;
  }

  process(message: AlgorithmMessage): void {
    // The observer's control sets p to a / b (0 <= a <= b, b > 0); anything else is ignored.
    if (message.type === 'control' && message.b > 0 && message.a >= 0 && message.a <= message.b) this.probability = message.a / message.b;
    if (message.type !== 'data') return;
    for (const hostId of this.context.linkedHosts()) {
      if (hostId !== message.from && this.random() < this.probability) this.context.send(hostId, message.header, message.payload);
    }
  }
}

/** The probability the built-in `gossip` runs with: each host passes a message on to about half its neighbours. */
const GOSSIP_PROBABILITY = 0.5;

export const gossip: AlgorithmFactory = () => new Gossip(GOSSIP_PROBABILITY);
