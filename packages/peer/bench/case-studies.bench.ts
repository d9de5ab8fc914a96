/**
 * iOverlay's case studies as Cubecast algorithms, over the simulated network (deterministic:
 * every run prints the same figures): `npm run case-studies -w packages/peer`.
 *
 * Network coding (seed 004, 3.1, Fig. 4): the butterfly on the 2-ary 3-cube, 400 KBps uplinks
 * and the coder's 200 KBps; the source publishes 360 KBps of payload (its uplink full with
 * headers). Throughput per node without and with coding at the coder, beside the paper's.
 *
 * Tree construction (3.2, Fig. 5, Table 3): five hosts with the paper's total bandwidths (S 200,
 * A 500, B 100, C 200, D 100 KBps), joining in its order (D, A, C, B); per node and tree, the
 * degree and stress beside Table 3's, and the throughput of a 94 KBps stream. The randomized
 * tree is a draw: one seed's tree, and the mean throughput over 20 seeds.
 */
import { table } from '@cubecast/bench-kit';
import { butterflyRun, SOURCE_KBPS } from '../src/testing/butterfly-run.js';
import { TREE_NODES, TREE_SOURCE_KBPS, treeRun, type TreeNode } from '../src/testing/tree-run.js';

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

/** Table 3: degree and stress (per 100 KBps) per node, unicast / random / ns-aware. */
const TABLE_3: Record<TreeNode, readonly [number, number, number, number, number, number]> = {
  S: [4, 2, 2, 2.0, 1.0, 1.0],
  A: [1, 1, 3, 0.2, 0.2, 0.6],
  B: [1, 1, 1, 1.0, 0.98, 0.97],
  C: [1, 2, 1, 0.5, 1.0, 0.51],
  D: [1, 2, 1, 1.0, 1.98, 1.0],
};
const trees = { unicast: treeRun('unicast').nodes, random: treeRun('random').nodes, stress: treeRun('stress').nodes };
const seeds = Array.from({ length: 20 }, (_, i) => treeRun('random', { seed: i + 1, seconds: 3 }).nodes);
const nodes = Object.keys(TREE_NODES) as TreeNode[];
const meanRandom = (node: TreeNode) => Math.round(seeds.reduce((sum, run) => sum + run[node].throughputKBps, 0) / seeds.length);
const round2 = (x: number) => Math.round(x * 100) / 100;

console.log(`\nTree construction (Fig. 5, Table 3): degree and stress (per 100 KBps), paper / ours; stream ${TREE_SOURCE_KBPS} KBps`);
console.log(
  table(
    ['node', 'KBps', 'degree unicast', 'degree random', 'degree ns-aware', 'stress unicast', 'stress random', 'stress ns-aware'],
    nodes.map((node) => {
      const paper = TABLE_3[node];
      const ours = [trees.unicast[node], trees.random[node], trees.stress[node]];
      return [node, TREE_NODES[node], ...ours.map((n, i) => `${paper[i]} / ${n.degree}`), ...ours.map((n, i) => `${paper[i + 3]} / ${round2(n.stress)}`)];
    }),
    1,
  ),
);
console.log(`\nThroughput per node, KBps of ${TREE_SOURCE_KBPS} (random: seed 1's tree, and the mean of 20 seeds); parents: unicast / random / ns-aware`);
console.log(
  table(
    ['node', 'unicast', 'random (seed 1)', 'random (20 seeds)', 'ns-aware', 'parent unicast', 'parent random', 'parent ns-aware'],
    nodes.slice(1).map((node) => [node, trees.unicast[node].throughputKBps, trees.random[node].throughputKBps, meanRandom(node), trees.stress[node].throughputKBps, trees.unicast[node].parent ?? '', trees.random[node].parent ?? '', trees.stress[node].parent ?? '']),
    1,
  ),
);
