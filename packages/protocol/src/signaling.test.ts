import { describe, expect, it } from 'vitest';
import { signalDataSchema } from './signaling.js';

describe('signalDataSchema', () => {
  it("takes simple-peer's renegotiation request in both its forms, and nothing else beside them", () => {
    expect(signalDataSchema.safeParse({ type: 'renegotiate', renegotiate: true }).success).toBe(true);
    expect(signalDataSchema.safeParse({ renegotiate: true }).success).toBe(true);
    expect(signalDataSchema.safeParse({ type: 'offer', renegotiate: true }).success).toBe(false);
    expect(signalDataSchema.safeParse({ type: 'renegotiate', renegotiate: true, extra: 1 }).success).toBe(false);
    expect(signalDataSchema.safeParse({ type: 'renegotiate' }).success).toBe(false);
  });
});
