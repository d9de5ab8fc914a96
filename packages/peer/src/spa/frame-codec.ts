/// <reference path="../video/webcodecs.d.ts" />
import { decodeVideoPayload, encodeVideoPayload, MalformedMessageError, TypedEmitter, videoChunkFlags } from '@cubecast/protocol';
import type { SpaPipeline } from '@cubecast/spa';
import type { EnginePipeline, EnginePipelineEvents } from '../engine/types.js';

/** The frame record's header (docs/protocol.md, "SPA frame record"). */
const FRAME_HEADER = 16;
const MAX_PENDING = 64;

/**
 * Pixel SPAs work on decoded frames: VP8 chunks -> VideoDecoder -> I420 records -> the SPA
 * pipeline -> VideoEncoder -> VP8 chunks of the reduced variant. The output is a stream of its
 * own (L1T1, key frames where the input had them), with the input's capture times.
 */
export class FrameCodec extends TypedEmitter<EnginePipelineEvents> implements EnginePipeline {
  private decoder: VideoDecoder | undefined;
  private decoderConfig: string | undefined;
  private encoder: VideoEncoder | undefined;
  private encoderSize: string | undefined;
  private encoderKeyPending = true;
  /** Per input frame (by timestamp): what its output carries on. */
  private readonly frames = new Map<number, { captureTimeMs: number; key: boolean }>();
  private closed = false;

  constructor(private readonly spa: SpaPipeline) {
    super();
    spa.on('chunk:output', (record) => this.encodeRecord(record));
    spa.on('pipeline:died', ({ message }) => this.emit('pipeline:died', { message }));
  }

  push(payload: Uint8Array): boolean {
    if (this.closed) return false;
    let decoded;
    try {
      decoded = decodeVideoPayload(payload);
    } catch (error) {
      if (error instanceof MalformedMessageError) return false;
      throw error;
    }
    const { header, frame } = decoded;
    if (header.key) {
      const config = `${header.codec ?? 'vp8'}:${header.width}x${header.height}`;
      if (config !== this.decoderConfig || this.decoder?.state !== 'configured') this.configureDecoder(header.codec ?? 'vp8', header.width, header.height);
    }
    if (this.decoder?.state !== 'configured') return false; // until a key frame
    this.frames.set(header.timestampUs, { captureTimeMs: header.captureTimeMs, key: header.key });
    if (this.frames.size > MAX_PENDING) this.frames.delete(this.frames.keys().next().value!);
    this.decoder.decode(new EncodedVideoChunk({ type: header.key ? 'key' : 'delta', timestamp: header.timestampUs, data: frame }));
    return true;
  }

  stats() {
    return this.spa.stageStats();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const codec of [this.decoder, this.encoder]) if (codec && codec.state !== 'closed') codec.close();
    void this.spa.close();
  }

  private configureDecoder(codec: string, width: number, height: number): void {
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    this.decoder = new VideoDecoder({
      output: (frame) => void this.toRecord(frame),
      error: () => (this.decoderConfig = undefined), // wait for the next key frame
    });
    this.decoder.configure({ codec, codedWidth: width, codedHeight: height, optimizeForLatency: true });
    this.decoderConfig = `${codec}:${width}x${height}`;
  }

  /** Copies the decoded planes, tightly packed, behind the record header; pushes the record. */
  private async toRecord(frame: VideoFrame): Promise<void> {
    try {
      const rect = frame.visibleRect!;
      const width = rect.width;
      const height = rect.height;
      const chromaWidth = (width + 1) >> 1;
      const chromaHeight = (height + 1) >> 1;
      const record = new Uint8Array(FRAME_HEADER + width * height + 2 * chromaWidth * chromaHeight);
      const view = new DataView(record.buffer);
      view.setUint32(0, width, true);
      view.setUint32(4, height, true);
      view.setFloat64(8, frame.timestamp, true);
      const y = FRAME_HEADER;
      const u = y + width * height;
      const v = u + chromaWidth * chromaHeight;
      await frame.copyTo(record, {
        rect: { x: rect.x, y: rect.y, width, height },
        layout: [
          { offset: y, stride: width },
          { offset: u, stride: chromaWidth },
          { offset: v, stride: chromaWidth },
        ],
      });
      if (!this.closed && !this.spa.closed) this.spa.push(record);
    } finally {
      frame.close();
    }
  }

  private encodeRecord(record: Uint8Array): void {
    if (this.closed || record.byteLength < FRAME_HEADER) return;
    const view = new DataView(record.buffer, record.byteOffset, FRAME_HEADER);
    const width = view.getUint32(0, true);
    const height = view.getUint32(4, true);
    const timestamp = view.getFloat64(8, true);
    const size = `${width}x${height}`;
    if (size !== this.encoderSize || this.encoder?.state !== 'configured') this.configureEncoder(width, height);
    const frame = new VideoFrame(record.subarray(FRAME_HEADER), { format: 'I420', codedWidth: width, codedHeight: height, timestamp });
    const key = this.encoderKeyPending || (this.frames.get(timestamp)?.key ?? false);
    this.encoderKeyPending = false;
    try {
      this.encoder!.encode(frame, { keyFrame: key });
    } finally {
      frame.close();
    }
  }

  private configureEncoder(width: number, height: number): void {
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
    this.encoder = new VideoEncoder({
      output: (chunk) => this.encoded(chunk, width, height),
      error: () => (this.encoderSize = undefined),
    });
    // About as many bits per pixel as the publisher's defaults spend.
    this.encoder.configure({ codec: 'vp8', width, height, bitrate: Math.max(100_000, width * height * 3), framerate: 30, latencyMode: 'realtime' });
    this.encoderSize = `${width}x${height}`;
    this.encoderKeyPending = true;
  }

  private encoded(chunk: EncodedVideoChunk, width: number, height: number): void {
    const key = chunk.type === 'key';
    const input = this.frames.get(chunk.timestamp);
    this.frames.delete(chunk.timestamp);
    const data = new Uint8Array(chunk.byteLength);
    chunk.copyTo(data);
    const payload = encodeVideoPayload(
      { key, width, height, captureTimeMs: input?.captureTimeMs ?? Date.now(), timestampUs: chunk.timestamp, ...(key && { codec: 'vp8' }) },
      data,
    );
    this.emit('chunk:output', { payload, flags: videoChunkFlags(key, 0) });
  }
}
