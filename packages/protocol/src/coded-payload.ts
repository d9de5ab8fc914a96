import { MalformedMessageError } from './data-plane.js';
import { inverse, mulAdd } from './gf256.js';

/**
 * A network-coded payload (docs/protocol.md, "Coded payload"): c1·A + c2·B over GF(2^8) of
 * two plain payloads, with what a receiver holding one of them needs to recover the other.
 * The coding SPA writes the same bytes. Pure: no I/O.
 *
 *  0  u8   version (1)
 *  1  u8   c1 (1-255)
 *  2  u8   c2 (1-255)
 *  3  u8   reserved (0)
 *  4  u32  sequence of A
 *  8  u32  sequence of B
 * 12  u32  length of A (<= 16384)
 * 16  u32  length of B (<= 16384)
 * 20  max(lenA, lenB) bytes: c1·A + c2·B, the shorter zero-padded
 */
export const CODED_PAYLOAD_VERSION = 1;
export const CODED_HEADER_BYTES = 20;
/** The longest plain payload coded (the coding SPA's slots hold as much). */
export const MAX_CODED_PLAIN_BYTES = 16 * 1024;

export interface PlainPart {
  readonly sequence: number;
  readonly payload: Uint8Array;
}

export interface CodedPayload {
  readonly c1: number;
  readonly c2: number;
  readonly a: { readonly sequence: number; readonly length: number };
  readonly b: { readonly sequence: number; readonly length: number };
  /** c1·A + c2·B (a view into the decoded bytes). */
  readonly body: Uint8Array;
}

export function encodeCodedPayload(a: PlainPart, b: PlainPart, c1 = 1, c2 = 1): Uint8Array {
  for (const c of [c1, c2]) if (!Number.isInteger(c) || c < 1 || c > 255) throw new RangeError(`a coding coefficient is 1..255, got ${c}`);
  for (const { payload } of [a, b]) if (payload.byteLength > MAX_CODED_PLAIN_BYTES) throw new RangeError(`a coded payload's parts are at most ${MAX_CODED_PLAIN_BYTES} bytes`);
  const bytes = new Uint8Array(CODED_HEADER_BYTES + Math.max(a.payload.byteLength, b.payload.byteLength));
  const view = new DataView(bytes.buffer);
  view.setUint8(0, CODED_PAYLOAD_VERSION);
  view.setUint8(1, c1);
  view.setUint8(2, c2);
  view.setUint32(4, a.sequence);
  view.setUint32(8, b.sequence);
  view.setUint32(12, a.payload.byteLength);
  view.setUint32(16, b.payload.byteLength);
  const body = bytes.subarray(CODED_HEADER_BYTES);
  mulAdd(body, a.payload, c1);
  mulAdd(body, b.payload, c2);
  return bytes;
}

export function decodeCodedPayload(bytes: Uint8Array): CodedPayload {
  if (bytes.byteLength < CODED_HEADER_BYTES) throw new MalformedMessageError(`a coded payload has a ${CODED_HEADER_BYTES}-byte header, got ${bytes.byteLength} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, CODED_HEADER_BYTES);
  const version = view.getUint8(0);
  if (version !== CODED_PAYLOAD_VERSION) throw new MalformedMessageError(`coded payload version ${version}, not ${CODED_PAYLOAD_VERSION}`);
  const c1 = view.getUint8(1);
  const c2 = view.getUint8(2);
  // A zero coefficient codes nothing of one part: that part could never be recovered.
  if (c1 === 0 || c2 === 0) throw new MalformedMessageError('a coded payload with a zero coefficient');
  const lengthA = view.getUint32(12);
  const lengthB = view.getUint32(16);
  if (lengthA > MAX_CODED_PLAIN_BYTES || lengthB > MAX_CODED_PLAIN_BYTES) throw new MalformedMessageError(`a coded payload's parts are at most ${MAX_CODED_PLAIN_BYTES} bytes`);
  const body = bytes.subarray(CODED_HEADER_BYTES);
  if (body.byteLength !== Math.max(lengthA, lengthB)) throw new MalformedMessageError(`a coded payload's body is ${Math.max(lengthA, lengthB)} bytes by its header, not ${body.byteLength}`);
  return { c1, c2, a: { sequence: view.getUint32(4), length: lengthA }, b: { sequence: view.getUint32(8), length: lengthB }, body };
}

/**
 * The part a receiver lacks, from the coded payload and the part it holds (`held` says which):
 * other = (body - c_held · held) / c_other. The held part must be the one the payload names.
 */
export function recoverCodedPart(coded: CodedPayload, held: 'a' | 'b', plain: Uint8Array): Uint8Array {
  const [mine, other] = held === 'a' ? [coded.a, coded.b] : [coded.b, coded.a];
  if (plain.byteLength !== mine.length) throw new RangeError(`the held part is ${mine.length} bytes by the coded payload, not ${plain.byteLength}`);
  const [cHeld, cOther] = held === 'a' ? [coded.c1, coded.c2] : [coded.c2, coded.c1];
  const sum = coded.body.slice(0, other.length);
  mulAdd(sum, plain, cHeld);
  const recovered = new Uint8Array(other.length);
  mulAdd(recovered, sum, inverse(cOther));
  return recovered;
}
