import { Flags, MalformedMessageError } from './data-plane.js';

/**
 * What a video channel's chunk carries before the encoded frame (big-endian):
 *
 *  0  u8   version (2)
 *  1  u8   bit 0: key frame; bit 1: a decoder configuration follows
 *  2  u16  coded width
 *  4  u16  coded height
 *  6  u8   temporal layer id (0-2 under L1T3; key frames are 0)
 *  7  u8   reserved (0)
 *  8  f64  capture time, ms since the Unix epoch (lets tests on one clock check latency)
 * 16  f64  the encoder's timestamp, µs
 * 24  [u8 length + ASCII codec string]   only when bit 1 is set (key frames)
 *  .  the encoded frame
 *
 * The layer id repeats the data header's: an SPA sees only payloads, and the temporal-layer
 * thinning SPA needs it (version 2 added it).
 */
export const VIDEO_PAYLOAD_VERSION = 2;
/** The byte offset of the temporal layer id (the thinning SPA reads it). */
export const VIDEO_LAYER_OFFSET = 6;
const FIXED = 24;

export interface VideoFrameHeader {
  readonly key: boolean;
  readonly width: number;
  readonly height: number;
  /** The temporal layer id; absent means 0. */
  readonly layer?: number;
  readonly captureTimeMs: number;
  readonly timestampUs: number;
  /** The WebCodecs codec string, sent with key frames so a late joiner can configure. */
  readonly codec?: string;
}

export function encodeVideoPayload(header: VideoFrameHeader, frame: Uint8Array): Uint8Array {
  const codec = header.codec === undefined ? undefined : new TextEncoder().encode(header.codec);
  if (codec && codec.byteLength > 255) throw new RangeError('codec string too long');
  const layer = header.layer ?? 0;
  if (!Number.isInteger(layer) || layer < 0 || layer > 255) throw new RangeError('the temporal layer id is a byte');
  const out = new Uint8Array(FIXED + (codec ? 1 + codec.byteLength : 0) + frame.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, VIDEO_PAYLOAD_VERSION);
  view.setUint8(1, (header.key ? 1 : 0) | (codec ? 2 : 0));
  view.setUint16(2, header.width);
  view.setUint16(4, header.height);
  view.setUint8(VIDEO_LAYER_OFFSET, layer);
  view.setFloat64(8, header.captureTimeMs);
  view.setFloat64(16, header.timestampUs);
  let offset = FIXED;
  if (codec) {
    view.setUint8(offset, codec.byteLength);
    out.set(codec, offset + 1);
    offset += 1 + codec.byteLength;
  }
  out.set(frame, offset);
  return out;
}

export function decodeVideoPayload(bytes: Uint8Array): { header: VideoFrameHeader; frame: Uint8Array } {
  if (bytes.byteLength < FIXED) throw new MalformedMessageError('video payload shorter than its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== VIDEO_PAYLOAD_VERSION) throw new MalformedMessageError(`unsupported video payload version ${view.getUint8(0)}`);
  const bits = view.getUint8(1);
  let offset = FIXED;
  let codec: string | undefined;
  if (bits & 2) {
    const length = bytes.byteLength > offset ? view.getUint8(offset) : -1;
    if (length < 0 || offset + 1 + length > bytes.byteLength) throw new MalformedMessageError('video codec string runs past the payload');
    codec = new TextDecoder().decode(bytes.subarray(offset + 1, offset + 1 + length));
    offset += 1 + length;
  }
  return {
    header: {
      key: (bits & 1) !== 0,
      width: view.getUint16(2),
      height: view.getUint16(4),
      ...(view.getUint8(VIDEO_LAYER_OFFSET) !== 0 && { layer: view.getUint8(VIDEO_LAYER_OFFSET) }),
      captureTimeMs: view.getFloat64(8),
      timestampUs: view.getFloat64(16),
      ...(codec !== undefined && { codec }),
    },
    frame: bytes.subarray(offset),
  };
}

/** The data-plane flags of a video chunk: timely; key frames are never dropped from a queue, L1T3's top layer may be. */
export function videoChunkFlags(key: boolean, layer: number): number {
  return Flags.Timely | (key ? Flags.Key : 0) | (layer << Flags.LayerShift) | (layer === 2 && !key ? Flags.Droppable : 0);
}

/**
 * The flags a chunk travels with, read back from its payload if it is a video payload (what
 * a branch point needs for an SPA's output, which may not be the chunk it last gave the SPA);
 * undefined for anything else.
 */
export function videoFlagsOf(payload: Uint8Array): number | undefined {
  if (payload.byteLength < FIXED || payload[0] !== VIDEO_PAYLOAD_VERSION) return undefined;
  return videoChunkFlags((payload[1]! & 1) !== 0, payload[VIDEO_LAYER_OFFSET]!);
}
