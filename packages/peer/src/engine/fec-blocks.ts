import { decodeRepairPayload, encodeRepairPayload, encodeRepairs, FEC_BLOCK_SOURCES, Flags, MAX_FRAGMENTS, recoverSources, TIMELY_FRAGMENT_PAYLOAD, type MessageHeader } from '@cubecast/protocol';
import { chunkKey } from './reassembly.js';

/** A fragment as the engine switches it: header (a source's, never a repair's) and payload. */
export interface Fragment {
  readonly header: MessageHeader;
  readonly payload: Uint8Array;
}

/** What one arrival made possible: sources rebuilt from repairs, and blocks now whole here. */
export interface FecProgress {
  readonly recovered: Fragment[];
  /** Blocks whose every source is here (arrived or rebuilt): the next hops' repairs can be made. */
  readonly complete: CompleteBlock[];
}

export interface CompleteBlock {
  readonly block: number;
  readonly sources: readonly Uint8Array[];
}

interface Chunk {
  readonly count: number;
  readonly sources: (Uint8Array | undefined)[];
  /** Sources here, per block: what says a block is whole, without looking through it for every fragment. */
  readonly present: number[];
  /** Repairs by block, by row: their coded bytes, and the length of the block's last source. */
  readonly repairs: Map<number, { lastSourceBytes: number; rows: Map<number, Uint8Array> }>;
  readonly completed: Set<number>;
  readonly at: number;
  bytes: number;
}

export interface FecLimits {
  /** Chunks held at once: the newest, enough for every stream a host relays for a second. */
  readonly chunks: number;
  /** A chunk older than this cannot meet any bound: it goes. */
  readonly maxAgeMs: number;
  /** Payload bytes held in all: a peer sending 4 MiB chunks must not make this host hold 128 of them. */
  readonly bytes: number;
}

export const DEFAULT_FEC_LIMITS: FecLimits = { chunks: 128, maxAgeMs: 2000, bytes: 16 * 1024 * 1024 };

const NONE: FecProgress = { recovered: [], complete: [] };

/**
 * Per-hop FEC at one host, for timely chunks: holds the fragments that went through it (sent
 * or arrived) and the repairs that arrived, rebuilds lost sources as soon as a block has as
 * many repairs as it misses sources, and says when a block is whole, so the engine can make
 * repairs for the next hops. Repairs are per hop: what arrived is used here, never forwarded.
 */
export class FecBlocks {
  private readonly chunks = new Map<string, Chunk>();
  private bytes = 0;

  constructor(private readonly limits: FecLimits = DEFAULT_FEC_LIMITS) {}

  get size(): number {
    return this.chunks.size;
  }

  /** A source fragment of a timely chunk, arrived, rebuilt or made here. */
  addSource(header: MessageHeader, payload: Uint8Array, now: number): FecProgress {
    const chunk = this.chunk(header, now);
    if (!chunk || chunk.sources[header.fragmentIndex] !== undefined) return NONE;
    chunk.sources[header.fragmentIndex] = payload;
    const block = Math.floor(header.fragmentIndex / FEC_BLOCK_SOURCES);
    chunk.present[block]!++;
    this.hold(chunk, payload.byteLength);
    return this.progress(chunk, header, block);
  }

