// The table every benchmark prints is the simulator's, which prints the same tables.
export { formatTable as table } from '@cubecast/sim';
