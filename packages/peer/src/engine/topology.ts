import { Cube, createRouter, type Router } from '@cubecast/overlay';
import type { RoutingPolicyName } from '@cubecast/protocol';
import type { CubeView } from './types.js';

/**
 * The cube as this host sees it (the server's view): the ids it owns, which host owns each
 * neighbouring id, and one router per policy over them. Routers are made on first use in each
 * view, seeded by the epoch, so every host of an epoch routes alike.
 */
export class Topology {
  private view: CubeView | undefined;
  private cube: Cube | undefined;
  private ids = new Set<number>();
  private owners = new Map<number, string>();
  private readonly routers = new Map<RoutingPolicyName, Router>();

  /** `linkCost`: the one-way latency toward a linked host, Infinity where there is no usable link. */
  constructor(private readonly linkCost: (hostId: string) => number) {}

  /** The current epoch; undefined before the first view. */
  get epoch(): number | undefined {
    return this.view?.epoch;
  }

  /** Takes a new view; returns the hosts it links this host to. */
  set(view: CubeView): ReadonlySet<string> {
    if (!this.cube || this.cube.k !== view.k || this.cube.n !== view.n) this.cube = new Cube(view.k, view.n);
    this.view = view;
    this.ids = new Set(view.ids);
    this.owners = new Map(view.neighbours);
    this.routers.clear();
    return new Set(this.owners.values());
  }

  /** This host's id in the room; undefined before the first view. */
  get hostId(): string | undefined {
    return this.view?.hostId;
  }

  /** The cube's shape and the ids this host owns; undefined before the first view. */
  get shape(): { readonly k: number; readonly n: number; readonly ids: readonly number[] } | undefined {
    return this.view && { k: this.view.k, n: this.view.n, ids: this.view.ids };
  }

  owns(id: number): boolean {
    return this.ids.has(id);
  }

  /** The host owning a neighbouring id. */
  ownerOf(id: number): string | undefined {
    return this.owners.get(id);
  }

  /** The router of `policy` in the current view (greedy's link cost: the measured one-way latency). */
  router(policy: RoutingPolicyName): Router | undefined {
    const cube = this.cube;
    if (!cube || !this.view) return undefined;
    let router = this.routers.get(policy);
    if (!router) {
      router = createRouter(cube, {
        policy,
        seed: this.view.epoch,
        cost: (_from, to) => (this.ids.has(to) ? 0 : this.linkCost(this.owners.get(to) ?? '')),
      });
      this.routers.set(policy, router);
    }
    return router;
  }
}
