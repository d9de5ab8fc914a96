/**
 * Data-plane messages between peers over WebRTC data channels: a fixed 32-byte header, then
 * the payload. Big-endian. docs/protocol.md has the byte layout and golden vectors.
 *
 *  0  u8   version (3)
 *  1  u8   type
 *  2  u8   flags
 *  3  u8   hops so far
 *  4  u32  channel id
 *  8  u32  sequence (per channel, per publisher)
 * 12  u32  source logical id (the channel's anchor)
 * 16  u32  destination logical id (a route's target; 0xffffffff for tree data)
 * 20  u32  accumulated latency, µs
 * 24  u16  fragment index (a repair: block × 32 + row)
 * 26  u16  fragment count (1 when whole; a repair: its chunk's)
 * 28  u32  payload length
 * 32  ...  payload
 */

import { FEC_BLOCK_SOURCES } from './fec.js';

/**
 * 2: a link is several channels (LINK_CHANNELS), and flags bit 4 marks timely data.
 * 3: flags bit 5 marks FEC repairs, and pings carry what each end measures of the other's loss.
 *    Later within 3: type 7, repair requests (a peer that predates them drops them, unharmed).
 */
export const DATA_PLANE_VERSION = 3;

/** One of a link's data channels, as RTCPeerConnection.createDataChannel takes it (plus its label). */
export interface LinkChannelConfig {
  readonly label: string;
  readonly id: number;
  readonly negotiated: true;
  readonly ordered: boolean;
  readonly maxRetransmits?: number;
  readonly maxPacketLifeTime?: number;
}

/**
 * The data channels of a link, all negotiated out of band (both ends create them with these
 * ids), so they exist from the moment the connection does and go to a worker at once;
 * simple-peer's own in-band channel takes low ids. Lane 0 is reliable and ordered: control
 * (route setups, prunes, key frame requests) and data that must all arrive in order (sensor
 * readings, coded chunks). Lane 1 never retransmits: pings and pongs, and timely data with no
 * time left for a retransmission. The others carry timely data (video), unordered, so one lost
 * packet holds back nothing behind it, each with a bound on how long SCTP retransmits a
 * message: a message takes the lane with the longest bound its deadline still allows
 * (`timelyLane`).
 */
export const LINK_CHANNELS: readonly LinkChannelConfig[] = [
  { label: 'cubecast', id: 100, negotiated: true, ordered: true },
  { label: 'cubecast-timely-0', id: 101, negotiated: true, ordered: false, maxRetransmits: 0 },
  // Bounds a factor 2 apart: a message gets at least half the time its deadline leaves.
  ...[50, 100, 200, 400, 800, 1600].map((ms, i) => ({ label: `cubecast-timely-${ms}`, id: 102 + i, negotiated: true as const, ordered: false, maxPacketLifeTime: ms })),
];

/** The lane of control and of data that must arrive in order. */
export const RELIABLE_LANE = 0;
/**
 * Sent once, never retransmitted: pings and pongs (so an RTT sample is the path's own, not a
 * retransmission's nor a wait behind one, and a ping lost counts as loss), and timely data
 * too close to its deadline for a retransmission to help.
 */
export const UNRETRANSMITTED_LANE = 1;

/** The lane for a timely message with `slackMs` left before its deadline downstream. */
export function timelyLane(slackMs: number): number {
  for (let lane = LINK_CHANNELS.length - 1; lane > UNRETRANSMITTED_LANE; lane--) if (LINK_CHANNELS[lane]!.maxPacketLifeTime! <= slackMs) return lane;
  return UNRETRANSMITTED_LANE;
}

export const HEADER_BYTES = 32;
/** Largest data-channel message Cubecast sends: small enough for every SCTP stack. */
export const MAX_MESSAGE_BYTES = 16 * 1024;
export const MAX_PAYLOAD_BYTES = MAX_MESSAGE_BYTES - HEADER_BYTES;
/** A chunk is at most this many fragments (4 MiB of video frame). */
export const MAX_FRAGMENTS = 256;
/**
 * Every timely message, fragment or repair, is this long on the wire (`encodeTimely` pads it):
 * one SCTP packet exactly. Chromium's SCTP packets are at most 1191 bytes, 12 of common header
 * and 16 of DATA chunk header, and dcSCTP fills whatever room a packet has left with the
 * start of the next message. Messages of mixed sizes then straddle two packets each and lose
 * twice as often (measured: lane-1 loss read about 2x the loss iptables made); 1152 bytes
 * leave 11, too few to start another message in.
 */
