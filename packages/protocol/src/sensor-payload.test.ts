import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedMessageError } from './data-plane.js';
import { decodeSensorPayload, encodeSensorPayload } from './sensor-payload.js';

describe('sensor payload', () => {
  it('round-trips', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ timeMs: fc.double({ noNaN: true }), value: fc.double({ noNaN: true }) }), { minLength: 1, maxLength: 50 }), (readings) => {
        expect(decodeSensorPayload(encodeSensorPayload(readings))).toEqual(readings);
      }),
    );
  });

  it('matches its golden vector', () => {
    const bytes = encodeSensorPayload([{ timeMs: 1, value: -2.5 }]);
    expect(Buffer.from(bytes).toString('hex')).toBe('010000013ff0000000000000c004000000000000');
  });

  it('refuses bad bytes', () => {
    for (const bad of ['01', '02000001' + '00'.repeat(16), '01000002' + '00'.repeat(16), '01000000']) {
      expect(() => decodeSensorPayload(new Uint8Array(Buffer.from(bad, 'hex')))).toThrow(MalformedMessageError);
    }
    expect(() => encodeSensorPayload([])).toThrow(RangeError);
  });
});
