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
 *
 * Service federation, sFlow (3.3, Fig. 8-9): five hosts, 20 ms apart; X1 (1200 kbit/s) and X2
 * (800) offer the sensor service; S1 requires smoothing then filtering, S2 smoothing; then S1
 * alone requires the same split over two paths, a graph that fans out at the publisher and in
 * at S1. The service graph the algorithm built, what each subscriber got against the same
 * pipeline run in one place, its latency, and the control traffic beside the data.
 */
import { table } from '@cubecast/bench-kit';
import { MessageType, type SensorReading, type SpaSpec } from '@cubecast/protocol';
import { butterflyRun, SOURCE_KBPS } from '../src/testing/butterfly-run.js';
import { comparableReadings, FILTER, serviceFlowRun, SMOOTH } from '../src/testing/service-flow-run.js';
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

/** The service graph sFlow built for `requirements`, and what each subscriber got. */
async function federation(title: string, requirements: Partial<Record<'S1' | 'S2', SpaSpec[]>>) {
  const flow = await serviceFlowRun({ requirements, oneWayMs: 20, chunks: 200, warmUpChunks: 10 });
  const seconds = flow.net.now / 1000;
  console.log(`\nService federation, sFlow (3.3): ${title}`);
  console.log(
    table(
      ['host', 'kbit/s', 'offers', 'stages run', 'sends the stream to'],
      ['P', 'X1', 'X2', 'S1', 'S2'].map((host) => {
        const state = flow.algorithms.get(host)!.state;
        const sends = state.hops.flatMap((hop) => (hop.next ? [`${hop.next} (${hop.sub.replace(/^sub-/, '')})`] : []));
        return [host, { X1: 1200, X2: 800 }[host] ?? '-', state.offered.join(' ') || '-', state.hops.reduce((sum, hop) => sum + hop.serves, 0), sends.join(', ') || '-'];
      }),
      1,
    ),
  );
  const same = (a: SensorReading[], b: SensorReading[]) => JSON.stringify(comparableReadings(a)) === JSON.stringify(comparableReadings(b));
  console.log(
    table(
      ['subscriber', 'requires', 'readings got', 'as the pipeline in one place', 'mean latency ms', 'hops'],
      (Object.keys(requirements) as ('S1' | 'S2')[]).map((sink) => {
        const chunks = flow.chunksAt(sink);
        const got = flow.received(sink);
        const want = flow.expected(requirements[sink]!);
        return [sink, requirements[sink]!.map((s) => s.spa).join(' > '), got.length, same(got, want) ? `yes (${want.length})` : `no (${want.length})`, (chunks.reduce((sum, c) => sum + c.latencyUs, 0) / chunks.length / 1000).toFixed(1), chunks.at(-1)?.hops ?? 0];
      }),
      1,
    ),
  );
  const bytes = (type: number) => flow.net.bytesByType.get(type) ?? 0;
  console.log(`control (type 8: sAware, sFederate, sink) ${(bytes(MessageType.Algorithm) / seconds).toFixed(0)} B/s over all hosts; data ${(bytes(MessageType.Data) / seconds).toFixed(0)} B/s; over ${seconds.toFixed(1)} s`);
}

await federation('a chain and a shared prefix; S1 requires sensor average > sensor threshold, S2 sensor average', { S1: [SMOOTH, FILTER], S2: [SMOOTH] });
await federation('a graph that fans out and in; S1 requires split > sensor average > sensor threshold (each path its own service hosts, merged at S1)', { S1: [{ spa: 'split' }, SMOOTH, FILTER] });
console.log('paper (16 PlanetLab hosts, its Fig. 8): end-to-end delay 934.5 ms, last hop 69374 B/s; sAware traffic well above sFederate\'s');
