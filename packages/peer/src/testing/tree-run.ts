import { Cube, createRng } from '@cubecast/overlay';
import { TreeBuilder, type TreeMode } from '../algorithms/stress-tree.js';
import { DEFAULT_ENGINE_OPTIONS } from '../engine/switching-engine.js';
import { SimNetwork } from './sim-network.js';

/** The paper's five nodes and their last-mile bandwidth, KBps (Table 3: degree / stress x 100). */
export const TREE_NODES = { S: 200, A: 500, B: 100, C: 200, D: 100 } as const;
export type TreeNode = keyof typeof TREE_NODES;
/** The order the paper's nodes join the session in. */
export const JOIN_ORDER: readonly TreeNode[] = ['D', 'A', 'C', 'B'];
/** 100 chunks a second of this size: 100 KBps with headers, just inside what B and D can take in. */
const CHUNK_BYTES = 940;
const CHUNKS_PER_SECOND = 100;
/** The stream's payload rate. */
export const TREE_SOURCE_KBPS = (CHUNK_BYTES * CHUNKS_PER_SECOND) / 1000;

/**
 * Fig. 5's session over the simulated network: the five hosts on the 3-ary 3-cube (5 or 6 ids
 * each, and so each linked to every other: a tree may join any two, as in iOverlay), each with its total bandwidth emulated; S publishes, the others
 * subscribe in the paper's order (`joinEveryMs` apart: by default past a refresh), then S
 * streams for `seconds`. Per node: its tree degree, its stress, and its throughput (distinct
 * payload bytes a second from the first second's end, KBps).
 */
export function treeRun(mode: TreeMode, { seed = 1, seconds = 5, joinEveryMs = DEFAULT_ENGINE_OPTIONS.refreshMs * 1.5 }: { seed?: number; seconds?: number; joinEveryMs?: number } = {}) {
  const builders: TreeBuilder[] = [];
  const options = { ...DEFAULT_ENGINE_OPTIONS, algorithm: () => builders[builders.push(new TreeBuilder(mode, DEFAULT_ENGINE_OPTIONS.refreshMs, createRng(seed))) - 1]! };
  const net = new SimNetwork(new Cube(3, 3), () => 1, 'greedy', options);
  const nodes = Object.keys(TREE_NODES) as TreeNode[];
  net.addHosts(nodes);
  const builder = (node: TreeNode) => builders[nodes.indexOf(node)]!;
  for (const node of nodes) net.engines.get(node)!.setEmulation({ totalKbps: TREE_NODES[node] * 8 });
  net.advance(1500);
  const source = net.engines.get('S')!;
  source.publish(1, net.ownership.idsOf('S')[0]!);
  for (const node of JOIN_ORDER) {
    net.engines.get(node)!.subscribe(1);
    source.requestRoute({ subscriptionId: `sub-${node}`, channel: 1, target: net.ownership.idsOf(node)[0]!, maxLatencyMs: 5000, pipeline: [], policy: 'greedy' });
    net.advance(joinEveryMs);
  }
  const start = net.now;
  for (let i = 0; i < seconds * CHUNKS_PER_SECOND; i++) {
    source.sendChunk(1, 0, new Uint8Array(CHUNK_BYTES).fill(i & 0xff));
    net.advance(1000 / CHUNKS_PER_SECOND);
  }
  const result = nodes.map((node) => {
    const tree = builder(node).treeOf(1);
    const counted = new Set(net.chunks(node).filter((c) => c.at >= start + 1000).map((c) => c.sequence));
    return {
      node,
      parent: tree?.parent,
      children: tree?.children ?? [],
      degree: (tree?.children.length ?? 0) + (tree?.parent ? 1 : 0),
      stress: builder(node).stressOf(1),
      throughputKBps: node === 'S' ? TREE_SOURCE_KBPS : Math.round((counted.size * CHUNK_BYTES) / (seconds - 1) / 1000),
    };
  });
  return { net, nodes: Object.fromEntries(result.map((r) => [r.node, r])) as Record<TreeNode, (typeof result)[number]> };
}