export const TIMELY_MESSAGE_BYTES = 1152;
/**
 * Timely chunks are cut into fragments of this payload (or larger, for chunks past
 * MAX_FRAGMENTS of it), so a lost packet loses one fragment, which a repair rebuilds: the
 * message less the header and a repair's 2-byte prefix, to a multiple of 4.
 */
export const TIMELY_FRAGMENT_PAYLOAD = TIMELY_MESSAGE_BYTES - HEADER_BYTES - 4;

/** The fragment payload of a timely chunk of this length (sender and FEC decoder agree on it). */
export function timelyFragmentPayload(chunkLength: number): number {
  return Math.max(TIMELY_FRAGMENT_PAYLOAD, Math.ceil(chunkLength / MAX_FRAGMENTS));
}
export const NO_DESTINATION = 0xffffffff;

export const MessageType = {
  /** A channel's chunk (or a fragment of one), forwarded down the tree. */
  Data: 1,
  /** Sets up or refreshes one subscription's branch, hop by hop from the publisher. */
  RouteSetup: 2,
  /** Removes a subscription's branch from the receiving host's tables. */
  RoutePrune: 3,
  Ping: 4,
  Pong: 5,
  /** Travels upstream toward the publisher: a subscriber needs a key frame. */
  KeyframeRequest: 6,
  /**
   * To the previous hop: a block of a timely chunk lost more than its repairs rebuild; send
   * more repair rows of it (payload: `encodeRepairRequest`). Added within version 3: a peer
   * that predates it drops it as malformed, and the block waits for SCTP as before.
   */
  RepairRequest: 7,
  /**
   * Between two hosts' overlay algorithms (the engine's algorithm API): the payload is the
   * algorithm's own, at most MAX_ALGORITHM_PAYLOAD_BYTES; the channel field names the channel
   * it concerns (a host drops one of a channel it does not know), or NO_CHANNEL. Added within
   * version 3: a peer that predates it drops it as malformed.
   */
  Algorithm: 8,
} as const;

/** An algorithm's messages are control, not data: small. */
export const MAX_ALGORITHM_PAYLOAD_BYTES = 1024;
/** The channel field of an algorithm's message about no channel (channel ids start at 1). */
export const NO_CHANNEL = 0;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const Flags = {
  /** A key frame: a decoder can start here; never dropped. */
  Key: 0x01,
  /** May be dropped under congestion without breaking what follows (e.g. L1T3's top layer). */
  Droppable: 0x02,
  /** Bits 2-3: temporal layer (0-3), so relays can thin frame rate without decoding. */
  LayerMask: 0x0c,
  LayerShift: 2,
  /**
   * Late is useless (video): it travels unordered with bounded retransmission, and a host drops
   * it once no subscriber downstream can get it within its bound.
   */
  Timely: 0x10,
  /**
   * A per-hop FEC repair of a timely chunk's fragments (fec.ts): consumed by the next host,
   * never forwarded. Its fragment index is block × FEC_BLOCK_SOURCES + row; its payload is
   * in `encodeRepairPayload`.
   */
  Repair: 0x20,
} as const;

export interface MessageHeader {
  readonly type: MessageType;
  readonly flags: number;
  readonly hops: number;
  readonly channel: number;
  readonly sequence: number;
  readonly source: number;
  readonly destination: number;
  readonly latencyUs: number;
  readonly fragmentIndex: number;
  readonly fragmentCount: number;
}

export interface DecodedMessage extends MessageHeader {
  /** A view into the decoded buffer: no copy. */
  readonly payload: Uint8Array;
}

/** A data-plane message that cannot be decoded; peers drop it and count it. */
export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
}

