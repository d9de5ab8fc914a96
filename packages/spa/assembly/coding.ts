// coding: GF(2^8) network coding of two streams (iOverlay's case study). A coding relay
// receives streams A and B and sends one coded stream, c1·A + c2·B; a receiver that has one
// of the plain streams and the coded one recovers the other. Arithmetic in GF(2^8) with the
// polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d); addition is XOR.
//
// Config: u8 mode (0 encode, 1 decode), u8 the plain stream a decoder holds (0 A, 1 B),
// u8 seed of the coefficient generator (encoder).
// Input: tagged records from the host, [u8 input, 3 x u8 0, u32 seq (BE), payload]; the encoder
// takes A on input 0 and B on input 1, the decoder its plain stream on 0 and the coded one on 1.
// Output of the encoder: a coded payload (docs/protocol.md, "Coded payload"); of the decoder:
// a tagged record of the recovered stream, [u8 stream, 3 x u8 0, u32 seq, payload].
import { loadU32BE, scratch, storeU32BE } from './bytes';

const TAG: usize = 8;
const CODED_HEADER: usize = 20;
const VERSION: u8 = 1;
/** Plain chunks are at most this long; a held slot also fits a coded chunk's header. */
const MAX_PLAIN: usize = 16384;
const MAX_CHUNK: usize = MAX_PLAIN + CODED_HEADER;
const SLOTS: usize = 8;

// Working memory above the static data (zeroed by the host): the module's initial memory
// covers it (the build sizes --initialMemory for it).
const exp = scratch(0);
const log = exp + 512;
const table = log + 256; // products of one coefficient, rebuilt per use
// SLOTS held chunks per input: seq, length, in-use flag, age and bytes.
const slotSeq = table + 256;
const slotLen = slotSeq + 2 * SLOTS * 4;
const slotAge = slotLen + 2 * SLOTS * 4;
const slotUsed = slotAge + 2 * SLOTS * 4;
const slotBytes = slotUsed + 2 * SLOTS;

let decoding = false;
let plainStream: u8 = 0;
let rng: u32 = 1;
let clock: u32 = 0;

