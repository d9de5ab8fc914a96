/** What the page needs of the browser, as the browser states it (globalThis in the app). */
export interface BrowserFeatures {
  readonly isSecureContext: boolean;
  readonly crossOriginIsolated: boolean;
  readonly webRtc: boolean;
  readonly workers: boolean;
  readonly webCodecs: boolean;
  /** The page's origin, to say which address to use instead. */
  readonly origin: string;
}

export function browserFeatures(scope: typeof globalThis = globalThis): BrowserFeatures {
  return {
    isSecureContext: scope.isSecureContext,
    crossOriginIsolated: scope.crossOriginIsolated,
    webRtc: typeof scope.RTCPeerConnection !== 'undefined',
    workers: typeof scope.Worker !== 'undefined',
    webCodecs: typeof scope.VideoEncoder !== 'undefined' && typeof scope.VideoDecoder !== 'undefined',
    origin: scope.location.origin,
  };
}

/** What this browser lacks for Cubecast, in words a person can act on. */
export function missingCapabilities(features: BrowserFeatures): { blocking: string[]; publishing: string | null } {
  const blocking: string[] = [];
  if (!features.isSecureContext) {
    // Everything below follows from it (no camera, no isolation, no shared memory): say the cause once.
    blocking.push(
      `This page is not a secure context: ${features.origin} is plain http:// on an address other than localhost, so the browser blocks the camera and the shared memory stream processing runs on. ` +
        'Open it over https:// (the server: cubecast serve --tls-cert FILE --tls-key FILE, or --tls self-signed for a demo on a LAN), or at http://localhost on the server’s machine.',
    );
    return { blocking, publishing: 'Publishing needs the camera, which the browser blocks on this page (see above).' };
  }
  if (!features.webRtc) blocking.push('This browser has no WebRTC, so the tab cannot join the overlay.');
  if (!features.workers) blocking.push('This browser has no Web Workers.');
  if (!features.crossOriginIsolated) {
    blocking.push('This page is not cross-origin isolated (the server must send COOP and COEP headers), so stream processing cannot run.');
  }
  if (!features.webCodecs) blocking.push('This browser has no WebCodecs: it can relay streams but not show or publish video. Use a recent Chromium.');
  return { blocking, publishing: features.webCodecs ? null : 'Publishing needs WebCodecs, which this browser lacks.' };
}