const U32_MAX = 0xffffffff;

function checkHeader(h: MessageHeader, payloadLength: number): void {
  const u8 = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xff;
  const u16 = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffff;
  const u32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= U32_MAX;
  if (!Object.values(MessageType).includes(h.type)) throw new RangeError(`unknown message type ${h.type}`);
  if (!u8(h.flags) || !u8(h.hops)) throw new RangeError('flags and hops are bytes');
  if (![h.channel, h.sequence, h.source, h.destination, h.latencyUs].every(u32)) {
    throw new RangeError('channel, sequence, ids and latency are u32');
  }
  if (!u16(h.fragmentIndex) || !u16(h.fragmentCount) || h.fragmentCount < 1 || h.fragmentCount > MAX_FRAGMENTS) {
    throw new RangeError(`fragment count must be 1..${MAX_FRAGMENTS}`);
  }
  if (h.type === MessageType.RepairRequest && h.fragmentIndex % FEC_BLOCK_SOURCES !== 0) throw new RangeError('a repair request names a block by its first fragment');
  if (h.type === MessageType.Algorithm && payloadLength > MAX_ALGORITHM_PAYLOAD_BYTES) throw new RangeError(`an algorithm's message is at most ${MAX_ALGORITHM_PAYLOAD_BYTES} bytes, not ${payloadLength}`);
  if ((h.flags & Flags.Repair) !== 0) {
    const block = Math.floor(h.fragmentIndex / FEC_BLOCK_SOURCES);
    if (block * FEC_BLOCK_SOURCES >= h.fragmentCount) throw new RangeError('repair of a block past the count');
  } else if (h.fragmentIndex >= h.fragmentCount) throw new RangeError('fragment index past the count');
  if (payloadLength > MAX_PAYLOAD_BYTES) throw new RangeError(`payload of ${payloadLength} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
}

/** Bytes `encodeInto` writes for this payload. */
export function encodedLength(payload: Uint8Array): number {
  return HEADER_BYTES + payload.byteLength;
}

/** Writes header and payload at `offset`; returns the bytes written. */
export function encodeInto(target: Uint8Array, header: MessageHeader, payload: Uint8Array, offset = 0): number {
  checkHeader(header, payload.byteLength);
  const length = encodedLength(payload);
  if (target.byteLength - offset < length) throw new RangeError(`need ${length} bytes at offset ${offset}`);
  const view = new DataView(target.buffer, target.byteOffset + offset, HEADER_BYTES);
  view.setUint8(0, DATA_PLANE_VERSION);
  view.setUint8(1, header.type);
  view.setUint8(2, header.flags);
  view.setUint8(3, header.hops);
  view.setUint32(4, header.channel);
  view.setUint32(8, header.sequence);
  view.setUint32(12, header.source);
  view.setUint32(16, header.destination);
  view.setUint32(20, header.latencyUs);
  view.setUint16(24, header.fragmentIndex);
  view.setUint16(26, header.fragmentCount);
  view.setUint32(28, payload.byteLength);
  target.set(payload, offset + HEADER_BYTES);
  return length;
}

/** A timely message, zero-padded to TIMELY_MESSAGE_BYTES when shorter (decode ignores the padding). */
export function encodeTimely(header: MessageHeader, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.max(TIMELY_MESSAGE_BYTES, encodedLength(payload)));
  encodeInto(out, header, payload);
  return out;
}

export function encode(header: MessageHeader, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(encodedLength(payload));
  encodeInto(out, header, payload);
  return out;
}

/**
 * Decodes one message from `bytes`; the payload is a view, not a copy. Returns the message
 * and the bytes read; throws MalformedMessageError on anything out of bounds.
 */
export function decode(bytes: Uint8Array): { message: DecodedMessage; bytesRead: number } {
  if (bytes.byteLength < HEADER_BYTES) throw new MalformedMessageError(`${bytes.byteLength} bytes is shorter than a header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const version = view.getUint8(0);
  if (version !== DATA_PLANE_VERSION) throw new MalformedMessageError(`unsupported version ${version}`);
  const payloadLength = view.getUint32(28);
  if (payloadLength > MAX_PAYLOAD_BYTES) throw new MalformedMessageError(`payload length ${payloadLength} exceeds ${MAX_PAYLOAD_BYTES}`);
  if (bytes.byteLength < HEADER_BYTES + payloadLength) {
    throw new MalformedMessageError(`payload length ${payloadLength} runs past the ${bytes.byteLength}-byte message`);
  }
  const header: MessageHeader = {
    type: view.getUint8(1) as MessageType,
    flags: view.getUint8(2),
    hops: view.getUint8(3),
    channel: view.getUint32(4),
    sequence: view.getUint32(8),
    source: view.getUint32(12),
    destination: view.getUint32(16),
    latencyUs: view.getUint32(20),
    fragmentIndex: view.getUint16(24),
    fragmentCount: view.getUint16(26),
  };
  try {
    checkHeader(header, payloadLength);
  } catch (error) {
    throw new MalformedMessageError((error as Error).message);
  }
  const payload = bytes.subarray(HEADER_BYTES, HEADER_BYTES + payloadLength);
  return { message: { ...header, payload }, bytesRead: HEADER_BYTES + payloadLength };
}

/** Rewrites hops and accumulated latency in place: what a relay changes before forwarding. */
export function patchForwarded(bytes: Uint8Array, hops: number, latencyUs: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  view.setUint8(3, Math.min(0xff, hops));
  view.setUint32(20, Math.min(U32_MAX, Math.max(0, Math.round(latencyUs))));
}

/**
 * A repair's payload: the length of its block's last source (u16; the others are as long as
 * the coded bytes, so a rebuilt chunk's last fragment can be cut to size), then the coded bytes.
 */
export function encodeRepairPayload(lastSourceBytes: number, coded: Uint8Array): Uint8Array {
  if (!Number.isInteger(lastSourceBytes) || lastSourceBytes < 1 || lastSourceBytes > coded.byteLength) throw new RangeError('a block\'s last source is 1 byte up to the coded width');
  const out = new Uint8Array(2 + coded.byteLength);
  new DataView(out.buffer).setUint16(0, lastSourceBytes);
  out.set(coded, 2);
  return out;
}

export function decodeRepairPayload(payload: Uint8Array): { lastSourceBytes: number; coded: Uint8Array } {
  if (payload.byteLength < 3) throw new MalformedMessageError(`a ${payload.byteLength}-byte repair has no coded bytes`);
  const lastSourceBytes = new DataView(payload.buffer, payload.byteOffset, 2).getUint16(0);
  if (lastSourceBytes < 1 || lastSourceBytes > payload.byteLength - 2) throw new MalformedMessageError(`a repair's last source of ${lastSourceBytes} bytes does not fit its ${payload.byteLength - 2} coded bytes`);
  return { lastSourceBytes, coded: payload.subarray(2) };
}

/**
 * A repair request's payload: how many more repair rows the block needs (u8, 1..32: the
 * sources it still misses less the repairs it holds), then the rows it holds (u32, bit r for
 * row r), so the previous hop sends rows that are news.
 */
export interface RepairRequest {
  readonly wanted: number;
  readonly rowsHeld: number;
}

export const REPAIR_REQUEST_BYTES = 5;

export function encodeRepairRequest(request: RepairRequest): Uint8Array {
  if (!Number.isInteger(request.wanted) || request.wanted < 1 || request.wanted > FEC_BLOCK_SOURCES) throw new RangeError(`a block wants 1..${FEC_BLOCK_SOURCES} repairs`);
  if (!Number.isInteger(request.rowsHeld) || request.rowsHeld < 0 || request.rowsHeld > U32_MAX) throw new RangeError('the rows held are a u32 mask');
  const out = new Uint8Array(REPAIR_REQUEST_BYTES);
  const view = new DataView(out.buffer);
  view.setUint8(0, request.wanted);
  view.setUint32(1, request.rowsHeld);
  return out;
}

export function decodeRepairRequest(payload: Uint8Array): RepairRequest {
  if (payload.byteLength !== REPAIR_REQUEST_BYTES) throw new MalformedMessageError(`a repair request is ${REPAIR_REQUEST_BYTES} bytes, not ${payload.byteLength}`);
  const view = new DataView(payload.buffer, payload.byteOffset, REPAIR_REQUEST_BYTES);
  const wanted = view.getUint8(0);
  if (wanted < 1 || wanted > FEC_BLOCK_SOURCES) throw new MalformedMessageError(`a repair request for ${wanted} repairs`);
  return { wanted, rowsHeld: view.getUint32(1) };
}

export function temporalLayer(flags: number): number {
  return (flags & Flags.LayerMask) >> Flags.LayerShift;
}

// ---- Route setup payload ------------------------------------------------------------------
//
//  0  u8   policy (0 odr, 1 random, 2 greedy)
//  1  u8   reserved (0)
//  2  u16  subscription id length L (<= 64)
//  4  u32  epoch
//  8  u32  the logical id the message is at (a route walks ids; a host may own several)
// 12  u32  latency bound, ms
// 16  u16  pipeline JSON length P (<= 4096)
// 18  L    subscription id, UTF-8
// 18+L P   pipeline, JSON (the subscription's SPA specs)

export interface RouteSetup {
  readonly policy: 'odr' | 'random' | 'greedy';
  readonly subscriptionId: string;
  readonly epoch: number;
  readonly at: number;
  readonly maxLatencyMs: number;
  readonly pipeline: readonly unknown[];
}

const POLICIES = ['odr', 'random', 'greedy'] as const;
const MAX_SUBSCRIPTION_ID_BYTES = 64;
/** A route setup's pipeline JSON, at most: the server refuses subscriptions with longer ones. */
export const MAX_PIPELINE_BYTES = 4096;

export function encodeRouteSetup(setup: RouteSetup): Uint8Array {
  const id = new TextEncoder().encode(setup.subscriptionId);
  const pipeline = new TextEncoder().encode(JSON.stringify(setup.pipeline));
  if (id.byteLength > MAX_SUBSCRIPTION_ID_BYTES) throw new RangeError('subscription id too long');
  if (pipeline.byteLength > MAX_PIPELINE_BYTES) throw new RangeError('pipeline too long');
  const out = new Uint8Array(18 + id.byteLength + pipeline.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, POLICIES.indexOf(setup.policy));
  view.setUint16(2, id.byteLength);
  view.setUint32(4, setup.epoch);
  view.setUint32(8, setup.at);
  view.setUint32(12, Math.min(U32_MAX, Math.ceil(setup.maxLatencyMs)));
  view.setUint16(16, pipeline.byteLength);
  out.set(id, 18);
  out.set(pipeline, 18 + id.byteLength);
  return out;
}

export function decodeRouteSetup(bytes: Uint8Array): RouteSetup {
  if (bytes.byteLength < 18) throw new MalformedMessageError('route setup shorter than 18 bytes');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const policy = POLICIES[view.getUint8(0)];
  if (!policy) throw new MalformedMessageError(`unknown routing policy ${view.getUint8(0)}`);
  const idLength = view.getUint16(2);
  const pipelineLength = view.getUint16(16);
  if (idLength > MAX_SUBSCRIPTION_ID_BYTES || pipelineLength > MAX_PIPELINE_BYTES || 18 + idLength + pipelineLength !== bytes.byteLength) {
    throw new MalformedMessageError('route setup lengths do not add up');
  }
  let pipeline: unknown;
  let subscriptionId: string;
  try {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    subscriptionId = decoder.decode(bytes.subarray(18, 18 + idLength));
    pipeline = JSON.parse(decoder.decode(bytes.subarray(18 + idLength)));
  } catch {
    throw new MalformedMessageError('route setup strings are not valid UTF-8 JSON');
  }
  if (!Array.isArray(pipeline)) throw new MalformedMessageError('route setup pipeline is not a list');
  return { policy, subscriptionId, epoch: view.getUint32(4), at: view.getUint32(8), maxLatencyMs: view.getUint32(12), pipeline };
}
