import { describe, expect, it } from 'vitest';
import { NetworkCoordinates } from './coordinates.js';
import { createRng, randomInt } from './random.js';

describe('NetworkCoordinates', () => {
  it('learns a planar underlay from link RTTs and predicts RTTs never measured', () => {
    const rng = createRng(3);
    const hosts = Array.from({ length: 30 }, (_, i) => ({ id: `h${i}`, x: rng() * 200, y: rng() * 100 }));
    const rtt = (a: (typeof hosts)[number], b: (typeof hosts)[number]) => 2 * Math.hypot(a.x - b.x, a.y - b.y) + 2;
    // Each host measures only its links (6, as in a 3-ary 3-cube) and reports them all at
    // once, as hosts report link RTTs to the server.
    const links = hosts.map((_, i) => Array.from({ length: 6 }, () => (i + 1 + randomInt(rng, hosts.length - 1)) % hosts.length));
    const vivaldi = new NetworkCoordinates();
    for (let round = 0; round < 200; round++) {
      hosts.forEach((h, i) => {
        for (const j of links[i]!) vivaldi.update(h.id, hosts[j]!.id, rtt(h, hosts[j]!));
      });
    }
    const errors: number[] = [];
    for (let i = 0; i < hosts.length; i++) {
      for (let j = 0; j < hosts.length; j++) {
        if (i === j || links[i]!.includes(j) || links[j]!.includes(i)) continue;
        const truth = rtt(hosts[i]!, hosts[j]!);
        errors.push(Math.abs(vivaldi.estimateRtt(hosts[i]!.id, hosts[j]!.id)! - truth) / truth);
      }
    }
    errors.sort((a, b) => a - b);
    expect(errors[Math.floor(errors.length / 2)]).toBeLessThan(0.1);
  });

  it('gives no estimate before enough samples, and ignores nonsense', () => {
    const v = new NetworkCoordinates(3);
    v.update('a', 'b', 10);
    expect(v.estimateRtt('a', 'b')).toBeUndefined();
    v.update('a', 'b', NaN);
    v.update('a', 'b', -1);
    v.update('a', 'a', 5);
    for (let i = 0; i < 5; i++) {
      v.update('a', 'b', 10);
      v.update('b', 'a', 10);
    }
    expect(v.estimateRtt('a', 'b')).toBeGreaterThan(5);
    v.forget('a');
    expect(v.estimateRtt('a', 'b')).toBeUndefined();
  });
});
