import { MessageType, NO_DESTINATION, type MessageHeader } from '@cubecast/protocol';
import type { AlgorithmContext, AlgorithmMessage, HOLD, OverlayAlgorithm } from '../engine/algorithm.js';

/**
 * What most algorithms start from, as iOverlay's base class did (seed 004, section 2.3): the
 * context kept, the known hosts (those with an open link now: the only ones `send` reaches),
 * dissemination with probability p, and (given `refreshMs`) a periodic `refresh` for soft
 * state. A subclass writes `handle`; the known hosts are up to date before it runs.
 */
/** The base class's own timer: a subclass names its others otherwise. */
const REFRESH_TIMER = 'refresh';

export abstract class BaseAlgorithm implements OverlayAlgorithm {
  abstract readonly name: string;
  protected context!: AlgorithmContext;
  /** Linked hosts whose link is up, as link and view messages said. */
  protected readonly knownHosts = new Set<string>();

  /** `random`: uniform in [0, 1), seeded in tests; `refreshMs`: how often `refresh` runs (never if unset). */
  constructor(
    protected readonly random: () => number = Math.random,
    protected readonly refreshMs?: number,
  ) {}

  start(context: AlgorithmContext): void {
    this.context = context;
    for (const hostId of context.linkedHosts()) this.knownHosts.add(hostId);
    if (this.refreshMs !== undefined) context.setTimer(REFRESH_TIMER, this.refreshMs);
  }

  process(message: AlgorithmMessage): void | typeof HOLD {
    if (message.type === 'timer' && message.name === REFRESH_TIMER && this.refreshMs !== undefined) {
      this.context.setTimer(REFRESH_TIMER, this.refreshMs);
      return this.refresh();
    }
    if (message.type === 'link:up') this.knownHosts.add(message.hostId);
    else if (message.type === 'link:down') this.knownHosts.delete(message.hostId);
    else if (message.type === 'view') for (const hostId of this.knownHosts) if (!message.linked.has(hostId)) this.knownHosts.delete(hostId);
    return this.handle(message);
  }

  protected abstract handle(message: AlgorithmMessage): void | typeof HOLD;

  /** Every `refreshMs`: what keeps soft state alive (branches, announcements). */
  protected refresh(): void {}

  /** Sends one of this algorithm's own messages (type 8) about a channel to a linked host. */
  protected sendOwn(hostId: string, channel: number, payload: Uint8Array): boolean {
    const header: MessageHeader = { type: MessageType.Algorithm, flags: 0, hops: 0, channel, sequence: 0, source: 0, destination: NO_DESTINATION, latencyUs: 0, fragmentIndex: 0, fragmentCount: 1 };
    return this.context.send(hostId, header, payload);
  }

  /** Sends a message on to each known host but `except`, each with probability p; returns how many it went to. */
  protected disseminate(header: MessageHeader, payload: Uint8Array, probability: number, except?: string | null): number {
    let sent = 0;
    for (const hostId of this.knownHosts) {
      if (hostId !== except && this.random() < probability && this.context.send(hostId, header, payload)) sent++;
    }
    return sent;
  }
}

/** An observer's control `(a, b)` read as the probability a / b; undefined unless 0 <= a <= b, b > 0. */
export function controlProbability(a: number, b: number): number | undefined {
  return b > 0 && a >= 0 && a <= b ? a / b : undefined;
}
