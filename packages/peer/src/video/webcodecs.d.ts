// Chromium's breakout-box and SVC metadata, missing from TypeScript's DOM library.
declare class MediaStreamTrackProcessor {
  constructor(init: { track: MediaStreamTrack; maxBufferSize?: number });
  readonly readable: ReadableStream<VideoFrame>;
}

interface EncodedVideoChunkMetadata {
  svc?: { temporalLayerId: number };
}
