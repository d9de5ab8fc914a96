import { decodeRepairPayload, encodeRepairPayload, encodeRepairRows, encodeRepairs, FEC_BLOCK_SOURCES, FEC_MAX_REPAIRS, Flags, MAX_FRAGMENTS, MessageType, recoverSources, TIMELY_FRAGMENT_PAYLOAD, type MessageHeader, type RepairRequest } from '@cubecast/protocol';
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

/** A block this host is short of: ask `from`, the host its messages came from, for more repairs. */
export interface RepairAsk {
  readonly from: string;
  /** The request's header: the chunk's, naming the block by its first fragment. */
  readonly header: MessageHeader;
  readonly request: RepairRequest;
}

/** Repair rows a previous hop makes for a next hop that asked, and when their chunk was first here. */
export interface ResentRepairs {
  /** The chunk's first message here, as it arrived (or was made): resent repairs are stamped from it. */
  readonly first: { readonly header: MessageHeader; readonly arrival: number };
  readonly repairs: { readonly row: number; readonly payload: Uint8Array }[];
}

interface Chunk {
  readonly count: number;
  readonly first: { readonly header: MessageHeader; readonly arrival: number };
  /** The peer its latest message came from (none for a chunk made here): where asks go. */
  from: string | undefined;
  lastArrival: number;
  arrivals: number;
  asks: number;
  askedAt: number;
  readonly sources: (Uint8Array | undefined)[];
  /** Sources here, per block: what says a block is whole, without looking through it for every fragment. */
  readonly present: number[];
  /** Repairs by block, by row: their coded bytes, and the length of the block's last source. */
  readonly repairs: Map<number, { lastSourceBytes: number; rows: Map<number, Uint8Array> }>;
  readonly completed: Set<number>;
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

/**
 * A chunk is short of a block once nothing of it has arrived for this long, or for three of its
 * mean gaps between arrivals if longer (a paced link spreads a chunk out). A chunk's fragments
 * and repairs come in one burst; 5 ms is past a burst's reordering over stripes and a worker
 * timer's clamp (4 ms), and far inside the 33 ms a lost packet at a frame's end waits for SCTP.
 */
export const REPAIR_ASK_QUIET_MS = 5;
/** Asks per chunk: a request or its answer can be lost too, and a previous hop short of the block itself cannot answer until it is whole. */
export const REPAIR_ASKS = 3;

const NONE: FecProgress = { recovered: [], complete: [] };

/** A block's coded repairs as repair payloads: each with the length of the block's last source. */
function repairPayloads(sources: readonly Uint8Array[], coded: readonly Uint8Array[]): Uint8Array[] {
  const lastSourceBytes = sources.at(-1)!.byteLength;
  return coded.map((bytes) => encodeRepairPayload(lastSourceBytes, bytes));
}

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

  /** A source fragment of a timely chunk, arrived (from a peer), rebuilt or made here. */
  addSource(header: MessageHeader, payload: Uint8Array, now: number, from?: string): FecProgress {
    const chunk = this.chunk(header, now, from);
    if (!chunk || chunk.sources[header.fragmentIndex] !== undefined) return NONE;
    chunk.sources[header.fragmentIndex] = payload;
    const block = Math.floor(header.fragmentIndex / FEC_BLOCK_SOURCES);
    chunk.present[block]!++;
    this.hold(chunk, payload.byteLength);
    return this.progress(chunk, header, block);
  }

  /** A repair from the previous hop. A malformed one is ignored (the header decoded; the coding did not). */
  addRepair(header: MessageHeader, payload: Uint8Array, now: number, from?: string): FecProgress {
    let repair: ReturnType<typeof decodeRepairPayload>;
    try {
      repair = decodeRepairPayload(payload);
    } catch {
      return NONE;
    }
    const chunk = this.chunk(header, now, from);
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
    return repairPayloads(block.sources, encodeRepairs(block.sources, m));
  }

  /**
   * In one pass over the chunks held: the blocks to ask for more repairs now (of chunks from a
   * peer, short of a block, quiet for REPAIR_ASK_QUIET_MS or more since their last arrival or
   * ask, asked fewer than REPAIR_ASKS times), and when the next ask may be due, if any may.
   */
  due(now: number): { asks: RepairAsk[]; nextAt: number | undefined } {
    const asks: RepairAsk[] = [];
    let nextAt: number | undefined;
    for (const chunk of this.chunks.values()) {
      if (chunk.from === undefined || !this.waiting(chunk)) continue;
      if (now >= this.dueAt(chunk)) {
        chunk.asks++;
        chunk.askedAt = now;
        this.ask(chunk, chunk.from, asks);
        if (!this.waiting(chunk)) continue;
      }
      nextAt = Math.min(nextAt ?? Infinity, this.dueAt(chunk));
    }
    return { asks, nextAt };
  }

