/// <reference path="./webcodecs.d.ts" />
import { encodeVideoPayload, TypedEmitter, videoChunkFlags } from '@cubecast/protocol';
import type { LocalPublication } from '../local-publication.js';

export interface VideoPublishOptions {
  readonly width: number;
  readonly height: number;
  readonly framerate: number;
  readonly bitrateKbps: number;
  /** A key frame at least this often, so late joiners and lossy branches recover. */
  readonly keyIntervalMs: number;
}

export const DEFAULT_VIDEO: VideoPublishOptions = { width: 320, height: 240, framerate: 15, bitrateKbps: 400, keyIntervalMs: 2000 };
const CODEC = 'vp8';

/** Temporal layer 2 of L1T3 is referenced by nothing: relays may drop it to save a link. */
/**
 * A webcam into a publication: getUserMedia -> MediaStreamTrackProcessor -> VideoEncoder (VP8,
 * L1T3) -> chunks into the peer's engine. Frames are skipped, not queued, when the encoder
 * falls behind: live video prefers fresh frames to complete ones. It answers the
 * publication's key frame requests itself, and is the publication's source: closing one
 * closes the other.
 */
export interface VideoPublisherEvents extends Record<string, unknown> {
  /** The encoder failed: nothing more is published until the publisher is started again. */
  'encoder:failed': { message: string };
  /** The last event: the camera and encoder stopped, the publication ended. */
  'publisher:closed': undefined;
}

export class VideoPublisher extends TypedEmitter<VideoPublisherEvents> {
  private encoder: VideoEncoder | undefined;
  private reader: ReadableStreamDefaultReader<VideoFrame> | undefined;
  private lastKey = -Infinity;
  private keyWanted = true;
  private closedFlag = false;
  /** Wall-clock time each frame entered the encoder, by its timestamp. */
  private readonly capturedAt = new Map<number, number>();

  constructor(
    private readonly publication: LocalPublication,
    private readonly track: MediaStreamTrack,
    private readonly options: VideoPublishOptions = DEFAULT_VIDEO,
  ) {
    super();
    publication.on('keyframe:requested', () => this.requestKeyframe());
    publication.on('publication:closed', () => void this.close());
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  static async supported(): Promise<boolean> {
    if (typeof VideoEncoder === 'undefined' || typeof MediaStreamTrackProcessor === 'undefined') return false;
    const support = await VideoEncoder.isConfigSupported({ codec: CODEC, width: 320, height: 240, scalabilityMode: 'L1T3' });
    return support.supported === true;
  }

  start(): void {
    const { width, height, framerate, bitrateKbps } = this.options;
    this.encoder = new VideoEncoder({
      output: (chunk, metadata) => this.onChunk(chunk, metadata),
      error: (error) => this.emit('encoder:failed', { message: `the video encoder failed: ${error.message}` }),
    });
    this.encoder.configure({ codec: CODEC, width, height, framerate, bitrate: bitrateKbps * 1000, scalabilityMode: 'L1T3', latencyMode: 'realtime' });
    this.reader = new MediaStreamTrackProcessor({ track: this.track, maxBufferSize: 2 }).readable.getReader();
    void this.pump();
  }

  requestKeyframe(): void {
    this.keyWanted = true;
  }

  /** Stops the camera and the encoder, and ends the publication. */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    void this.reader?.cancel().catch(() => undefined);
    if (this.encoder?.state === 'configured') this.encoder.close();
    this.track.stop();
    this.emit('publisher:closed', undefined);
    this.removeAllListeners();
    await this.publication.close();
  }

  private async pump(): Promise<void> {
    const reader = this.reader!;
    const minGapMs = 1000 / this.options.framerate;
    let lastFrameAt = -Infinity;
    while (!this.closedFlag) {
      const { value: frame, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done || !frame) break;
      const now = performance.now();
      const encoder = this.encoder;
      if (!encoder || encoder.state !== 'configured' || encoder.encodeQueueSize > 2 || now - lastFrameAt < minGapMs * 0.8) {
        frame.close();
        continue;
      }
      lastFrameAt = now;
      const key = this.keyWanted || now - this.lastKey >= this.options.keyIntervalMs;
      if (key) {
        this.keyWanted = false;
        this.lastKey = now;
      }
      this.capturedAt.set(frame.timestamp, performance.timeOrigin + now);
      if (this.capturedAt.size > 64) this.capturedAt.delete(this.capturedAt.keys().next().value!);
      try {
        encoder.encode(frame, { keyFrame: key });
      } finally {
        frame.close();
      }
    }
  }

  private onChunk(chunk: EncodedVideoChunk, metadata?: EncodedVideoChunkMetadata): void {
    const key = chunk.type === 'key';
    const layer = key ? 0 : (metadata?.svc?.temporalLayerId ?? 0);
    const capturedAt = this.capturedAt.get(chunk.timestamp) ?? performance.timeOrigin + performance.now();
    this.capturedAt.delete(chunk.timestamp);
    const frame = new Uint8Array(chunk.byteLength);
    chunk.copyTo(frame);
    const payload = encodeVideoPayload(
      {
        key,
        width: this.options.width,
        height: this.options.height,
        layer,
        captureTimeMs: capturedAt,
        timestampUs: chunk.timestamp,
        ...(key && { codec: CODEC }),
      },
      frame,
    );
    if (!this.closedFlag) this.publication.sendChunk(videoChunkFlags(key, layer), payload.buffer as ArrayBuffer);
  }
}
