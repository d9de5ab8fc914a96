/** Test tooling other packages' tests use (the e2e specs): real processes they start and stop. */
export { freePort, startRedis, type RedisProcess } from './redis-server.js';
