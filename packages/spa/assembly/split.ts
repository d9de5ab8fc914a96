// split: deals a stream's chunks across two paths (iOverlay's split; merge is the hold that
// puts them back in order). Output: [u8 path (0 or 1), 3 x u8 0, u32 seq (BE), payload]; the
// host sends each to its path's next hop.
import { storeU32BE } from './bytes';

const TAG: usize = 8;
let seq: u32 = 0;

export function spa_init(cfgPtr: i32, cfgLen: i32): i32 {
  seq = 0;
  return 0;
}

export function spa_process(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  if (inLen == 0) return -1;
  if (TAG + <usize>inLen > <usize>outCap) return -2;
  const out = <usize>outPtr;
  store<u32>(out, seq & 1);
  storeU32BE(out + 4, seq);
  memory.copy(out + TAG, <usize>inPtr, <usize>inLen);
  seq++;
  return <i32>(TAG + <usize>inLen);
}
