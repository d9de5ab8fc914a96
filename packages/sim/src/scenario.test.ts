import { createRng, randomInt } from '@cubecast/overlay';
import { describe, expect, it } from 'vitest';
import { buildScenario, IdAssignment } from './scenario.js';

describe('IdAssignment', () => {
  it('a link cost is the latency between the hosts owning its ends, through any swaps, for every cost function made', () => {
    const { hosts } = buildScenario(256, 7);
    const rng = createRng(11);
    const ids = IdAssignment.random(256, rng);
    const costs = [ids.linkCost(hosts)];
    for (let step = 0; step < 200; step++) {
      const [a, b] = [randomInt(rng, 256), randomInt(rng, 256)];
      if (step === 100) costs.push(ids.linkCost(hosts));
      ids.swap(a, b);
      expect(ids.idOf[ids.hostOf[a]!]).toBe(a);
      for (const cost of costs) {
        const [x, y] = [randomInt(rng, 256), randomInt(rng, 256)];
        expect(cost(x, y)).toBe(hosts.latency(ids.hostOf[x]!, ids.hostOf[y]!));
        expect(cost(a, b)).toBe(hosts.latency(ids.hostOf[a]!, ids.hostOf[b]!));
      }
    }
    // A clone has the ids as they are, and its own costs.
    const clone = ids.clone();
    const cloneCost = clone.linkCost(hosts);
    clone.swap(0, 1);
    expect(cloneCost(0, 2)).toBe(hosts.latency(clone.hostOf[0]!, clone.hostOf[2]!));
    expect(costs[0]!(0, 2)).toBe(hosts.latency(ids.hostOf[0]!, ids.hostOf[2]!));
  });
});
