import { describe, expect, it } from 'vitest';
import { MalformedMessageError } from '@cubecast/protocol';
import { TREE_SOURCE_KBPS, treeRun } from '../testing/tree-run.js';
import { treeMessages } from './stress-tree.js';

describe('tree construction (iOverlay case study 3.2, Fig. 5 and Table 3)', () => {
  it('node-stress-aware: the paper\'s tree (S: D, A; A: C, B), its degrees and stresses, and the whole stream at every node', () => {
    const { nodes } = treeRun('stress');
    expect(nodes.S.children.sort()).toEqual(['A', 'D']);
    expect(nodes.A.children.sort()).toEqual(['B', 'C']);
    expect(Object.values(nodes).map((n) => [n.node, n.degree, n.stress])).toEqual([
      ['S', 2, 1],
      ['A', 3, 0.6],
      ['B', 1, 1],
      ['C', 1, 0.5],
      ['D', 1, 1],
    ]);
    for (const node of ['A', 'B', 'C', 'D'] as const) expect(nodes[node].throughputKBps / TREE_SOURCE_KBPS, node).toBeGreaterThan(0.97);
  });

  it('stress travels when a degree changes, not only each refresh: joins 100 ms apart build the same tree', () => {
    const { nodes } = treeRun('stress', { joinEveryMs: 100, seconds: 2 });
    expect([nodes.S.children.sort(), nodes.A.children.sort()]).toEqual([
      ['A', 'D'],
      ['B', 'C'],
    ]);
  });

  it('a subscriber\'s key frame request climbs the tree to the source', () => {
    const { net } = treeRun('stress', { seconds: 2 });
    net.engines.get('B')!.requestKeyframe(1);
    net.advance(100);
    expect(net.eventsOf('S', 'keyframe:request')).toHaveLength(1);
  });

  it('all-unicast: every node the source\'s child, its 200 KBps shared four ways: about half the stream each', () => {
    const { nodes } = treeRun('unicast');
    expect(nodes.S.children.sort()).toEqual(['A', 'B', 'C', 'D']);
    expect(Object.values(nodes).map((n) => [n.node, n.degree, n.stress])).toEqual([
      ['S', 4, 2],
      ['A', 1, 0.2],
      ['B', 1, 1],
      ['C', 1, 0.5],
      ['D', 1, 1],
    ]);
    for (const node of ['A', 'B', 'C', 'D'] as const) {
      expect(nodes[node].throughputKBps / TREE_SOURCE_KBPS, node).toBeGreaterThan(0.45);
      expect(nodes[node].throughputKBps / TREE_SOURCE_KBPS, node).toBeLessThan(0.6);
    }
  });

  it('randomized: a tree (every node reached from S), whose seeds give different shapes', () => {
    const shapes = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const { nodes } = treeRun('random', { seed, seconds: 2 });
      const reached = new Set(['S']);
      for (let grew = true; grew; ) {
        grew = false;
        for (const n of Object.values(nodes)) if (n.parent && reached.has(n.parent) && !reached.has(n.node)) grew = reached.add(n.node) !== undefined;
      }
      expect(reached.size).toBe(5);
      shapes.add(JSON.stringify(Object.values(nodes).map((n) => n.parent ?? '-')));
    }
    expect(shapes.size).toBeGreaterThan(1);
  });

  it('tree messages: golden bytes, and bad ones refused', () => {
    expect(new TextDecoder().decode(treeMessages.encode({ t: 'stress', stress: 0.5 }))).toBe('{"v":1,"t":"stress","stress":0.5}');
    expect(treeMessages.decode(new TextEncoder().encode('{"v":1,"t":"leave"}'))).toEqual({ t: 'leave' });
    for (const bad of ['{"v":2,"t":"leave"}', '{"v":1,"t":"nope"}', '{"v":1,"t":"leave","x":1}', 'not json', '{"v":1,"t":"stress","stress":-1}']) {
      expect(() => treeMessages.decode(new TextEncoder().encode(bad)), bad).toThrow(MalformedMessageError);
    }
    expect(() => treeMessages.decode(new Uint8Array([0xff, 0xfe]))).toThrow(MalformedMessageError);
    // What would not fit a type 8 payload is refused when sent.
    expect(() => treeMessages.encode({ t: 'prune', sub: 'x'.repeat(2000) })).toThrow(RangeError);
  });
});
