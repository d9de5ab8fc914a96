export { MAX_SPA_PAGES, SpaAbiError, validateSpaModule, type SpaModuleInfo } from './abi.js';
export { BUILT_IN_SPAS, encodeCustomConfig, encodeSpaConfig, isBuiltInSpa, SpaConfigError, type BuiltInSpa, type SpaInput } from './built-in-configs.js';
export { spawnBrowserStage } from './browser-stage.js';
export {
  SpaInitError,
  SpaPipeline,
  type SpaDeath,
  type SpaPipelineEvents,
  type SpaPipelineOptions,
  type SpaStageSpec,
  type StageStats,
  type StageWorker,
} from './pipeline.js';
export { createRingBuffer, initRing, RecordTooLargeError, RingClaimedError, RingConsumer, RingProducer, ringBytes } from './ring.js';
export { ioRegionPages, MAX_PAYLOAD_CHUNK_BYTES } from './memory-layout.js';
export { inlineSpa, type InlineSpa } from './inline-spa.js';
export { SPLIT_TAG_BYTES, SplitTwiceError, stagesCarryingTags } from './split-tags.js';
