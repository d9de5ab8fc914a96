import { channelAnchor, Cube, createRng, hash32, hostLinkCost, InvalidArgumentError, mRegion, Ownership, randomInt, routeTarget, type LinkCost, type LogicalId, type Rng, type Router } from '@cubecast/overlay';
import { HostNetwork } from './hosts.js';
import { RouterDistances } from './shortest-paths.js';
import { generateTransitStub, type Underlay } from './transit-stub.js';

/** Host counts the experiments take: powers of 16, so both compared cubes have exactly N ids. */
export const HOST_COUNTS = [16, 256, 4096, 65536, 1048576] as const;
export const DEFAULT_HOSTS = 65536;

export function assertHostCount(hosts: number): void {
  if (!(HOST_COUNTS as readonly number[]).includes(hosts)) {
    throw new InvalidArgumentError(`--hosts must be a power of 16 from 16 to ${HOST_COUNTS.at(-1)} (${HOST_COUNTS.join(', ')}), got ${hosts}`);
  }
}

/** Stream ids for the seeded draws of one run, so adding a draw does not shift the others. */
export const Draw = { Underlay: 1, Hosts: 2, Ids: 3, Publisher: 4, Subscribers: 5, Bounds: 6, Churn: 7, RegionIds: 8 } as const;

export function drawRng(seed: number, draw: (typeof Draw)[keyof typeof Draw], index = 0): Rng {
  return createRng(hash32(seed, draw, index));
}

/** The underlay and hosts every experiment of one seed shares. */
export interface Scenario {
  readonly underlay: Underlay;
  readonly hosts: HostNetwork;
}

export function buildScenario(hostCount: number, seed: number): Scenario {
  const underlay = generateTransitStub(hash32(seed, Draw.Underlay));
  const hosts = new HostNetwork(new RouterDistances(underlay), hostCount, hash32(seed, Draw.Hosts));
  return { underlay, hosts };
}

/**
 * A trial's random publisher and random ids (one per host), the papers' starting point for
 * every routing experiment; trial 0 is what single-publisher experiments use.
 */
export function drawPublication(hosts: number, seed: number, trial = 0): { publisher: number; ids: IdAssignment } {
  return { publisher: drawPublisher(hosts, seed, trial), ids: IdAssignment.random(hosts, drawRng(seed, Draw.Ids, trial)) };
}

/** A trial's publisher alone, without shuffling every host's id (a million at the largest size). */
export function drawPublisher(hosts: number, seed: number, trial = 0): number {
  return randomInt(drawRng(seed, Draw.Publisher, trial), hosts);
}

/** The hypercube of N nodes and the 16-ary cube of N nodes (2x16 and 16x4 at 65536). */
export function comparedCubes(hosts: number): [Cube, Cube] {
  return [new Cube(2, Math.round(Math.log2(hosts))), new Cube(16, Math.round(Math.log2(hosts) / 4))];
}

/** The cube M-region analysis picks for N hosts (3x11 at 65536, 3x13 at 1048576): more ids than hosts. */
export function regionCube(hosts: number): Cube {
  const { k, n } = mRegion(hosts);
  return new Cube(k, n);
}

/**
 * Hosts on a cube with more ids than hosts, as the server places them (DESIGN: M >= m): each
 * owns a run of the cube's Gray-code walk, floor(M/m) or ceil(M/m) ids, the hosts taken in a
 * random order as a population that joined in random order would be. A channel is anchored
 * at its publisher's smallest id and a route ends at the subscriber's id fewest hops from the
 * anchor, as the server does; hops between two ids of one host cost nothing.
 */
export class RegionPlacement {
  private constructor(
    readonly cube: Cube,
    /** Each id's host. */
    readonly hostOf: Int32Array,
    /** Host h owns `ids[offsets[h]..offsets[h+1]]`. */
    private readonly offsets: Int32Array,
    private readonly ids: Int32Array,
  ) {}

  static random(cube: Cube, hosts: number, rng: Rng): RegionPlacement {
    const ownership = Ownership.create(cube, Array.from(IdAssignment.random(hosts, rng).hostOf, String));
    const hostOf = new Int32Array(cube.size);
    const offsets = new Int32Array(hosts + 1);
    const ids = new Int32Array(cube.size);
    for (let host = 0; host < hosts; host++) {
      const owned = ownership.idsOf(String(host));
      ids.set(owned, offsets[host]!);
      offsets[host + 1] = offsets[host]! + owned.length;
      for (const id of owned) hostOf[id] = host;
    }
    return new RegionPlacement(cube, hostOf, offsets, ids);
  }

  idsOf(host: number): Int32Array {
    return this.ids.subarray(this.offsets[host]!, this.offsets[host + 1]!);
  }

  anchorOf(host: number): LogicalId {
    return channelAnchor(this.idsOf(host));
  }

