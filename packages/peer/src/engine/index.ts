export { SwitchingEngine, DEFAULT_ENGINE_OPTIONS, type EngineOptions, type RouteRequestInfo } from './switching-engine.js';
export type { CubeView, DeliveredChunk, EngineEnvironment, EngineEvent, LinkStats, LinkTransport } from './types.js';
