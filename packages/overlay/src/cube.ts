import { InvalidArgumentError } from './errors.js';

/** A logical node of the cube: an integer in `0..M-1`. */
export type LogicalId = number;

/** Largest radix: the text form spends one character (`0-9a-z`) per digit. */
export const MAX_RADIX = 36;
/**
 * Largest cube size. Ids are JS numbers, and ownership keeps one slot per id, so the cap is
 * set by memory rather than by arithmetic (which would allow 2^53).
 */
export const MAX_CUBE_SIZE = 2 ** 32;

const DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * A k-ary n-cube: `M = k^n` logical nodes; two nodes are neighbours iff their ids differ in
 * exactly one digit, by ±1 mod k. Dimension 0 is the most significant digit, the leftmost
 * character of the text form.
 */
export class Cube {
  readonly k: number;
  readonly n: number;
  /** Number of logical nodes, `k^n`. */
  readonly size: number;
  /** `weights[i] = k^(n-1-i)`: what one step in dimension i adds to an id. */
  readonly weights: readonly number[];

  constructor(k: number, n: number) {
    if (!Number.isInteger(k) || k < 2 || k > MAX_RADIX) {
      throw new InvalidArgumentError(`k must be an integer from 2 to ${MAX_RADIX}, got ${k}`);
    }
    if (!Number.isInteger(n) || n < 1) {
      throw new InvalidArgumentError(`n must be a positive integer, got ${n}`);
    }
    const size = k ** n;
    if (size > MAX_CUBE_SIZE) {
      throw new InvalidArgumentError(`a ${k}-ary ${n}-cube has ${size} nodes, more than ${MAX_CUBE_SIZE}`);
    }
    this.k = k;
    this.n = n;
    this.size = size;
    const weights: number[] = [];
    for (let i = 0; i < n; i++) weights.push(k ** (n - 1 - i));
    this.weights = weights;
  }

  /** Neighbours per node: n when k = 2 (+1 and -1 coincide), else 2n. */
  get degree(): number {
    return this.k === 2 ? this.n : 2 * this.n;
  }

  /** Worst-case hop count W(k, n) = n * floor(k/2). */
  get diameter(): number {
    return this.n * Math.floor(this.k / 2);
  }

  /**
   * A(k, n) = n * floor(k^2/4) / k: the mean hop distance over all ordered pairs of nodes,
   * a node paired with itself included. Exact, because the mean ring distance on a ring of k
   * is floor(k^2/4)/k and dimensions are independent.
   */
  get averageHops(): number {
    return (this.n * Math.floor((this.k * this.k) / 4)) / this.k;
  }

  toString(): string {
    return `${this.k}-ary ${this.n}-cube`;
  }

  equals(other: Cube): boolean {
    return this.k === other.k && this.n === other.n;
  }

  isId(id: number): id is LogicalId {
    return Number.isInteger(id) && id >= 0 && id < this.size;
  }

  assertId(id: number): void {
    if (!this.isId(id)) throw new InvalidArgumentError(`${id} is not an id of the ${this}`);
  }

  /** Digit of `id` in dimension `dim` (0 = leftmost). */
  digit(id: LogicalId, dim: number): number {
    return Math.floor(id / this.weights[dim]!) % this.k;
  }

  /** All n digits, dimension 0 first. */
  digits(id: LogicalId): number[] {
    const out = new Array<number>(this.n);
    let rest = id;
    for (let i = this.n - 1; i >= 0; i--) {
      out[i] = rest % this.k;
      rest = Math.floor(rest / this.k);
    }
    return out;
  }

  fromDigits(digits: readonly number[]): LogicalId {
    let id = 0;
    for (const d of digits) id = id * this.k + d;
    return id;
  }

  /** The id one step from `id` in dimension `dim`, direction +1 or -1 (mod k). */
  step(id: LogicalId, dim: number, direction: 1 | -1): LogicalId {
    const w = this.weights[dim]!;
    const d = Math.floor(id / w) % this.k;
    const next = (d + direction + this.k) % this.k;
    return id + (next - d) * w;
  }

  /**
   * Neighbours in "odr order": dimension 0 first, and within a dimension +1 before -1. Routing
   * ties are broken in this order, so it is part of the contract.
   */
  neighbours(id: LogicalId): LogicalId[] {
    const out = new Array<LogicalId>(this.degree);
    for (let i = 0; i < out.length; i++) out[i] = this.neighbourAt(id, i);
    return out;
  }

  /** The i-th neighbour in odr order (0 <= i < degree), for loops that must not allocate. */
  neighbourAt(id: LogicalId, i: number): LogicalId {
    return this.k === 2 ? this.step(id, i, 1) : this.step(id, i >> 1, (i & 1) === 0 ? 1 : -1);
  }

  areNeighbours(a: LogicalId, b: LogicalId): boolean {
    if (a === b) return false;
    let differing = 0;
    for (let dim = 0; dim < this.n; dim++) {
      const d = this.ringDistance(this.digit(a, dim), this.digit(b, dim));
      if (d > 1) return false;
      differing += d;
    }
    return differing === 1;
  }

  /** Shortest distance between digits `a` and `b` on a ring of k. */
  ringDistance(a: number, b: number): number {
    const forward = (b - a + this.k) % this.k;
    return Math.min(forward, this.k - forward);
  }

  /** Minimal hop count between two ids: the sum of per-dimension ring distances. */
  hopDistance(a: LogicalId, b: LogicalId): number {
    let hops = 0;
    let x = a;
    let y = b;
    for (let i = 0; i < this.n; i++) {
      hops += this.ringDistance(x % this.k, y % this.k);
      x = Math.floor(x / this.k);
      y = Math.floor(y / this.k);
    }
    return hops;
  }

  /** Text form: n base-k digits, most significant (dimension 0) first. */
  toText(id: LogicalId): string {
    this.assertId(id);
    let text = '';
    for (const d of this.digits(id)) text += DIGITS[d];
    return text;
  }

  fromText(text: string): LogicalId {
    if (text.length !== this.n) {
      throw new InvalidArgumentError(
        `"${text}" is not an id of the ${this}: expected ${this.n} base-${this.k} digits`,
      );
    }
    let id = 0;
    for (const ch of text.toLowerCase()) {
      const d = DIGITS.indexOf(ch);
      if (d < 0 || d >= this.k) {
        throw new InvalidArgumentError(
          `"${text}" is not an id of the ${this}: '${ch}' is not a base-${this.k} digit`,
        );
      }
      id = id * this.k + d;
    }
    return id;
  }
}
