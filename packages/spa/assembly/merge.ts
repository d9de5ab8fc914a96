// merge: iOverlay's hold. Chunks split across two paths arrive out of order; merge releases
// them in sequence, holding early ones until the gap fills, and gives up on a gap once
// WINDOW chunks have piled up behind it (the missing one was lost). Input: split's records;
// output: the payloads, in order (an empty record only holds a place). A call with no input
// releases the next ready chunk.
import { loadU32BE, scratch } from './bytes';

const TAG: usize = 8;
const WINDOW: usize = 16;
const MAX_CHUNK: usize = 65536;

// Working memory above the static data, inside the module's initial memory.
const heldLen = scratch(0);
const heldSeq = heldLen + WINDOW * 4;
const heldUsed = heldSeq + WINDOW * 4;
const held = heldUsed + WINDOW;
// split numbers from 0. A merge that starts mid-stream holds its first WINDOW chunks, then
// skips to the earliest: a one-off delay, rather than dropping a chunk that was merely late.
let expected: u32 = 0;

export function spa_init(cfgPtr: i32, cfgLen: i32): i32 {
  expected = 0;
  return 0;
}

function count(): usize {
  let n: usize = 0;
  for (let i: usize = 0; i < WINDOW; i++) n += <usize>load<u8>(heldUsed + i);
  return n;
}

function release(i: usize, outPtr: usize, outCap: usize): i32 {
  const len = <usize>load<u32>(heldLen + i * 4);
  if (len > outCap) return -2;
  memory.copy(outPtr, held + i * MAX_CHUNK, len);
  store<u8>(heldUsed + i, 0);
  expected = load<u32>(heldSeq + i * 4) + 1;
  return <i32>len;
}

/** The held chunk to release next: the expected one, or the earliest once the window is full; -1 for none. */
function nextReady(): isize {
  let earliest: isize = -1;
  for (let i: usize = 0; i < WINDOW; i++) {
    if (!load<u8>(heldUsed + i)) continue;
    const seq = load<u32>(heldSeq + i * 4);
    if (seq == expected) return i;
    if (earliest < 0 || <i32>(seq - load<u32>(heldSeq + <usize>earliest * 4)) < 0) earliest = i;
  }
  return count() == WINDOW ? earliest : -1;
}

export function spa_process(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  const input = <usize>inPtr;
  const out = <usize>outPtr;
  if (inLen > 0) {
    if (<usize>inLen < TAG || <usize>inLen - TAG > MAX_CHUNK) return -2;
    const seq = loadU32BE(input + 4);
    const len = <usize>inLen - TAG;
    const behind = <i32>(expected - seq);
    // One of the first numbers, more than a window behind, is no late chunk (merge gives up on
    // a gap within a window): the split started again (its pipeline restarted at the branch
    // point) and numbers from 0. Start again with it, or every chunk from now on would count
    // as late. (A path lagging more than a window behind later on is still dropped as late.)
    if (behind > <i32>WINDOW && seq < <u32>WINDOW) {
      for (let i: usize = 0; i < WINDOW; i++) store<u8>(heldUsed + i, 0);
      expected = seq;
    } else if (behind > 0) {
      return -1; // late: its place in the order is gone
    }
    if (seq == expected && len > 0) {
      if (len > <usize>outCap) return -2;
      memory.copy(out, input + TAG, len);
      expected = seq + 1;
      return <i32>len;
    }
    if (seq == expected) {
      expected = seq + 1; // an empty record: see below
    } else {
      // A free slot always exists: the window is never left full (see below).
      for (let i: usize = 0; i < WINDOW; i++) {
        if (load<u8>(heldUsed + i)) continue;
        store<u8>(heldUsed + i, 1);
        store<u32>(heldSeq + i * 4, seq);
        store<u32>(heldLen + i * 4, <u32>len);
        memory.copy(held + i * MAX_CHUNK, input + TAG, len);
        break;
      }
    }
  }
  // An empty record is a chunk a stage on its path dropped (stages between split and merge
  // keep the tag and send it alone): its place in the order is passed at once, so merge never
  // waits for a chunk that will not come.
  let ready = nextReady();
  while (ready >= 0 && load<u32>(heldLen + <usize>ready * 4) == 0) {
    store<u8>(heldUsed + <usize>ready, 0);
    expected = load<u32>(heldSeq + <usize>ready * 4) + 1;
    ready = nextReady();
  }
  return ready < 0 ? -1 : release(<usize>ready, out, <usize>outCap);
}
