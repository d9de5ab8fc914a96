export { startServer, type RunningServer, type ServerOptions } from './server.js';
export { jsonLogger, silentLogger, type Logger } from './log.js';
