import { describe, expect, it } from 'vitest';
import { Cube } from './cube.js';
import { CubeFullError, DuplicateHostError, InvalidArgumentError, UnknownHostError } from './errors.js';
import { grayId, grayRank } from './gray.js';
import { Ownership, type HostKey, type Move } from './ownership.js';
import { createRng, randomInt } from './random.js';

const hostNames = (count: number, prefix = 'h') => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

/** What is wrong with balance, exact ownership or the hosts' id lists; [] when nothing. */
function problems(o: Ownership): string[] {
  const m = o.hostCount;
  const M = o.cube.size;
  const out: string[] = [];
  let total = 0;
  for (const host of o.hosts()) {
    const ids = o.idsOf(host);
    total += ids.length;
    if (ids.length !== Math.floor(M / m) && ids.length !== Math.ceil(M / m)) {
      out.push(`${host} owns ${ids.length} of ${M} ids with ${m} hosts`);
    }
    for (const id of ids) if (o.ownerOf(id) !== host) out.push(`${id} is listed for ${host}, owned by ${o.ownerOf(id)}`);
  }
  if (total !== M) out.push(`hosts own ${total} ids, the cube has ${M}`);
  return out;
}

function expectValid(o: Ownership): void {
  expect(problems(o)).toEqual([]);
}

describe('Gray walk', () => {
  it('is a permutation whose consecutive ids differ by ±1 in one digit, without wrapping', () => {
    for (let k = 2; k <= 7; k++) {
      for (let n = 1; n <= 4; n++) {
        const cube = new Cube(k, n);
        const seen = new Set<number>();
        let previous = -1;
        for (let rank = 0; rank < cube.size; rank++) {
          const id = grayId(cube, rank);
          expect(grayRank(cube, id)).toBe(rank);
          seen.add(id);
          if (previous >= 0) {
            const a = cube.digits(previous);
            const b = cube.digits(id);
            const diffs = a.map((d, i) => Math.abs(d - b[i]!)).filter((d) => d !== 0);
            expect(diffs, `${k}-ary ${n}-cube rank ${rank}`).toEqual([1]);
          }
          previous = id;
        }
        expect(seen.size).toBe(cube.size);
      }
    }
  });
});

