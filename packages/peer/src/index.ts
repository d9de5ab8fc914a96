export { CubecastPeer, PeerClosedError, type ConnectionState, type PeerEvents, type PeerOptions, type PeerSnapshot } from './peer-client.js';
export type { CreateConnection, LinkConnection } from './link-manager.js';
export type { DeliveredChunk, LinkStats } from './engine/types.js';
export { DEFAULT_VIDEO, VideoPublisher, type VideoPublishOptions } from './video/video-publisher.js';
export { VideoPlayer, type PlayerStats } from './video/video-player.js';
export type { SpaResources } from './spa/browser-pipelines.js';
export { DEFAULT_SENSOR, SensorPublisher, type SensorPublishOptions } from './sensor/sensor-publisher.js';