  /** The id a route from `anchor` to `host` ends at. */
  targetOf(host: number, anchor: LogicalId): LogicalId {
    return routeTarget(this.cube, anchor, this.idsOf(host));
  }

  linkCost(hosts: HostNetwork): LinkCost {
    return hostLinkCost((id) => this.hostOf[id], (a, b) => hosts.latency(a, b));
  }
}

export function cubeName(cube: Cube): string {
  return `${cube.k}x${cube.n}`;
}

/**
 * One logical id per host, as in the papers' experiments (N hosts on a cube of N nodes),
 * drawn at random. Swaps exchange two hosts' ids.
 */
export class IdAssignment {
  /** Where each id's host sits, for each cost function made (see linkCost): swaps keep them in step. */
  private readonly placements: Float64Array[] = [];

  private constructor(
    readonly hostOf: Int32Array,
    readonly idOf: Int32Array,
  ) {}

  static random(count: number, rng: Rng): IdAssignment {
    const hostOf = new Int32Array(count);
    for (let i = 0; i < count; i++) hostOf[i] = i;
    for (let i = count - 1; i > 0; i--) {
      const j = randomInt(rng, i + 1);
      const t = hostOf[i]!;
      hostOf[i] = hostOf[j]!;
      hostOf[j] = t;
    }
    const idOf = new Int32Array(count);
    for (let id = 0; id < count; id++) idOf[hostOf[id]!] = id;
    return new IdAssignment(hostOf, idOf);
  }

  clone(): IdAssignment {
    return new IdAssignment(this.hostOf.slice(), this.idOf.slice());
  }

  swap(a: LogicalId, b: LogicalId): void {
    const ha = this.hostOf[a]!;
    const hb = this.hostOf[b]!;
    this.hostOf[a] = hb;
    this.hostOf[b] = ha;
    this.idOf[ha] = b;
    this.idOf[hb] = a;
    for (const place of this.placements) {
      const router = place[2 * a]!;
      const access = place[2 * a + 1]!;
      place[2 * a] = place[2 * b]!;
      place[2 * a + 1] = place[2 * b + 1]!;
      place[2 * b] = router;
      place[2 * b + 1] = access;
    }
  }

  /**
   * Logical link costs: the latency between the hosts owning either end, read live (HostNetwork
   * .latency's sum). Routing asks this for every neighbour at every hop, millions of times a
   * run: each id's router and access delay sit side by side, indexed by id, so a cost reads one
   * place per end instead of the id's host and then the host's router and delay apart.
   */
  linkCost(hosts: HostNetwork): LinkCost {
    const place = new Float64Array(2 * this.hostOf.length);
    this.hostOf.forEach((host, id) => {
      place[2 * id] = hosts.routerOf[host]!;
      place[2 * id + 1] = hosts.access[host]!;
    });
    this.placements.push(place);
    const { distances } = hosts;
    return (a, b) => (a === b ? 0 : place[2 * a + 1]! + distances.distance(place[2 * a]!, place[2 * b]!) + place[2 * b + 1]!);
  }
}

/**
 * Latency and hop count of the route from `source` to `destination`, walked hop by hop as
 * relays would, without building the path. `hostHops` counts the hops between two hosts, given
 * each id's host (`hostOf`) where hosts own several ids; without it every hop is one.
 */
export function walkRoute(
  router: Router,
  cost: LinkCost,
  source: LogicalId,
  destination: LogicalId,
  hostOf?: ArrayLike<number>,
): { latency: number; hops: number; hostHops: number } {
  let latency = 0;
  let hops = 0;
  let hostHops = 0;
  for (let at = source, next = router.nextHop(at, destination, source); next !== null; at = next, next = router.nextHop(at, destination, source)) {
    latency += cost(at, next);
    hops++;
    if (!hostOf || hostOf[at] !== hostOf[next]) hostHops++;
  }
  return { latency, hops, hostHops };
}

/** `count` distinct hosts other than `exclude`, in random order (a partial Fisher-Yates). */
export function sampleHosts(total: number, count: number, exclude: number, rng: Rng): Int32Array {
  if (count > total - 1) throw new InvalidArgumentError(`cannot pick ${count} of ${total - 1} hosts`);
  const pool = new Int32Array(total - 1);
  for (let h = 0, i = 0; h < total; h++) if (h !== exclude) pool[i++] = h;
  for (let i = 0; i < count; i++) {
    const j = i + randomInt(rng, pool.length - i);
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool.subarray(0, count);
}

/**
 * Group sizes from N/128 up: powers of two to N/2, then every other host (512 .. 32768 and
 * 65535 at 65536 hosts).
 */
export function groupSizes(hosts: number): number[] {
  const sizes: number[] = [];
  for (let size = Math.max(2, hosts / 128); size <= hosts / 2; size *= 2) sizes.push(size);
  sizes.push(hosts - 1);
  return sizes;
}
