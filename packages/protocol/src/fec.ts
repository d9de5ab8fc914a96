/**
 * Forward error correction for timely data, per hop: a systematic Reed-Solomon erasure code
 * over GF(2^8) with a Cauchy matrix. The sources (a chunk's fragments) go as they are; m
 * repair messages follow, and any m of the k + m that are lost can be rebuilt from the rest,
 * with no retransmission and so no wait for one. Pure: no I/O, no clocks.
 *
 * Why Cauchy: every square submatrix of a Cauchy matrix is invertible, so any set of repairs
 * rebuilds any set of as many missing sources, and repair rows are independent of k (a
 * sender can send the first m rows for whatever m a link needs).
 */

import { inverse, mul, mulAdd } from './gf256.js';

/** A chunk's fragments are protected in consecutive blocks of at most this many. */
export const FEC_BLOCK_SOURCES = 32;
/** Repair rows per block (each names its row: x_row = row, y_source = 32 + index, all distinct). */
export const FEC_MAX_REPAIRS = 32;

/** The coefficient of source `index` in repair `row`. */
function coefficient(row: number, index: number): number {
  return inverse(row ^ (FEC_BLOCK_SOURCES + index));
}

/**
 * How many repairs a block of `k` sources needs so that, each message being lost on its own
 * with probability `lossRate`, the block loses more than it can rebuild with probability at
 * most `target`. 0 when nothing is lost.
 */
export function repairCount(k: number, lossRate: number, target = 0.005): number {
  if (!(lossRate > 0) || k < 1) return 0;
  const p = Math.min(lossRate, 0.5);
  for (let m = 0; m < FEC_MAX_REPAIRS; m++) {
    const n = k + m;
    // P(X <= m) for X ~ Binomial(n, p), term by term.
    let term = (1 - p) ** n;
    let cdf = term;
    for (let x = 1; x <= m; x++) {
      term *= ((n - x + 1) / x) * (p / (1 - p));
      cdf += term;
    }
    if (1 - cdf <= target) return m;
  }
  return FEC_MAX_REPAIRS;
}

/**
 * Repair rows 0..m-1 of one block. Each is as long as the longest source; shorter sources
 * (a chunk's last fragment) count as zero-padded.
 */
export function encodeRepairs(sources: readonly Uint8Array[], m: number): Uint8Array[] {
  if (!Number.isInteger(m) || m < 0 || m > FEC_MAX_REPAIRS) throw new RangeError(`a block has 0..${FEC_MAX_REPAIRS} repairs`);
  return encodeRepairRows(sources, Array.from({ length: m }, (_, row) => row));
}

/** The given repair rows of one block: what a host sends a next hop that asked for more. */
export function encodeRepairRows(sources: readonly Uint8Array[], rows: readonly number[]): Uint8Array[] {
  if (sources.length < 1 || sources.length > FEC_BLOCK_SOURCES) throw new RangeError(`a block has 1..${FEC_BLOCK_SOURCES} sources`);
  if (!rows.every((row) => Number.isInteger(row) && row >= 0 && row < FEC_MAX_REPAIRS)) throw new RangeError(`repair rows are 0..${FEC_MAX_REPAIRS - 1}`);
  const width = Math.max(...sources.map((s) => s.length));
  return rows.map((row) => {
    const repair = new Uint8Array(width);
    sources.forEach((source, index) => mulAdd(repair, source, coefficient(row, index)));
    return repair;
  });
}

/**
 * Rebuilds a block's missing sources. `sources` has k entries, undefined where missing;
 * `repairs` maps row to repair (all of one width). Returns the rebuilt sources by index, each
 * as wide as the repairs (the caller trims a chunk's last fragment), or undefined when fewer
 * repairs arrived than sources are missing.
 */
export function recoverSources(sources: readonly (Uint8Array | undefined)[], repairs: ReadonlyMap<number, Uint8Array>): Map<number, Uint8Array> | undefined {
  const missing = sources.flatMap((s, i) => (s === undefined ? [i] : []));
  if (missing.length === 0) return new Map();
  if (repairs.size < missing.length) return undefined;
  const rows = [...repairs.keys()].slice(0, missing.length);
  const width = repairs.get(rows[0]!)!.length;
  // b_r = repair_r minus what the present sources put in it: C[rows][missing] · s_missing.
  const known = rows.map((row) => {
    const b = repairs.get(row)!.slice();
    if (b.length !== width) throw new RangeError('repairs of one block differ in width');
    sources.forEach((source, index) => source && mulAdd(b, source, coefficient(row, index)));
    return b;
  });
  // Gauss-Jordan on the square Cauchy submatrix, applying each row step to the payloads.
  const e = missing.length;
  const matrix = rows.map((row) => missing.map((index) => coefficient(row, index)));
  for (let col = 0; col < e; col++) {
    let pivot = col;
    while (matrix[pivot]![col] === 0) pivot++; // Cauchy: some row below has it
    [matrix[col], matrix[pivot]] = [matrix[pivot]!, matrix[col]!];
    [known[col], known[pivot]] = [known[pivot]!, known[col]!];
    const scale = inverse(matrix[col]![col]!);
    matrix[col] = matrix[col]!.map((v) => mul(v, scale));
    const scaled = new Uint8Array(width);
    mulAdd(scaled, known[col]!, scale);
    known[col] = scaled;
    for (let r = 0; r < e; r++) {
      const factor = matrix[r]![col]!;
      if (r === col || factor === 0) continue;
      matrix[r] = matrix[r]!.map((v, c) => v ^ mul(matrix[col]![c]!, factor));
      mulAdd(known[r]!, known[col]!, factor);
    }
  }
  return new Map(missing.map((index, i) => [index, known[i]!]));
}