  /** A repair from the previous hop. A malformed one is ignored (the header decoded; the coding did not). */
  addRepair(header: MessageHeader, payload: Uint8Array, now: number): FecProgress {
    let repair: ReturnType<typeof decodeRepairPayload>;
    try {
      repair = decodeRepairPayload(payload);
    } catch {
      return NONE;
    }
    const chunk = this.chunk(header, now);
    // Wider than any fragment of a chunk of this count can be (timelyFragmentPayload): not a
    // repair of it, and the work of rebuilding grows with the width a peer names.
    if (!chunk || (chunk.count < MAX_FRAGMENTS && repair.coded.byteLength > TIMELY_FRAGMENT_PAYLOAD)) return NONE;
    const block = Math.floor(header.fragmentIndex / FEC_BLOCK_SOURCES);
    let repairs = chunk.repairs.get(block);
    if (!repairs) chunk.repairs.set(block, (repairs = { lastSourceBytes: repair.lastSourceBytes, rows: new Map() }));
    const row = header.fragmentIndex % FEC_BLOCK_SOURCES;
    const first = repairs.rows.values().next().value;
    // Repairs of one block agree on its shape, or the later one is not of this block.
    if (repairs.rows.has(row) || repairs.lastSourceBytes !== repair.lastSourceBytes || (first && first.byteLength !== repair.coded.byteLength)) return NONE;
    repairs.rows.set(row, repair.coded);
    this.hold(chunk, repair.coded.byteLength);
    return this.progress(chunk, { ...header, flags: header.flags & ~Flags.Repair }, block);
  }

  /** Repair payloads 0..m-1 of a complete block, coded once for every next hop (each takes a prefix). */
  static repairs(block: CompleteBlock, m: number): Uint8Array[] {
    const lastSourceBytes = block.sources.at(-1)!.byteLength;
    return encodeRepairs(block.sources, m).map((coded) => encodeRepairPayload(lastSourceBytes, coded));
  }

  private chunk(header: MessageHeader, now: number): Chunk | undefined {
    this.expire(now);
    const key = chunkKey(header);
    let chunk = this.chunks.get(key);
    if (!chunk) {
      chunk = { count: header.fragmentCount, sources: new Array(header.fragmentCount), present: new Array<number>(Math.ceil(header.fragmentCount / FEC_BLOCK_SOURCES)).fill(0), repairs: new Map(), completed: new Set(), at: now, bytes: 0 };
      this.chunks.set(key, chunk);
      if (this.chunks.size > this.limits.chunks) this.forgetOldest();
    }
    // A fragment that disagrees on the chunk's shape is not of this chunk: ignored.
    return chunk.count === header.fragmentCount ? chunk : undefined;
  }

  private expire(now: number): void {
    for (const chunk of this.chunks.values()) {
      if (now - chunk.at <= this.limits.maxAgeMs) break;
      this.forgetOldest();
    }
  }

  private forgetOldest(): void {
    const [key, chunk] = this.chunks.entries().next().value!;
    this.chunks.delete(key);
    this.bytes -= chunk.bytes;
  }

  /** Counts what a chunk now holds; over the byte bound, the oldest chunks go (this one last). */
  private hold(chunk: Chunk, bytes: number): void {
    chunk.bytes += bytes;
    this.bytes += bytes;
    while (this.bytes > this.limits.bytes && this.chunks.size > 1) this.forgetOldest();
  }

  /** Rebuilds what block `block` can, then reports it if it is whole. */
  private progress(chunk: Chunk, template: MessageHeader, block: number): FecProgress {
    const start = block * FEC_BLOCK_SOURCES;
    const end = Math.min(chunk.count, start + FEC_BLOCK_SOURCES);
    const recovered: Fragment[] = [];
    const repairs = chunk.repairs.get(block);
    if (repairs && chunk.present[block]! < end - start) {
      const inBlock = Array.from({ length: end - start }, (_, i) => chunk.sources[start + i]);
      for (const [offset, padded] of recoverSources(inBlock, repairs.rows) ?? []) {
        const payload = offset === inBlock.length - 1 ? padded.subarray(0, repairs.lastSourceBytes) : padded;
        chunk.sources[start + offset] = payload;
        chunk.present[block]!++;
        recovered.push({ header: { ...template, fragmentIndex: start + offset }, payload });
      }
    }
    if (chunk.completed.has(block) || chunk.present[block]! < end - start) return { recovered, complete: [] };
    chunk.completed.add(block);
    return { recovered, complete: [{ block, sources: chunk.sources.slice(start, end) as Uint8Array[] }] };
  }
}
