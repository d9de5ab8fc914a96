import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CODED_HEADER_BYTES, decodeCodedPayload, encodeCodedPayload, MAX_CODED_PLAIN_BYTES, recoverCodedPart } from './coded-payload.js';
import { MalformedMessageError } from './data-plane.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const part = fc.record({ sequence: fc.nat({ max: 0xffffffff }), payload: fc.uint8Array({ maxLength: 2000 }) });
const coefficient = fc.integer({ min: 1, max: 255 });

describe('coded payload (version 1)', () => {
  it('golden bytes: A = 010203 (sequence 7), B = ff (sequence 8), c1 = 1, c2 = 2', () => {
    // 2·0xff = 0x1fe reduced by 0x11d = 0xe3; 0x01 + 0xe3 = 0xe2 (addition is XOR).
    const bytes = encodeCodedPayload({ sequence: 7, payload: new Uint8Array([1, 2, 3]) }, { sequence: 8, payload: new Uint8Array([0xff]) }, 1, 2);
    expect(hex(bytes)).toBe('01010200' + '00000007' + '00000008' + '00000003' + '00000001' + 'e20203');
    expect(decodeCodedPayload(bytes)).toMatchObject({ c1: 1, c2: 2, a: { sequence: 7, length: 3 }, b: { sequence: 8, length: 1 } });
  });

  it('a receiver holding either part recovers the other, byte for byte, whatever the coefficients', () => {
    fc.assert(
      fc.property(part, part, coefficient, coefficient, (a, b, c1, c2) => {
        const coded = decodeCodedPayload(encodeCodedPayload(a, b, c1, c2));
        expect(coded.a.sequence).toBe(a.sequence);
        expect(coded.b.sequence).toBe(b.sequence);
        expect(recoverCodedPart(coded, 'a', a.payload)).toEqual(b.payload);
        expect(recoverCodedPart(coded, 'b', b.payload)).toEqual(a.payload);
      }),
    );
  });

  it('refuses bad bytes in one MalformedMessageError each: short, another version, a zero coefficient, a body of the wrong size, parts over the limit', () => {
    const good = encodeCodedPayload({ sequence: 1, payload: new Uint8Array(4) }, { sequence: 2, payload: new Uint8Array(2) });
    const changed = (at: number, value: number) => {
      const copy = good.slice();
      new DataView(copy.buffer).setUint8(at, value);
      return copy;
    };
    const oversize = good.slice();
    new DataView(oversize.buffer).setUint32(12, MAX_CODED_PLAIN_BYTES + 1);
    for (const bad of [good.subarray(0, CODED_HEADER_BYTES - 1), changed(0, 2), changed(1, 0), changed(2, 0), good.subarray(0, good.byteLength - 1), new Uint8Array([...good, 0]), oversize]) {
      expect(() => decodeCodedPayload(bad)).toThrow(MalformedMessageError);
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeCodedPayload(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(MalformedMessageError);
        }
      }),
    );
  });

  it('refuses to code what it could not decode, and to recover from a part of the wrong size', () => {
    const a = { sequence: 1, payload: new Uint8Array(3) };
    for (const c of [0, 256, 1.5]) expect(() => encodeCodedPayload(a, a, c, 1)).toThrow(RangeError);
    expect(() => encodeCodedPayload({ sequence: 1, payload: new Uint8Array(MAX_CODED_PLAIN_BYTES + 1) }, a)).toThrow(RangeError);
    expect(() => recoverCodedPart(decodeCodedPayload(encodeCodedPayload(a, a)), 'a', new Uint8Array(2))).toThrow(RangeError);
  });
});
