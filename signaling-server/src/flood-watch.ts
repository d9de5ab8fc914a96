import { ClosedError } from '@cubecast/protocol';
import { Worker } from 'node:worker_threads';

/** How often a started watch steps. */
export const FLOOD_WATCH_TICK_MS = 10;

/**
 * The clock: a thread that posts a tick every FLOOD_WATCH_TICK_MS while told to run. Inline
 * (evaluated), so that it runs the same from the sources (tsx, Vitest) and from dist.
 */
const CLOCK_SOURCE = `
const { parentPort } = require('node:worker_threads');
let timer;
parentPort.on('message', (running) => {
  clearInterval(timer);
  if (running) timer = setInterval(() => parentPort.postMessage(0), ${FLOOD_WATCH_TICK_MS});
});
`;

/** Where a watch's ticks come from. */
export interface TickSource {
  /** Calls `tick` on every tick from now until `remove(tick)`. */
  add(tick: () => void): void;
  remove(tick: () => void): void;
}

/** What ticks the clock thread drives now; it runs while there are any. One clock per process. */
const ticks = new Set<() => void>();
let clock: Worker | undefined;

/** How many watches the clock thread steps now, in this process: none once every batch is handed over. */
export function startedFloodWatches(): number {
  return ticks.size;
}

function clockRunning(running: boolean): void {
  if (!clock) {
    if (!running) return;
    clock = new Worker(CLOCK_SOURCE, { eval: true });
    clock.on('message', () => {
      // A tick may remove itself or another.
      for (const tick of [...ticks]) if (ticks.has(tick)) tick();
    });
    // A thread that cannot start or dies (out of resources) leaves the watches without ticks
    // until the next time one is added to none. The next start tries a new clock.
    clock.on('error', () => undefined);
    clock.on('exit', () => (clock = undefined));
    // The clock must not keep the process alive, as an unref'd timer does not.
    clock.unref();
  }
  clock.postMessage(running);
}

/** Ticks every FLOOD_WATCH_TICK_MS from the clock thread: the default, and the one a flood cannot hold back. */
export const threadTicks: TickSource = {
  add(tick) {
    if (ticks.has(tick)) return;
    ticks.add(tick);
    if (ticks.size === 1) clockRunning(true);
  },
  remove(tick) {
    if (ticks.delete(tick) && ticks.size === 0) clockRunning(false);
  },
};

/**
 * Runs a step on every tick of its clock while started: by default every FLOOD_WATCH_TICK_MS
 * from a clock that a flood of socket I/O cannot hold back.
 *
 * Timers and setImmediate run only between poll phases, and libuv handles up to 48 x 1024
 * ready I/O events in one poll phase: while 15000 sockets closed at once, a 50 ms timer ran
 * 1.5 s late, and the close frames that follow their leaves held it back 0.7 s again. A
 * message from another thread is an I/O event of its own (an async handle), handled among
 * the flood's events, so the clock lives in a worker thread, whose loop the flood does not
 * touch. A message posted to this thread's own port would do within a flood, but when the
 * loop is idle it spins: it runs again at once, a core busy until the watch stops.
 */
export class FloodWatch {
  private closedFlag = false;
  private readonly tick: () => void;

  /** `step` must not throw (the room's is guarded): it runs from the clock's message handler. */
  constructor(
    step: () => void,
    private readonly ticks: TickSource = threadTicks,
  ) {
    this.tick = () => step();
  }

  /** Starts stepping, unless it is already. */
  start(): void {
    if (this.closedFlag) throw new ClosedError('this FloodWatch');
    this.ticks.add(this.tick);
  }

  /** Stops stepping until the next start. */
  stop(): void {
    this.ticks.remove(this.tick);
  }

  /** Stops for good; start() then throws. */
  close(): void {
    this.closedFlag = true;
    this.stop();
  }

  get closed(): boolean {
    return this.closedFlag;
  }
}
