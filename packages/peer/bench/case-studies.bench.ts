/**
 * iOverlay's case studies as Cubecast algorithms, over the simulated network (deterministic:
 * every run prints the same figures): `npm run case-studies -w packages/peer`.
 *
 * Network coding (seed 004, 3.1, Fig. 4): the butterfly on the 2-ary 3-cube, 400 KBps uplinks
 * and the coder's 200 KBps; the source publishes 360 KBps of payload (its uplink full with
 * headers). Throughput per node without and with coding at the coder, beside the paper's.
 */
import { table } from '@cubecast/bench-kit';
import { butterflyRun, SOURCE_KBPS } from '../src/testing/butterfly-run.js';

const PAPER: Record<string, readonly [without: string, withCoding: string]> = {
  relayOfA: ['helper', 'helper'],
  relayOfB: ['helper', 'helper'],
  coder: ['400', '400'],
  helper: ['200', 'helper'],
  decoderOfB: ['300', '400'],
  decoderOfA: ['300', '400'],
};
/** The paper's node names for the roles (A is the source). */
const NODE: Record<string, string> = { relayOfA: 'B', relayOfB: 'C', coder: 'D', helper: 'E', decoderOfB: 'F', decoderOfA: 'G' };

const plain = butterflyRun({ coding: false, seconds: 6 }).throughput;
const coded = butterflyRun({ coding: true, seconds: 6 }).throughput;
/** Ours as the paper's units: the share of the source's rate, times its 400 KBps. */
const asPaper = (kbps: number) => Math.round((kbps / SOURCE_KBPS) * 400);

console.log(`Network coding (Fig. 4): KBps received per node, steady state (seconds 1-6); source ${SOURCE_KBPS} KBps of payload`);
console.log(
  table(
    ['node', 'role', 'paper without', 'paper with', 'ours without', 'ours with', 'ours without, of 400', 'ours with, of 400'],
    Object.keys(PAPER).map((role) => [NODE[role]!, role, ...PAPER[role]!, plain[role]!, coded[role]!, asPaper(plain[role]!), asPaper(coded[role]!)]),
    2,
  ),
);
