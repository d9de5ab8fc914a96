import { describe, expect, it } from 'vitest';
import { missingCapabilities, type BrowserFeatures } from './capabilities.js';

const complete: BrowserFeatures = { isSecureContext: true, crossOriginIsolated: true, webRtc: true, workers: true, webCodecs: true, origin: 'https://cubecast.example' };

describe('missingCapabilities', () => {
  it('finds nothing missing in a complete browser', () => {
    expect(missingCapabilities(complete)).toEqual({ blocking: [], publishing: null });
  });

  it('says a page that is not a secure context is the cause, once, and what to open instead', () => {
    const { blocking, publishing } = missingCapabilities({ ...complete, isSecureContext: false, crossOriginIsolated: false, origin: 'http://192.168.1.20:8080' });
    expect(blocking).toHaveLength(1);
    expect(blocking[0]).toContain('http://192.168.1.20:8080 is plain http://');
    expect(blocking[0]).toContain('--tls self-signed');
    expect(blocking[0]).toContain('http://localhost');
    expect(publishing).toContain('camera');
  });

  it('names each other missing piece', () => {
    const { blocking, publishing } = missingCapabilities({ ...complete, crossOriginIsolated: false, webRtc: false, workers: false, webCodecs: false });
    expect(blocking.map((line) => line.split(' ').slice(0, 6).join(' '))).toEqual([
      'This browser has no WebRTC, so',
      'This browser has no Web Workers.',
      'This page is not cross-origin isolated',
      'This browser has no WebCodecs: it',
    ]);
    expect(publishing).toBe('Publishing needs WebCodecs, which this browser lacks.');
  });
});
