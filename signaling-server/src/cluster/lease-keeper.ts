import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import type { Lease, RedisRoomsOptions } from './redis-rooms.js';

/** What the keeper's thread starts from. */
export interface KeeperData {
  readonly url: string;
  readonly rooms: RedisRoomsOptions;
  readonly node: string;
  /** Float64 slots: [0] the main thread's last sign of life, [slot] when that lease ends (ms, timeOrigin + now; 0: not held). */
  readonly shared: SharedArrayBuffer;
  readonly intervalMs: number;
  readonly maxStallMs: number;
}

export type KeeperRequest = { readonly type: 'hold'; readonly slot: number; readonly lease: Omit<Lease, 'validUntil'> } | { readonly type: 'drop'; readonly slot: number };
export type KeeperReport = { readonly type: 'lost'; readonly room: string; readonly fence: number } | { readonly type: 'error'; readonly message: string };

export interface LeaseKeeperOptions {
  readonly url: string;
  readonly rooms: RedisRoomsOptions;
  readonly node: string;
  /** Leases held at once at most (the node's room limit). */
  readonly maxLeases: number;
  /** How long the main thread may show no sign of life before its leases are let go. */
  readonly maxStallMs: number;
  readonly logger: Logger;
  /** A renewal was refused: the lease ran out and another node may hold the room now. */
  onLost(room: string, fence: number): void;
}

/** How often the main thread says it is alive. */
const TICK_MS = 250;
const RESTART_MS = 1000;

/**
 * The thread's module, built. Run from the TypeScript sources (Vitest, tsx: the tests and
 * benchmarks) the server still starts the built one in dist/, which `npm test` builds first:
 * a worker inherits neither runner's loader, and tsx's API does not load inside one.
 */
const WORKER_ENTRY = import.meta.url.endsWith('.ts') ? new URL('../../dist/cluster/lease-keeper.worker.js', import.meta.url) : new URL('./lease-keeper.worker.js', import.meta.url);

const now = () => performance.timeOrigin + performance.now();

/**
 * Renews a node's leases and heartbeat from a thread of its own. A room's owner is busy for
 * seconds at a time in a big room (a re-embedding of 59050 hosts, on a loaded machine: 6 s
 * at least, as no renewal of its 8 s lease got through); renewed from the main thread, its
 * lease ran out meanwhile, another node took the room, and that node's resync of every host
 * stalled it the same way. The thread renews only
 * while the main thread ticks: one stuck for `maxStallMs` loses its rooms as a dead one does.
 * A paused process (SIGSTOP) pauses both, so fencing stays as it was: a lease that ran out
 * cannot be written under.
 */
export class LeaseKeeper {
  private readonly ends: Float64Array;
  private readonly shared: SharedArrayBuffer;
  /** Each held lease's slot in `ends`: `holds` is asked at every request, so by the lease itself. */
  private readonly slots = new Map<Lease, number>();
  private readonly tick: NodeJS.Timeout;
  private worker!: Worker;
  private closed = false;

  constructor(private readonly options: LeaseKeeperOptions) {
    this.shared = new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT * (options.maxLeases + 1));
    this.ends = new Float64Array(this.shared);
    this.ends[0] = now();
    this.tick = setInterval(() => (this.ends[0] = now()), TICK_MS);
    this.tick.unref();
    this.start();
  }

  /** Keeps this lease renewed until `drop`. */
  hold(lease: Lease): void {
    this.assertOpen();
    const slot = this.freeSlot();
    this.slots.set(lease, slot);
    this.ends[slot] = performance.timeOrigin + lease.validUntil;
    this.post(lease, slot);
  }

  drop(lease: Lease): void {
    const slot = this.slots.get(lease);
    if (slot === undefined) return;
    this.slots.delete(lease);
    this.ends[slot] = 0;
    if (!this.closed) this.worker.postMessage({ type: 'drop', slot } satisfies KeeperRequest);
  }

  /** Whether the lease is still ours by this process's clock (it errs early, as Lease does). */
  holds(lease: Lease): boolean {
    const slot = this.slots.get(lease);
    return slot !== undefined && now() < this.ends[slot]!;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.tick);
    await this.worker.terminate();
  }

  private start(): void {
    const workerData: KeeperData = { url: this.options.url, rooms: this.options.rooms, node: this.options.node, shared: this.shared, intervalMs: Math.max(50, Math.floor(this.options.rooms.leaseMs / 4)), maxStallMs: this.options.maxStallMs };
    const worker = new Worker(WORKER_ENTRY, { workerData });
    worker.unref();
    worker.on('message', (report: KeeperReport) => {
      if (report.type === 'error') {
        this.options.logger.log('error', 'lease:keeper-error', { error: report.message });
        return;
      }
      const lease = [...this.slots.keys()].find((held) => held.room === report.room && held.fence === report.fence);
      if (lease) this.slots.delete(lease);
      this.options.onLost(report.room, report.fence);
    });
    worker.on('error', (error) => this.options.logger.log('error', 'lease:keeper-error', { error: error.stack ?? String(error) }));
    // A thread that died takes no lease with it: a new one goes on renewing them (a second
    // later: one that cannot start must not spin).
    worker.on('exit', (code) => {
      if (this.closed) return;
      this.options.logger.log('error', 'lease:keeper-exited', { code });
      setTimeout(() => {
        if (this.closed) return;
        this.start();
        for (const [lease, slot] of this.slots) this.post(lease, slot);
      }, RESTART_MS).unref();
    });
    this.worker = worker;
  }

  private post(lease: Lease, slot: number): void {
    this.worker.postMessage({ type: 'hold', slot, lease: { room: lease.room, value: lease.value, fence: lease.fence } } satisfies KeeperRequest);
  }

  private freeSlot(): number {
    const used = new Set(this.slots.values());
    for (let slot = 1; slot <= this.options.maxLeases; slot++) if (!used.has(slot)) return slot;
    throw new Error(`more than ${this.options.maxLeases} leases held at once`);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the lease keeper is closed');
  }
}