  /** Adds an ask for each block of `chunk` its repairs do not rebuild: as many rows as it misses sources past them. */
  private ask(chunk: Chunk, from: string, asks: RepairAsk[]): void {
    for (let block = 0; block < chunk.present.length; block++) {
      const rows = chunk.repairs.get(block)?.rows;
      // A whole block misses nothing: it asks for nothing.
      const wanted = this.missing(chunk, block) - (rows?.size ?? 0);
      if (wanted < 1) continue;
      let rowsHeld = 0;
      for (const row of rows?.keys() ?? []) rowsHeld |= 1 << row;
      const header = { ...chunk.first.header, type: MessageType.RepairRequest, flags: chunk.first.header.flags & ~Flags.Repair, fragmentIndex: block * FEC_BLOCK_SOURCES };
      asks.push({ from, header, request: { wanted, rowsHeld: rowsHeld >>> 0 } });
    }
  }

  /**
   * Up to `count` repair rows of a block whole here that a next hop asked for: the lowest rows
   * it does not hold. Undefined while the block is not whole here (nothing to code them from).
   */
  resend(header: MessageHeader, rowsHeld: number, count: number): ResentRepairs | undefined {
    const chunk = this.chunks.get(chunkKey(header));
    const block = Math.floor(header.fragmentIndex / FEC_BLOCK_SOURCES);
    if (!chunk || chunk.count !== header.fragmentCount || !chunk.completed.has(block)) return undefined;
    const rows: number[] = [];
    for (let row = 0; row < FEC_MAX_REPAIRS && rows.length < count; row++) if ((rowsHeld & (1 << row)) === 0) rows.push(row);
    const start = block * FEC_BLOCK_SOURCES;
    const sources = chunk.sources.slice(start, Math.min(chunk.count, start + FEC_BLOCK_SOURCES)) as Uint8Array[];
    const payloads = repairPayloads(sources, encodeRepairRows(sources, rows));
    return { first: chunk.first, repairs: rows.map((row, i) => ({ row, payload: payloads[i]! })) };
  }

  private waiting(chunk: Chunk): boolean {
    return chunk.asks < REPAIR_ASKS && chunk.completed.size < chunk.present.length;
  }

  private dueAt(chunk: Chunk): number {
    const meanGap = chunk.arrivals > 1 ? (chunk.lastArrival - chunk.first.arrival) / (chunk.arrivals - 1) : 0;
    return Math.max(chunk.lastArrival, chunk.askedAt) + Math.max(REPAIR_ASK_QUIET_MS, 3 * meanGap);
  }

  private missing(chunk: Chunk, block: number): number {
    return Math.min(FEC_BLOCK_SOURCES, chunk.count - block * FEC_BLOCK_SOURCES) - chunk.present[block]!;
  }

  private chunk(header: MessageHeader, now: number, from: string | undefined): Chunk | undefined {
    this.expire(now);
    const key = chunkKey(header);
    let chunk = this.chunks.get(key);
    if (!chunk) {
      chunk = {
        count: header.fragmentCount,
        first: { header, arrival: now },
        from,
        lastArrival: now,
        arrivals: 0,
        asks: 0,
        askedAt: -Infinity,
        sources: new Array(header.fragmentCount),
        present: new Array<number>(Math.ceil(header.fragmentCount / FEC_BLOCK_SOURCES)).fill(0),
        repairs: new Map(),
        completed: new Set(),
        bytes: 0,
      };
      this.chunks.set(key, chunk);
      if (this.chunks.size > this.limits.chunks) this.forgetOldest();
    }
    // A fragment that disagrees on the chunk's shape is not of this chunk: ignored.
    if (chunk.count !== header.fragmentCount) return undefined;
    if (from !== undefined) {
      chunk.from = from;
      chunk.lastArrival = now;
      chunk.arrivals++;
    }
    return chunk;
  }

  private expire(now: number): void {
    for (const chunk of this.chunks.values()) {
      if (now - chunk.first.arrival <= this.limits.maxAgeMs) break;
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
    if (repairs && this.missing(chunk, block) > 0) {
      const inBlock = Array.from({ length: end - start }, (_, i) => chunk.sources[start + i]);
      for (const [offset, padded] of recoverSources(inBlock, repairs.rows) ?? []) {
        const payload = offset === inBlock.length - 1 ? padded.subarray(0, repairs.lastSourceBytes) : padded;
        chunk.sources[start + offset] = payload;
        chunk.present[block]!++;
        recovered.push({ header: { ...template, fragmentIndex: start + offset }, payload });
      }
    }
    if (chunk.completed.has(block) || this.missing(chunk, block) > 0) return { recovered, complete: [] };
    chunk.completed.add(block);
    return { recovered, complete: [{ block, sources: chunk.sources.slice(start, end) as Uint8Array[] }] };
  }
}
