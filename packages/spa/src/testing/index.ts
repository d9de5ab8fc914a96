// Test helpers other packages use (source only: never part of the build).
export { builtInBytes, directSpa } from './built-ins.js';
export { inlinePipeline } from './inline-pipeline.js';
export { spawnNodeStage } from './node-stage.js';
