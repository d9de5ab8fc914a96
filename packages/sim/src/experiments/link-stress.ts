import { buildSplitGreedyTree, buildTree, createRouter, forwardingSets, linkStress, type MulticastTree } from '@cubecast/overlay';
import { partedExperiment, round, type ExperimentOptions } from '../experiment.js';
import type { HostNetwork } from '../hosts.js';
import { assertHostCount, buildScenario, comparedCubes, cubeName, Draw, drawPublication, drawPublisher, drawRng, groupSizes, IdAssignment, sampleHosts } from '../scenario.js';
import { lineChart } from '../svg-chart.js';

const TREES = ['greedy', 'split-greedy'] as const;

/**
 * The slides' link-stress comparison: on the hypercube of N nodes, a random publisher and
 * groups of subscribers; the multicast tree is the union of greedy routes, or the slides'
 * split-based greedy tree. Each host sends one copy per next-hop host; every copy crosses
 * the sender's access link, the shortest router path and the receiver's access link. Link
 * stress = crossings / unique physical links.
 */
export const linkStressExperiment = partedExperiment({
  name: 'link-stress',
  description: 'slides: physical link stress of greedy and split-based greedy multicast trees, by group size',
  // Each group size and tree is a part: the largest group's two trees run side by side.
  parts: ({ hosts }: ExperimentOptions) => {
    assertHostCount(hosts);
    return groupSizes(hosts).flatMap((size) => TREES.map((tree) => ({ size, tree, units: size })));
  },
  prepare({ hosts, seed }: ExperimentOptions) {
    assertHostCount(hosts);
    const { hosts: network } = buildScenario(hosts, seed);
    const [cube] = comparedCubes(hosts);
    const { publisher, ids } = drawPublication(hosts, seed);
    const cost = ids.linkCost(network);
    return { hosts, seed, network, cube, publisher, ids, cost, router: createRouter(cube, { policy: 'greedy', cost }) };
  },
  runPart({ hosts, seed, network, publisher, ids, cost, router }, { size, tree }, advance) {
    const subscribers = Array.from(sampleHosts(hosts, size, publisher, drawRng(seed, Draw.Subscribers, size)), (h) => ids.idOf[h]!);
    const build = tree === 'greedy' ? buildTree : buildSplitGreedyTree;
    const built = build(router, ids.idOf[publisher]!, subscribers, cost);
    advance(size, `group ${size}, ${tree} tree`);
    return { groupSize: size, tree, ...measureTree(built, ids, network) };
  },
  combine({ hosts, seed }: ExperimentOptions, rows) {
    const [cube] = comparedCubes(hosts);
    const publisher = drawPublisher(hosts, seed);
    return {
      json: { experiment: 'link-stress', hosts, seed, cube: cubeName(cube), publisher, rows },
      table: {
        textColumns: 2,
        headers: ['group', 'tree', 'link stress', 'max stress', 'unique links', 'crossings', 'copies', 'mean latency ms'],
        rows: rows.map((r) => [r.groupSize, r.tree, r.linkStress, r.maxStress, r.uniqueLinks, r.crossings, r.copies, r.meanLatencyMs]),
      },
      svg: lineChart({
        title: `Physical link stress, ${cubeName(cube)}, ${hosts} hosts`,
        xLabel: 'group size (subscribers)',
        yLabel: 'link stress (crossings / unique links)',
        xScale: 'log2',
        series: TREES.map((tree) => ({
          name: tree === 'greedy' ? 'greedy' : 'split-based greedy',
          points: rows.filter((r) => r.tree === tree).map((r) => [r.groupSize, r.linkStress] as const),
          markers: true,
        })),
      }),
    };
  },
});

function measureTree(tree: MulticastTree, ids: IdAssignment, network: HostNetwork) {
  const forwarding = forwardingSets(tree, (id) => ids.hostOf[id]!);
  let copies = 0;
  for (const targets of forwarding.values()) copies += targets.size;
  const stress = linkStress(forwarding, (from, to) => {
    const links: number[] = [];
    network.forEachPhysicalLink(from, to, (link) => links.push(link));
    return links;
  });
  let latencySum = 0;
  for (const subscriber of tree.subscribers) latencySum += tree.latency(subscriber)!;
  return {
    linkStress: round(stress.stress),
    maxStress: stress.maxStress,
    uniqueLinks: stress.uniqueLinks,
    crossings: stress.crossings,
    copies,
    meanLatencyMs: round(latencySum / tree.subscribers.size, 1),
  };
}
