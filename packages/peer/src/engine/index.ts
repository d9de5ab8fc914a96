export { SwitchingEngine, DEFAULT_ENGINE_OPTIONS, type EngineOptions, type RouteRequestInfo } from './switching-engine.js';
export { HIGH_WATER_BYTES, LOW_WATER_BYTES } from './link.js';
export type { CubeView, DeliveredChunk, EngineEnvironment, EngineEvent, LinkStats, LinkTransport } from './types.js';