function initField(): void {
  let x: u32 = 1;
  for (let i: usize = 0; i < 255; i++) {
    store<u8>(exp + i, <u8>x);
    store<u8>(exp + i + 255, <u8>x);
    store<u8>(log + x, <u8>i);
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
}

function inverse(c: u8): u8 {
  return load<u8>(exp + 255 - <usize>load<u8>(log + c));
}

function buildTable(c: u8): void {
  store<u8>(table, 0);
  const logC = <usize>load<u8>(log + c);
  for (let x: usize = 1; x < 256; x++) store<u8>(table + x, load<u8>(exp + logC + <usize>load<u8>(log + x)));
}

// out[i] ^= c·src[i] for i < len (src beyond srcLen counts as zero).
function addScaled(out: usize, src: usize, srcLen: usize, c: u8): void {
  buildTable(c);
  for (let i: usize = 0; i < srcLen; i++) store<u8>(out + i, load<u8>(out + i) ^ load<u8>(table + <usize>load<u8>(src + i)));
}

function scale(buf: usize, len: usize, c: u8): void {
  buildTable(c);
  for (let i: usize = 0; i < len; i++) store<u8>(buf + i, load<u8>(table + <usize>load<u8>(buf + i)));
}

function nonZeroCoefficient(): u8 {
  // xorshift32: the coefficients need not be secret, only non-zero and varied.
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return <u8>(rng % 255 + 1);
}

function slot(input: usize, i: usize): usize {
  return input * SLOTS + i;
}

// Holds a chunk; a full input evicts its oldest (the stream has moved on without a partner).
function hold(input: usize, seq: u32, src: usize, len: usize): void {
  let victim: usize = 0;
  let oldest: u32 = 0xffffffff;
  for (let i: usize = 0; i < SLOTS; i++) {
    const s = slot(input, i);
    if (!load<u8>(slotUsed + s)) {
      victim = s;
      break;
    }
    const age = load<u32>(slotAge + s * 4);
    if (age < oldest) {
      oldest = age;
      victim = s;
    }
  }
  store<u8>(slotUsed + victim, 1);
  store<u32>(slotSeq + victim * 4, seq);
  store<u32>(slotLen + victim * 4, <u32>len);
  store<u32>(slotAge + victim * 4, clock++);
  memory.copy(slotBytes + victim * MAX_CHUNK, src, len);
}

// The oldest held chunk of an input (the encoder pairs in arrival order), or -1.
function oldestHeld(input: usize): isize {
  let found: isize = -1;
  let oldest: u32 = 0xffffffff;
  for (let i: usize = 0; i < SLOTS; i++) {
    const s = slot(input, i);
    if (load<u8>(slotUsed + s) && load<u32>(slotAge + s * 4) < oldest) {
      oldest = load<u32>(slotAge + s * 4);
      found = <isize>s;
    }
  }
  return found;
}

function heldWithSeq(input: usize, seq: u32): isize {
  for (let i: usize = 0; i < SLOTS; i++) {
    const s = slot(input, i);
    if (load<u8>(slotUsed + s) && load<u32>(slotSeq + s * 4) == seq) return <isize>s;
  }
  return -1;
}

export function spa_init(cfgPtr: i32, cfgLen: i32): i32 {
  initField();
  const cfg = <usize>cfgPtr;
  decoding = cfgLen > 0 && load<u8>(cfg) == 1;
  plainStream = cfgLen > 1 ? load<u8>(cfg + 1) : 0;
  rng = cfgLen > 2 ? <u32>load<u8>(cfg + 2) * 2654435761 + 1 : 1;
  if (plainStream > 1) return -1;
  return 0;
}

function encode(outPtr: usize, outCap: usize): i32 {
  const a = oldestHeld(0);
  const b = oldestHeld(1);
  if (a < 0 || b < 0) return -1;
  const lenA = <usize>load<u32>(slotLen + <usize>a * 4);
  const lenB = <usize>load<u32>(slotLen + <usize>b * 4);
  const len = max(lenA, lenB);
  if (CODED_HEADER + len > outCap) return -2;
  const c1 = nonZeroCoefficient();
  const c2 = nonZeroCoefficient();
  store<u8>(outPtr, VERSION);
  store<u8>(outPtr + 1, c1);
  store<u8>(outPtr + 2, c2);
  store<u8>(outPtr + 3, 0);
  storeU32BE(outPtr + 4, load<u32>(slotSeq + <usize>a * 4));
  storeU32BE(outPtr + 8, load<u32>(slotSeq + <usize>b * 4));
  storeU32BE(outPtr + 12, <u32>lenA);
  storeU32BE(outPtr + 16, <u32>lenB);
  const body = outPtr + CODED_HEADER;
  memory.fill(body, 0, len);
  addScaled(body, slotBytes + <usize>a * MAX_CHUNK, lenA, c1);
  addScaled(body, slotBytes + <usize>b * MAX_CHUNK, lenB, c2);
  store<u8>(slotUsed + <usize>a, 0);
  store<u8>(slotUsed + <usize>b, 0);
  return <i32>(CODED_HEADER + len);
}

// Recovers the other stream from a held coded chunk and the held plain chunk it names.
function decode(outPtr: usize, outCap: usize): i32 {
  for (let i: usize = 0; i < SLOTS; i++) {
    const coded = slot(1, i);
    if (!load<u8>(slotUsed + coded)) continue;
    const c = slotBytes + coded * MAX_CHUNK;
    const seqPlain = loadU32BE(c + 4 + 4 * <usize>plainStream);
    const plain = heldWithSeq(0, seqPlain);
    if (plain < 0) continue;
    const cPlain = load<u8>(c + 1 + <usize>plainStream);
    const cOther = load<u8>(c + 2 - <usize>plainStream);
    const seqOther = loadU32BE(c + 8 - 4 * <usize>plainStream);
    const lenPlain = <usize>loadU32BE(c + 12 + 4 * <usize>plainStream);
    const lenOther = <usize>loadU32BE(c + 16 - 4 * <usize>plainStream);
    if (TAG + lenOther > outCap) return -2;
    const body = outPtr + TAG;
    // other = (coded - cPlain·plain) / cOther; subtraction is addition (XOR) in GF(2^8).
    memory.copy(body, c + CODED_HEADER, lenOther);
    addScaled(body, slotBytes + <usize>plain * MAX_CHUNK, min(lenPlain, lenOther), cPlain);
    scale(body, lenOther, inverse(cOther));
    store<u32>(outPtr, 1 - <u32>plainStream);
    storeU32BE(outPtr + 4, seqOther);
    store<u8>(slotUsed + coded, 0);
    store<u8>(slotUsed + <usize>plain, 0);
    return <i32>(TAG + lenOther);
  }
  return -1;
}

export function spa_process(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  const input = <usize>inPtr;
  if (inLen > 0) {
    if (<usize>inLen < TAG) return -2;
    const which = <usize>load<u8>(input);
    const len = <usize>inLen - TAG;
    if (which > 1 || len > (decoding && which == 1 ? MAX_CHUNK : MAX_PLAIN)) return -2;
    if (decoding && which == 1) {
      // A coded chunk must be whole: its lengths say how much body follows.
      if (len < CODED_HEADER || load<u8>(input + TAG) != VERSION) return -2;
      const body = max(loadU32BE(input + TAG + 12), loadU32BE(input + TAG + 16));
      if (<usize>body != len - CODED_HEADER) return -2;
    }
    hold(which, loadU32BE(input + 4), input + TAG, len);
  }
  // A call with no input (inLen 0) asks for what is still ready: the host drains until -1.
  return decoding ? decode(<usize>outPtr, <usize>outCap) : encode(<usize>outPtr, <usize>outCap);
}
