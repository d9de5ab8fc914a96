/**
 * GF(2^8) arithmetic with the polynomial 0x11d, by log and exp tables: what FEC's repairs and
 * network coding's combinations are computed in (the coding SPA uses the same field).
 * Addition is XOR.
 */

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]!;
}

export function mul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!;
}

export function inverse(a: number): number {
  return EXP[255 - LOG[a]!]!;
}

/** dst ^= c · src, over src's length. */
export function mulAdd(dst: Uint8Array, src: Uint8Array, c: number): void {
  if (c === 0) return;
  const lc = LOG[c]!;
  const n = Math.min(dst.length, src.length);
  for (let i = 0; i < n; i++) {
    const s = src[i]!;
    if (s !== 0) dst[i]! ^= EXP[LOG[s]! + lc]!;
  }
}
