import { describe, expect, it } from 'vitest';
import { signalDataSchema, swapPlannerLabel } from './signaling.js';

describe('signalDataSchema', () => {
  it("takes simple-peer's renegotiation request in both its forms, and nothing else beside them", () => {
    expect(signalDataSchema.safeParse({ type: 'renegotiate', renegotiate: true }).success).toBe(true);
    expect(signalDataSchema.safeParse({ renegotiate: true }).success).toBe(true);
    expect(signalDataSchema.safeParse({ type: 'offer', renegotiate: true }).success).toBe(false);
    expect(signalDataSchema.safeParse({ type: 'renegotiate', renegotiate: true, extra: 1 }).success).toBe(false);
    expect(signalDataSchema.safeParse({ type: 'renegotiate' }).success).toBe(false);
  });
});

describe('swapPlannerLabel', () => {
  it('says the planner and how far it looks', () => {
    expect(swapPlannerLabel({ strategy: 'depth', depth: 2 })).toBe('depth rule, up to 2 hops');
    expect(swapPlannerLabel({ strategy: 'depth', depth: 1 })).toBe('depth rule, up to 1 hop');
    expect(swapPlannerLabel({ strategy: 'best', depth: 3 })).toBe('best within 3 hops');
    expect(swapPlannerLabel({ strategy: 'fig5', depth: 2 })).toBe("Fig. 5's rule");
  });
});
