import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedMessageError } from './data-plane.js';
import { decodeVideoPayload, encodeVideoPayload } from './video-payload.js';

describe('video payload', () => {
  it('round-trips', () => {
    fc.assert(
      fc.property(
        fc.record({ key: fc.boolean(), width: fc.nat({ max: 4096 }), height: fc.nat({ max: 4096 }), layer: fc.integer({ min: 1, max: 2 }), captureTimeMs: fc.double({ noNaN: true }), timestampUs: fc.nat() }),
        fc.option(fc.stringMatching(/^[a-z0-9.]{1,20}$/), { nil: undefined }),
        fc.uint8Array({ maxLength: 100 }),
        (h, codec, frame) => {
          const header = codec === undefined ? h : { ...h, codec };
          const decoded = decodeVideoPayload(encodeVideoPayload(header, frame));
          expect(decoded.header).toEqual(header);
          expect([...decoded.frame]).toEqual([...frame]);
        },
      ),
    );
  });

  it('matches its golden vector', () => {
    const bytes = encodeVideoPayload({ key: true, width: 320, height: 240, captureTimeMs: 1, timestampUs: 2, codec: 'vp8' }, new Uint8Array([0x9d]));
    expect(Buffer.from(bytes).toString('hex')).toBe('0203014000f000003ff00000000000004000000000000000037670389d');
    const delta = encodeVideoPayload({ key: false, width: 320, height: 240, layer: 2, captureTimeMs: 1, timestampUs: 2 }, new Uint8Array([0x9d]));
    expect(Buffer.from(delta).toString('hex')).toBe('0200014000f002003ff000000000000040000000000000009d');
  });

  it('refuses bad bytes', () => {
    for (const bad of ['02', '01' + '00'.repeat(23), '0202014000f000003ff00000000000004000000000000000ff76']) {
      expect(() => decodeVideoPayload(new Uint8Array(Buffer.from(bad, 'hex')))).toThrow(MalformedMessageError);
    }
  });
});
