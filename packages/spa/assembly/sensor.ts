// sensor: filters a numeric sensor channel (docs/protocol.md, "Sensor payload").
// Config (big-endian): u8 mode (0 threshold: keep readings >= the threshold, drop a chunk
// left empty; 1 moving average over the last `window` readings), u8 0, u16 window (1-1024),
// f64 threshold.
import { loadF64BE, loadU16BE, scratch, storeF64BE, storeU16BE } from './bytes';

const VERSION: u8 = 1;
const HEADER: usize = 4;
const READING: usize = 16;
const MAX_WINDOW: u32 = 1024;

let mode: u8 = 0;
let window: u32 = 8;
let threshold: f64 = 0;
const history = scratch(0);
let filled: u32 = 0;
let next: u32 = 0;
let sum: f64 = 0;

export function spa_init(cfgPtr: i32, cfgLen: i32): i32 {
  if (cfgLen < 12) return -1;
  const cfg = <usize>cfgPtr;
  mode = load<u8>(cfg);
  window = loadU16BE(cfg + 2);
  threshold = loadF64BE(cfg + 4);
  if (mode > 1 || window < 1 || window > MAX_WINDOW) return -1;
  return 0;
}

export function spa_process(inPtr: i32, inLen: i32, outPtr: i32, outCap: i32): i32 {
  if (inLen == 0) return -1; // a drain call: this SPA holds nothing
  const input = <usize>inPtr;
  const output = <usize>outPtr;
  if (<usize>inLen < HEADER || load<u8>(input) != VERSION) return -2;
  const count = <usize>loadU16BE(input + 2);
  if (HEADER + count * READING != <usize>inLen || <usize>inLen > <usize>outCap) return -2;
  let kept: usize = 0;
  for (let i: usize = 0; i < count; i++) {
    const reading = input + HEADER + i * READING;
    const time = loadF64BE(reading);
    let value = loadF64BE(reading + 8);
    if (mode == 0) {
      if (!(value >= threshold)) continue;
    } else {
      // A running sum over a ring of the last `window` values.
      const slot = history + <usize>next * 8;
      if (filled == window) sum -= load<f64>(slot);
      else filled++;
      store<f64>(slot, value);
      sum += value;
      next = (next + 1) % window;
      value = sum / <f64>filled;
    }
    const out = output + HEADER + kept * READING;
    storeF64BE(out, time);
    storeF64BE(out + 8, value);
    kept++;
  }
  if (kept == 0) return -1;
  store<u8>(output, VERSION);
  store<u8>(output + 1, 0);
  storeU16BE(output + 2, <u16>kept);
  return <i32>(HEADER + kept * READING);
}