describe('Ownership', () => {
  it('starts balanced, with every host on a connected run of ids', () => {
    for (const [k, n, m] of [[3, 5, 100], [2, 8, 77], [5, 3, 125], [4, 4, 3], [3, 3, 27]] as const) {
      const o = Ownership.create(new Cube(k, n), hostNames(m));
      expectValid(o);
      for (const host of o.hosts()) expect(o.spread(host)).toBeLessThanOrEqual(o.idsOf(host).length - 1);
    }
  });

  it('keeps balance with the fewest moves over 10^4 random joins and leaves', () => {
    const cube = new Cube(3, 6);
    const o = Ownership.create(cube, hostNames(300));
    const shadow = new Map<number, HostKey>();
    for (let id = 0; id < cube.size; id++) shadow.set(id, o.ownerOf(id)!);
    const replay = (moves: Move[]) => {
      for (const { id, from, to } of moves) {
        if ((shadow.get(id) ?? null) !== from) expect({ id, from, owner: shadow.get(id) }).toBe('a move from the owner');
        if (to === null) shadow.delete(id);
        else shadow.set(id, to);
      }
    };
    const rng = createRng(42);
    let next = 0;
    let leaveMoves = 0;
    let leaveMovesToNeighbours = 0;
    for (let op = 0; op < 10_000; op++) {
      const m = o.hostCount;
      const join = m === 0 || (m < cube.size && rng() < 0.5);
      if (join) {
        const moves = o.join(`n${next++}`);
        if (moves.length !== (m === 0 ? cube.size : Math.floor(cube.size / (m + 1)))) expect({ op, m, moves }).toBe('minimal');
        replay(moves);
      } else {
        const hosts = o.hosts();
        const leaver = hosts[randomInt(rng, hosts.length)]!;
        const load = o.idsOf(leaver).length;
        const before = new Map(o.idsOf(leaver).map((id) => [id, cube.neighbours(id).map((x) => o.ownerOf(x))]));
        const moves = o.leave(leaver);
        if (moves.length !== load) expect({ op, load, moves }).toBe('minimal');
        for (const move of moves) {
          leaveMoves++;
          if (before.get(move.id)!.includes(move.to ?? undefined)) leaveMovesToNeighbours++;
        }
        replay(moves);
      }
      if (o.hostCount > 0) {
        const found = problems(o);
        if (found.length > 0) expect({ op, found }).toEqual({ op, found: [] });
      }
      if (op % 500 === 0) {
        const differing = [...Array(cube.size).keys()].filter((id) => o.ownerOf(id) !== shadow.get(id));
        expect(differing).toEqual([]);
      }
    }
    // Ids go to a host owning a neighbouring id whenever balance allows it: nearly always.
    expect(leaveMovesToNeighbours / leaveMoves).toBeGreaterThan(0.9);
  });

  it('takes many hosts leaving at once: balanced and exact after, one move per orphaned id, mostly to a neighbour', () => {
    const rng = createRng(11);
    let moved = 0;
    let toNeighbours = 0;
    for (let round = 0; round < 300; round++) {
      const [k, n] = ([[2, 8], [3, 5], [4, 4], [5, 3], [16, 2]] as const)[round % 5]!;
      const cube = new Cube(k, n);
      const m = 2 + randomInt(rng, Math.min(cube.size, 200) - 1);
      const o = Ownership.create(cube, hostNames(m), round);
      // Some joins and single leaves first, so the layout is not the initial runs.
      for (let i = 0; i < 10 && o.hostCount < cube.size; i++) o.join(`j${round}-${i}`);
      o.leave(o.hosts()[randomInt(rng, o.hostCount)]!);
      const hosts = o.hosts();
      const leaving = hosts.filter(() => rng() < 0.1 + 0.8 * (round / 300));
      if (leaving.length === 0) leaving.push(hosts[0]!);
      const owned = new Map(leaving.flatMap((h) => o.idsOf(h).map((id) => [id, h] as const)));
      const around = new Map([...owned.keys()].map((id) => [id, cube.neighbours(id).map((x) => o.ownerOf(x))]));
      const before = new Map([...Array(cube.size).keys()].map((id) => [id, o.ownerOf(id)]));
      const moves = o.leaveMany(leaving);
      // One move per id the leavers owned, from its owner, to where it is now; nothing else moved.
      expect(moves.length).toBe(owned.size);
      for (const move of moves) {
        expect(move.from).toBe(owned.get(move.id));
        expect(move.to ?? undefined).toBe(o.ownerOf(move.id));
        moved++;
        if (move.to !== null && around.get(move.id)!.includes(move.to)) toNeighbours++;
      }
      for (const [id, owner] of before) if (!owned.has(id)) expect(o.ownerOf(id)).toBe(owner);
      for (const host of leaving) expect(() => o.idsOf(host)).toThrow(UnknownHostError);
      if (o.hostCount > 0) expectValid(o);
      else expect(moves.every((move) => move.to === null)).toBe(true);
    }
    // Mass leaves orphan whole regions, whose inner ids have no neighbour left to take them.
    expect(toNeighbours / moved).toBeGreaterThan(0.5);
  });

  it('refuses a mass leave naming an unknown host, and changes nothing', () => {
    const o = Ownership.create(new Cube(2, 4), hostNames(4));
    const before = o.idsOf('h1');
    expect(() => o.leaveMany(['h1', 'nobody'])).toThrow(UnknownHostError);
    expect(o.idsOf('h1')).toEqual(before);
    expectValid(o);
  });

  it('grows joining hosts as balls, not scattered ids', () => {
    const cube = new Cube(2, 12);
    const o = Ownership.create(cube, hostNames(8));
    const moves = o.join('new');
    expect(moves).toHaveLength(Math.floor(4096 / 9));
    // 455 ids taken as a breadth-first ball: far tighter than the cube's diameter of 12.
    expect(o.spread('new')).toBeLessThanOrEqual(8);
    expectValid(o);
  });

  it('empties when the last host leaves and refills on the next join', () => {
    const cube = new Cube(2, 3);
    const o = Ownership.create(cube, ['a']);
    expect(o.leave('a').every((m) => m.from === 'a' && m.to === null)).toBe(true);
    expect(o.hostCount).toBe(0);
    expect(o.ownerOf(0)).toBeUndefined();
    expect(o.join('b')).toHaveLength(8);
    expect(o.idsOf('b')).toHaveLength(8);
  });

  it('refuses a host too many, a host twice and an unknown host', () => {
    const cube = new Cube(2, 2);
    expect(() => Ownership.create(cube, hostNames(5))).toThrow(CubeFullError);
    expect(() => Ownership.create(cube, ['a', 'a'])).toThrow(DuplicateHostError);
    const o = Ownership.create(cube, hostNames(4));
    expect(() => o.join('h9')).toThrow(CubeFullError);
    expect(() => o.join('h1')).toThrow(DuplicateHostError);
    expect(() => o.leave('nobody')).toThrow(UnknownHostError);
    expect(() => o.idsOf('nobody')).toThrow(UnknownHostError);
  });

  it('gives neighbour tables and links that match the definition', () => {
    const cube = new Cube(3, 4);
    const o = Ownership.create(cube, hostNames(20));
    for (const host of o.hosts()) {
      const expected = new Map<number, HostKey>();
      for (const id of o.idsOf(host)) {
        for (const x of cube.neighbours(id)) if (o.ownerOf(x) !== host) expected.set(x, o.ownerOf(x)!);
      }
      expect(o.neighbourTable(host)).toEqual(expected);
      for (const other of o.linkedHosts(host)) expect(o.linkedHosts(other)).toContain(host);
      expect(o.linkedHosts(host)).not.toContain(host);
    }
  });

  it('swaps two ids without changing loads', () => {
    const cube = new Cube(3, 3);
    const o = Ownership.create(cube, hostNames(9));
    const a = o.idsOf('h0')[0]!;
    const b = o.idsOf('h5')[1]!;
    expect(o.swap(a, b)).toEqual([
      { id: a, from: 'h0', to: 'h5' },
      { id: b, from: 'h5', to: 'h0' },
    ]);
    expect(o.ownerOf(a)).toBe('h5');
    expect(o.ownerOf(b)).toBe('h0');
    expectValid(o);
    expect(o.swap(a, o.idsOf('h5')[0]!)).toEqual([]);
  });

  it('re-embeds the same hosts into another cube, keeping their order along the walk', () => {
    const o = Ownership.create(new Cube(3, 3), hostNames(20));
    const bigger = o.reembed(new Cube(3, 4));
    expectValid(bigger);
    expect(bigger.hosts().sort()).toEqual(o.hosts().sort());
    expect(bigger.hosts()).toEqual(hostNames(20));
    // One host owning a large cube re-embeds too (no argument-count limits on the way).
    const lone = Ownership.create(new Cube(2, 18), ['only']).reembed(new Cube(3, 2));
    expect(lone.idsOf('only')).toHaveLength(9);
  });

  it('restores a saved ownership exactly, and it goes on joining and leaving as the original would', () => {
    const rng = createRng(7);
    const cube = new Cube(4, 3);
    let next = 0;
    const o = Ownership.create(cube, hostNames(10));
    const hosts = new Set(hostNames(10));
    for (let step = 0; step < 300; step++) {
      if (hosts.size > 1 && randomInt(rng, 2) === 0) {
        const leaving = [...hosts][randomInt(rng, hosts.size)]!;
        o.leave(leaving);
        hosts.delete(leaving);
      } else if (hosts.size < cube.size) {
        const key = `j${next++}`;
        o.join(key);
        hosts.add(key);
      }
      if (step % 37 !== 0) continue;
      // As a saved room has it: each host with its ids, the hosts in any order.
      const keys = o.hosts().reverse();
      const owners = new Int32Array(cube.size);
      keys.forEach((key, index) => {
        for (const id of o.idsOf(key)) owners[id] = index;
      });
      const restored = Ownership.restore(cube, keys, owners);
      expectValid(restored);
      for (let id = 0; id < cube.size; id++) expect(restored.ownerOf(id)).toBe(o.ownerOf(id));
      for (const host of hosts) expect(restored.neighbourTable(host)).toEqual(o.neighbourTable(host));
      // Loads were rebuilt: the restored one keeps its balance through more changes.
      restored.join('late');
      restored.leave(keys[0]!);
      expectValid(restored);
    }
  });

  it('refuses to restore an ownership no method could have left', () => {
    const cube = new Cube(2, 2);
    expect(() => Ownership.restore(cube, ['a', 'b'], [0, 0, 1])).toThrow(InvalidArgumentError);
    expect(() => Ownership.restore(cube, ['a', 'b'], [0, 0, 1, 2])).toThrow(/id 3 has no owner/);
    expect(() => Ownership.restore(cube, ['a', 'b'], [0, 0, 1, -1])).toThrow(/id 3 has no owner/);
    expect(() => Ownership.restore(cube, ['a', 'b', 'c'], [0, 0, 1, 1])).toThrow(/c owns no id/);
    expect(() => Ownership.restore(cube, ['a', 'a'], [0, 0, 1, 1])).toThrow(DuplicateHostError);
  });
});
