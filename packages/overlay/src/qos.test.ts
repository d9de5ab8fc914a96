import { describe, expect, it } from 'vitest';
import {
  delayPenalty,
  linkStress,
  meanNormalizedLateness,
  nodeStress,
  normalizedLateness,
  successRatio,
  summarize,
  treeDegrees,
} from './qos.js';

describe('QoS metrics', () => {
  it('delay penalty is route over unicast latency', () => {
    expect(delayPenalty(30, 10)).toBe(3);
    expect(() => delayPenalty(30, 0)).toThrow(RangeError);
  });

  it('normalized lateness is 0 on time, else relative overshoot', () => {
    expect(normalizedLateness(80, 100)).toBe(0);
    expect(normalizedLateness(100, 100)).toBe(0);
    expect(normalizedLateness(150, 100)).toBe(0.5);
    expect(() => normalizedLateness(1, 0)).toThrow(RangeError);
    expect(meanNormalizedLateness([{ latency: 150, bound: 100 }, { latency: 50, bound: 100 }])).toBe(0.25);
  });

  it('success ratio counts subscribers within their bound', () => {
    const outcomes = [
      { latency: 10, bound: 20 },
      { latency: 20, bound: 20 },
      { latency: 30, bound: 20 },
      { latency: 90, bound: 100 },
    ];
    expect(successRatio(outcomes)).toBe(0.75);
    expect(successRatio([])).toBe(1);
  });

  it('link stress on a hand-made underlay', () => {
    // Underlay: a - r - b and r - c. Overlay copies: a->b, a->c, b->c.
    const paths: Record<string, string[]> = { 'a>b': ['ar', 'rb'], 'a>c': ['ar', 'rc'], 'b>c': ['rb', 'rc'] };
    const forwarding = new Map([['a', new Set(['b', 'c'])], ['b', new Set(['c'])]]);
    const result = linkStress(forwarding, (from, to) => paths[`${from}>${to}`]!);
    expect(result).toEqual({ crossings: 6, uniqueLinks: 3, stress: 2, maxStress: 2 });
    expect(linkStress(new Map(), () => [])).toEqual({ crossings: 0, uniqueLinks: 0, stress: 0, maxStress: 0 });
  });

  it('node stress is tree degree over last-mile bandwidth', () => {
    const forwarding = new Map([['s', new Set(['a', 'b'])], ['a', new Set(['c'])]]);
    expect(treeDegrees(forwarding)).toEqual(new Map([['s', 2], ['a', 2], ['b', 1], ['c', 1]]));
    expect(nodeStress(2, 100)).toBe(0.02);
    expect(() => nodeStress(2, 0)).toThrow(RangeError);
  });

  it('summarises with nearest-rank percentiles', () => {
    const s = summarize(Array.from({ length: 100 }, (_, i) => 100 - i));
    expect(s).toEqual({ count: 100, mean: 50.5, min: 1, p10: 10, p50: 50, p90: 90, p99: 99, max: 100 });
    expect(summarize([]).count).toBe(0);
  });
});
