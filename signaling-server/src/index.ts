export { DEFAULT_SERVER_LIMITS, startServer, type RunningServer, type ServerOptions } from './server.js';
export { DEFAULT_CONTROLLER_CONFIG, isSwapStrategy } from './overlay-controller.js';
export { jsonLogger, silentLogger, type Logger } from './log.js';
export { RedisUnreachableError } from './cluster/cluster-directory.js';
export { iceConfigurationFor, iceSettingsFromEnv, IceConfigError, type IceSettings } from './ice-config.js';
export { makeSelfSignedCertificate, readTlsFiles, TlsConfigError, type TlsCredentials } from './tls.js';
