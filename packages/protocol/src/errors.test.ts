import { CubeFullError as OverlayCubeFullError, UnknownHostError as OverlayUnknownHostError } from '@cubecast/overlay';
import { describe, expect, it } from 'vitest';
import { ackFromError, CubeFullError, ERROR_CODES, errorFromAck, isWireError, RateLimitedError, SignalingError, UnknownHostError } from './errors.js';

describe('errors across the wire', () => {
  it('turns every code into an error of that code and a stable name, and back into the same ack', () => {
    for (const code of ERROR_CODES) {
      const error = errorFromAck({ ok: false, code, message: `about ${code}` });
      expect(isWireError(error), code).toBe(true);
      expect(error.code).toBe(code);
      expect(error.name).toMatch(/^[A-Z][A-Za-z]+Error$/);
      expect(ackFromError(error)).toEqual({ ok: false, code, message: `about ${code}` });
    }
    expect(new Set(ERROR_CODES.map((code) => errorFromAck({ ok: false, code, message: '' }).name)).size).toBe(ERROR_CODES.length);
  });

  it('has one class per condition: the cube conditions are the overlay classes on both sides', () => {
    expect(CubeFullError).toBe(OverlayCubeFullError);
    expect(UnknownHostError).toBe(OverlayUnknownHostError);
    // What Ownership throws in the server is what the client catches.
    expect(ackFromError(new OverlayCubeFullError('the overlay is full'))).toEqual({ ok: false, code: 'CUBE_FULL', message: 'the overlay is full' });
    expect(errorFromAck({ ok: false, code: 'UNKNOWN_HOST', message: 'gone' })).toBeInstanceOf(OverlayUnknownHostError);
    expect(errorFromAck({ ok: false, code: 'RATE_LIMITED', message: 'slow down' })).toBeInstanceOf(RateLimitedError);
    expect(errorFromAck({ ok: false, code: 'RATE_LIMITED', message: 'slow down' })).toBeInstanceOf(SignalingError);
  });

  it('answers anything else as INTERNAL, without its message', () => {
    for (const error of [new Error('secret path /etc'), Object.assign(new Error('fs'), { code: 'ENOENT' }), 'a string', undefined]) {
      expect(ackFromError(error)).toEqual({ ok: false, code: 'INTERNAL', message: 'internal error; the request had no effect' });
    }
  });
});
