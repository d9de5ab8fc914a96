export { MAX_SPA_PAGES, SpaAbiError, validateSpaModule, type SpaModuleInfo } from './abi.js';
export { createRingBuffer, RecordTooLargeError, RingClaimedError, RingConsumer, RingProducer } from './ring.js';
