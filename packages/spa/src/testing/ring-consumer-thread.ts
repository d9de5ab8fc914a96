// A consumer thread for the ring tests: blocks until records come, checks their order.
import { parentPort, workerData } from 'node:worker_threads';
import { RingConsumer } from '../ring.js';

const consumer = new RingConsumer(workerData as SharedArrayBuffer);
// The test writes only after this: a thread takes up to a second to start on a loaded machine.
parentPort!.postMessage('ready');
let count = 0;
let ok = true;
for (;;) {
  if (!consumer.waitForData(5000)) {
    if (consumer.closed && !consumer.peek()) break;
    continue;
  }
  const record = consumer.peek()!;
  if (record[0] !== (count & 0xff)) ok = false;
  count++;
  consumer.release();
}
parentPort!.postMessage({ count, ok });
