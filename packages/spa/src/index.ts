export { createRingBuffer, RecordTooLargeError, RingClaimedError, RingConsumer, RingProducer } from './ring.js';
