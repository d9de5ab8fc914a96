// Kept where every benchmark imports it from; the table itself lives with the simulator, which prints the same tables.
export { formatTable as table } from '../packages/sim/src/table.js';
