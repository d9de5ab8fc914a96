/**
 * Debian's redis-server and coturn, started on free ports and stopped after: what a deployment
 * runs, started as the tests, benchmarks and scenarios need them (`@cubecast/signaling-server/services`).
 */
export { freePort, REDIS_SERVER, startRedis, type RedisProcess } from './redis-server.js';
export { startTurn, TURN_CLIENT, TURN_SERVER, type TurnProcess } from './turn-server.js';
