export { SwitchingEngine, DEFAULT_ENGINE_OPTIONS, type EngineOptions } from './switching-engine.js';
export type { RouteRequestInfo } from '../algorithms/cube-routing.js';
export { HIGH_WATER_BYTES, LOW_WATER_BYTES, type LossProtection } from './link.js';
export type { CubeView, DeliveredChunk, EngineEnvironment, EngineEvent, LinkState, LinkStats, LinkTransport } from './types.js';
