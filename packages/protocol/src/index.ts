export * from './errors.js';
export * from './signaling.js';
export { parsePayload } from './validate.js';
export { emulatedOneWayDelayMs } from './emulation.js';
export * from './data-plane.js';
export * from './video-payload.js';
export { request, type AckingSocket, type AckResult } from './request.js';
export { TypedEmitter } from './typed-emitter.js';
export { canonicalPipeline, parsePipeline, pipelineVariant, PUBLISHED_VARIANT } from './pipeline-variant.js';
