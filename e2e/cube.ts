import { Cube } from '@cubecast/overlay';
import type { Snapshot } from './fixtures.js';

/** From every tab's own ids: who owns each id, and the hosts each tab must be linked to. */
export function cubeFacts(all: Snapshot[]) {
  const { k, n } = all[0]!.cube!;
  const cube = new Cube(k, n);
  const owner = new Map<number, string>();
  for (const s of all) for (const text of s.ids) owner.set(cube.fromText(text), s.hostId!);
  const neighbourHosts = (s: Snapshot) => {
    const hosts = new Set<string>();
    for (const text of s.ids) {
      for (const id of cube.neighbours(cube.fromText(text))) {
        const o = owner.get(id);
        if (o && o !== s.hostId) hosts.add(o);
      }
    }
    return [...hosts].sort();
  };
  /** Fewest cube hops from any id of `from` to any id of `to`. */
  const hostHops = (from: Snapshot, to: Snapshot) =>
    Math.min(...from.ids.flatMap((a) => to.ids.map((b) => cube.hopDistance(cube.fromText(a), cube.fromText(b)))));
  return { cube, owner, neighbourHosts, hostHops };
}
