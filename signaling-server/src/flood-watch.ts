import { ClosedError } from '@cubecast/protocol';
import { MessageChannel, type MessagePort } from 'node:worker_threads';

/**
 * Runs a step from libuv's poll phase, among socket I/O, for as long as a flood of that I/O
 * keeps timers from running.
 *
 * Timers and setImmediate run only between poll phases, and libuv handles up to 48 x 1024
 * ready I/O events in one poll phase: while 15000 sockets closed at once, a 50 ms timer ran
 * 1.5 s late. A MessagePort's message is an I/O event of its own (an async handle): it runs
 * after the events that were ready before it, within the flood. So the watch posts itself a
 * message and runs the step at each one; once a setImmediate has run between two steps, the
 * loop is turning again, timers run, and the watch stops.
 */
export class FloodWatch {
  private readonly ports: readonly [MessagePort, MessagePort];
  private running = false;
  /** A setImmediate ran since the last step: the loop left the poll phase. */
  private loopTurned = false;
  private closedFlag = false;

  constructor(step: () => void) {
    const { port1, port2 } = new MessageChannel();
    this.ports = [port1, port2];
    // The two ends post to each other in turn: a message posted to the port being handled
    // would be handled in the same call, up to 1000 of them (Node's MessagePort), not one
    // per poll round.
    for (const port of this.ports) {
      port.on('message', () => {
        if (this.closedFlag) return;
        step();
        if (this.loopTurned || this.closedFlag) {
          this.running = false;
          return;
        }
        this.next(port);
      });
      // A watch must not keep the process alive, as an unref'd timer does not.
      port.unref();
    }
  }

  /** Starts watching, unless it is already. */
  start(): void {
    if (this.closedFlag) throw new ClosedError('this FloodWatch');
    if (this.running) return;
    this.running = true;
    this.next(this.ports[0]);
  }

  /** Stops watching for good; start() then throws. */
  close(): void {
    this.closedFlag = true;
    this.ports[0].close();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** The next step, from `from`'s peer. */
  private next(from: MessagePort): void {
    this.loopTurned = false;
    setImmediate(() => (this.loopTurned = true));
    from.postMessage(null);
  }
}
