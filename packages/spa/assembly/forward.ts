// forward: the identity SPA. A relay that only needs to carry the stream, or a pipeline
// stage a person wants to measure the sandbox's own cost with.

export function spa_init(cfgPtr: i32, cfgLen: i32): i32 {
  return 0;
}

export function spa_process(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  if (inLen > outCap) return -2;
  memory.copy(<usize>outPtr, <usize>inPtr, <usize>inLen);
  return inLen;
}
