// thin: frame-rate thinning by temporal layer, without re-encoding. Under L1T3 layer 0 is
// every 4th frame and layers 0-1 every 2nd; nothing references a higher layer than its own,
// so dropping the upper ones leaves a stream the decoder can play. Config: byte 0, the
// highest layer kept (default 0). Input: video payloads (docs/protocol.md, version 2).

const VERSION: u8 = 2;
const LAYER_OFFSET: usize = 6;
const HEADER: i32 = 24;

let maxLayer: u8 = 0;

export function spa_init(cfgPtr: i32, cfgLen: i32): i32 {
  maxLayer = cfgLen > 0 ? load<u8>(<usize>cfgPtr) : 0;
  return 0;
}

export function spa_process(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  if (inLen == 0) return -1; // a drain call: this SPA holds nothing
  if (inLen < HEADER || load<u8>(<usize>inPtr) != VERSION) return -2;
  if (load<u8>(<usize>inPtr + LAYER_OFFSET) > maxLayer) return -1;
  if (inLen > outCap) return -2;
  memory.copy(<usize>outPtr, <usize>inPtr, <usize>inLen);
  return inLen;
}
