import type { AlgorithmFactory, AlgorithmMessage } from '../engine/algorithm.js';
import { BaseAlgorithm, controlProbability } from './base-algorithm.js';

/**
 * Gossip, the tutorial's algorithm (docs/algorithms.md) and iOverlay's "disseminate with
 * probability p": every data message a host publishes or first receives goes on to each
 * linked host but the one it came from, each with probability p. No routes, no server: the
 * engine drops the copies a host has seen, and delivers what arrives to a subscriber here.
 * With p = 1 it floods; with p near 1/degree most messages die out.
 */
export class Gossip extends BaseAlgorithm {
  readonly name = 'gossip';
  readonly receivesData = true;

  constructor(
    private probability: number,
    random?: () => number,
  ) {
    super(random);
    if (!(probability >= 0 && probability <= 1)) throw new RangeError(`gossip's probability is 0..1, got ${probability}`);
  }

  protected handle(message: AlgorithmMessage): void {
    // The observer's control sets p to a / b; anything that is no probability is ignored.
    if (message.type === 'control') this.probability = controlProbability(message.a, message.b) ?? this.probability;
    if (message.type === 'data') this.disseminate(message.header, message.payload, this.probability, message.from);
  }
}

/** The probability the built-in `gossip` runs with: each host passes a message on to about half its neighbours. */
const GOSSIP_PROBABILITY = 0.5;

export const gossip: AlgorithmFactory = () => new Gossip(GOSSIP_PROBABILITY);
