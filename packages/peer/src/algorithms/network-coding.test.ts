import { describe, expect, it } from 'vitest';
import { butterflyRun, SOURCE_KBPS } from '../testing/butterfly-run.js';
import { BUTTERFLY, NetworkCoding } from './network-coding.js';

describe('NetworkCoding (iOverlay case study 3.1, Fig. 4)', () => {
  it('without coding the coder\'s 200 KBps uplink starves what lies behind it: about 1/2 at the helper, 3/4 at the decoders', () => {
    const { throughput } = butterflyRun({ coding: false });
    expect(throughput.coder).toBeGreaterThan(SOURCE_KBPS * 0.97);
    for (const relay of ['relayOfA', 'relayOfB'] as const) expect(throughput[relay]).toBeCloseTo(SOURCE_KBPS / 2, -1);
    expect(throughput.helper! / SOURCE_KBPS).toBeGreaterThan(0.4);
    expect(throughput.helper! / SOURCE_KBPS).toBeLessThan(0.6);
    for (const decoder of ['decoderOfA', 'decoderOfB'] as const) {
      expect(throughput[decoder]! / SOURCE_KBPS).toBeGreaterThan(0.65);
      expect(throughput[decoder]! / SOURCE_KBPS).toBeLessThan(0.85);
    }
  });

  it('with coding (a + b over GF(2^8) at the coder) both decoders get the whole stream, byte for byte; the helper gets none of it', () => {
    const { throughput, sent, chunksOf, heldAtEnd } = butterflyRun({ coding: true });
    for (const whole of ['coder', 'decoderOfA', 'decoderOfB'] as const) expect(throughput[whole]! / SOURCE_KBPS).toBeGreaterThan(0.97);
    expect(throughput.helper).toBe(0);
    for (const offset of [BUTTERFLY.decoderOfA, BUTTERFLY.decoderOfB]) {
      const chunks = chunksOf(offset);
      expect(new Set(chunks.map((c) => c.sequence)).size).toBe(sent.length);
      for (const c of chunks) expect(c.payload).toEqual(sent[c.sequence]);
    }
    // Every hold ended: released, discarded or expired.
    expect(heldAtEnd).toEqual(Array(8).fill(0));
  });

  it('a lossy link to a decoder costs only what it lost: pairs whose partner never came go on alone, nothing is held for ever', () => {
    // The decoder of b loses 20% of what reaches it (plain a and coded alike).
    const lossy = butterflyRun({ coding: true, seconds: 2, lossToward: BUTTERFLY.decoderOfB });
    const chunks = lossy.chunksOf(BUTTERFLY.decoderOfB);
    for (const c of chunks) expect(c.payload).toEqual(lossy.sent[c.sequence]);
    const share = new Set(chunks.map((c) => c.sequence)).size / lossy.sent.length;
    expect(share).toBeGreaterThan(0.6);
    expect(share).toBeLessThan(0.95);
    expect(lossy.heldAtEnd).toEqual(Array(8).fill(0));
  });

  it('a slow stream (3 chunks a second: pairs 333 ms apart) is paired too: a partner is awaited for four chunk intervals', () => {
    const { chunksOf, sent } = butterflyRun({ coding: true, seconds: 6, chunksPerSecond: 3 });
    for (const offset of [BUTTERFLY.decoderOfA, BUTTERFLY.decoderOfB]) expect(new Set(chunksOf(offset).map((c) => c.sequence)).size).toBe(sent.length);
    expect(chunksOf(BUTTERFLY.helper)).toEqual([]);
  });

  it('the observer\'s control turns coding off (a = 0) and on (a = 1)', () => {
    const algorithm = new NetworkCoding(true);
    algorithm.process({ type: 'control', a: 0, b: 0 });
    expect((algorithm as unknown as { coding: boolean }).coding).toBe(false);
    algorithm.process({ type: 'control', a: 2, b: 0 });
    expect((algorithm as unknown as { coding: boolean }).coding).toBe(false);
    algorithm.process({ type: 'control', a: 1, b: 0 });
    expect((algorithm as unknown as { coding: boolean }).coding).toBe(true);
  });
});
