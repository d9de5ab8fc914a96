import { describe, expect, it } from 'vitest';
import type { AlgorithmContext, AlgorithmMessage } from '../engine/algorithm.js';
import { messageHeader } from '../testing/sim-network.js';
import { BaseAlgorithm, controlProbability } from './base-algorithm.js';

/** Passes every data message to the known hosts with the probability set. */
class Flood extends BaseAlgorithm {
  readonly name = 'flood';
  probability = 1;
  protected handle(message: AlgorithmMessage): void {
    if (message.type === 'data') this.disseminate(message.header, message.payload, this.probability, message.from);
  }
}

function started(linked: string[], random?: () => number) {
  const sent: string[] = [];
  const algorithm = new Flood(random);
  algorithm.start({ linkedHosts: () => linked, send: (to: string) => (sent.push(to), to !== 'refuses') } as unknown as AlgorithmContext);
  const data = (from: string | null) => algorithm.process({ type: 'data', from, header: messageHeader({}), payload: new Uint8Array(1) });
  return { algorithm, sent, data };
}

describe('BaseAlgorithm', () => {
  it('knows the hosts linked at start, and follows links going up and down and views dropping hosts', () => {
    const { algorithm, sent, data } = started(['a', 'b']);
    data(null);
    expect(sent).toEqual(['a', 'b']);
    algorithm.process({ type: 'link:up', hostId: 'c' });
    algorithm.process({ type: 'link:down', hostId: 'a', reason: 'stalled' });
    sent.length = 0;
    data(null);
    expect(sent).toEqual(['b', 'c']);
    algorithm.process({ type: 'view', linked: new Set(['c', 'd']) });
    sent.length = 0;
    data(null);
    expect(sent).toEqual(['c']);
  });

  it('disseminates to each known host but the sender, each with probability p, and counts the sends that went', () => {
    const dice = [0.1, 0.9, 0.3];
    const { algorithm, sent, data } = started(['a', 'b', 'c', 'refuses'], () => dice.shift() ?? 0);
    algorithm.probability = 0.5;
    data('a');
    // b rolls 0.1 (sent), c 0.9 (not), refuses 0.3 (sent, but its link refused it).
    expect(sent).toEqual(['b', 'refuses']);
    const count = (algorithm as unknown as { disseminate: (...args: unknown[]) => number }).disseminate(messageHeader({}), new Uint8Array(1), 1, 'b');
    expect(count).toBe(2);
  });

  it('reads a control (a, b) as the probability a / b only when it is one', () => {
    expect(controlProbability(1, 4)).toBe(0.25);
    expect(controlProbability(0, 1)).toBe(0);
    expect(controlProbability(3, 3)).toBe(1);
    for (const [a, b] of [[2, 1], [-1, 2], [1, 0], [0, 0]] as const) expect(controlProbability(a, b)).toBeUndefined();
  });
});
