import { MessageType, PUBLISHED_VARIANT, type MessageHeader } from '@cubecast/protocol';
import { z } from 'zod';
import type { AlgorithmFactory, AlgorithmMessage } from '../engine/algorithm.js';
import { BaseAlgorithm } from './base-algorithm.js';
import { jsonMessages } from './json-messages.js';
import type { RouteRequestInfo } from './cube-routing.js';

/**
 * How a joining host's query picks its parent (seed 004, section 3.2): `stress`, the
 * node-stress-aware tree (each node compares its stress with its parent's and children's and
 * passes the query to the least stressed, until it is the least itself); `unicast`, every
 * host the source's child; `random`, the query stops at a node picked at random on its way
 * down (itself or one of its children, uniformly, at each step).
 */
export type TreeMode = 'stress' | 'unicast' | 'random';

/** Tree messages travel as type 8 (Algorithm) payloads: JSON, version 1 (docs/protocol.md). */
export const TREE_MESSAGE_VERSION = 1;
/** A query walks at most this many hosts; the last takes the joiner if it can reach it. */
const MAX_WALK = 16;

const hostId = z.string().min(1).max(64);
const subscriptionId = z.string().min(1).max(64);
const version = z.literal(TREE_MESSAGE_VERSION);
const treeMessageSchema = z.discriminatedUnion('t', [
  /** A joiner looks for its parent: walked down the tree from the source. */
  z.strictObject({ v: version, t: z.literal('query'), sub: subscriptionId, joiner: hostId, source: hostId, maxLatencyMs: z.number().int().min(1).max(600_000), visited: z.array(hostId).max(MAX_WALK) }),
  /** From the host that took the joiner as its child. */
  z.strictObject({ v: version, t: z.literal('ack'), sub: subscriptionId, source: hostId, depth: z.number().int().min(0).max(255), maxLatencyMs: z.number().int().min(1).max(600_000) }),
  /** A host's stress, to its parent and children: periodically, and when its degree changes. */
  z.strictObject({ v: version, t: z.literal('stress'), stress: z.number().finite().min(0).max(1e9) }),
  /** From a child: take me off. From a parent: I am no longer yours (rejoin). */
  z.strictObject({ v: version, t: z.literal('leave') }),
  /** Down the tree from the source: a subscription was cancelled. */
  z.strictObject({ v: version, t: z.literal('prune'), sub: subscriptionId }),
]);
export const treeMessages = jsonMessages(treeMessageSchema, TREE_MESSAGE_VERSION);
export type TreeMessage = ReturnType<typeof treeMessages.decode>;
type Query = Extract<TreeMessage, { t: 'query' }>;

/** One channel's tree as one host sees it. */
interface ChannelTree {
  readonly source: string;
  parent: string | undefined;
  depth: number;
  /** Child host -> the largest latency bound among the queries it joined by. */
  readonly children: Map<string, number>;
  /** Subscriptions ending here -> their bounds. */
  readonly subscriptions: Map<string, number>;
  /** The last stress each neighbour in the tree reported. */
  readonly stress: Map<string, number>;
}

/**
 * iOverlay's tree construction case study (seed 004, 3.2, Fig. 5 and Table 3) as an overlay
 * algorithm: one dissemination tree per channel, grown by queries from the source as the
 * server reports subscribers (its route requests), in one of three modes (TreeMode). The
 * engine switches data down the branches laid to each child; a node's stress is its degree
 * over its emulated bandwidth (per 100 KBps, the paper's unit).
 *
 * Parents and children must be linked: on a cube of more than one dimension not every pair
 * is, so these algorithms want a 1-dimensional cube (k-ary 1-cube: every host linked to
 * every other, as iOverlay's hosts could all reach each other), which the observer forces
 * with n = 1. A host that loses its parent tells its children, and each rejoins from the
 * source: no cycles, at the cost of some churn. Subscriptions' pipelines are not applied.
 */
export class TreeBuilder extends BaseAlgorithm {
  readonly name: string;
  private readonly trees = new Map<number, ChannelTree>();
  /** At the source: the subscriptions the server asked routes for, to prune them when cancelled. */
  private readonly requests = new Map<string, RouteRequestInfo>();

  constructor(
    readonly mode: TreeMode,
    refreshMs: number,
    random?: () => number,
  ) {
    super(random, refreshMs);
    this.name = `${mode}-tree`;
  }

  /** This host's degree in a channel's tree and its stress (Infinity-free: no emulated bandwidth counts as 1 Gbit/s). */
  stressOf(channel: number): number {
    const tree = this.trees.get(channel);
    const degree = tree ? tree.children.size + (tree.parent ? 1 : 0) : 0;
    return degree / ((this.context.bandwidthKbps() ?? 1e6) / 800);
  }

  /** Where this host sits in a channel's tree (diagnostics, tests). */
  treeOf(channel: number): { parent: string | undefined; children: string[]; depth: number } | undefined {
    const tree = this.trees.get(channel);
    return tree && { parent: tree.parent, children: [...tree.children.keys()], depth: tree.depth };
  }

  protected handle(message: AlgorithmMessage): void {
    switch (message.type) {
      case 'route:request':
        return this.requested(message.route);
      case 'route:cancel': {
        const route = this.requests.get(message.subscriptionId);
        this.requests.delete(message.subscriptionId);
        if (route) this.prune(route.channel, message.subscriptionId);
        return;
      }
      case 'channel:unpublished':
        for (const [sub, route] of this.requests) if (route.channel === message.channel) this.requests.delete(sub);
        this.detach(message.channel);
        return;
      case 'protocol':
        if (message.header.type === MessageType.Algorithm) this.received(message.from, message.header, message.payload);
        return;
      case 'link:down':
        for (const [channel, tree] of this.trees) {
          if (tree.children.delete(message.hostId)) this.layBranches(channel);
          if (tree.parent === message.hostId) this.detach(channel, true);
        }
        return;
      default:
        return;
    }
  }

  /** The server's route request, at the source: the subscriber's query starts here, the first node of the tree. */
  private requested(route: RouteRequestInfo): void {
    const self = this.context.topology.hostId;
    const joiner = this.context.topology.owns(route.target) ? self : this.context.topology.ownerOf(route.target);
    if (!self || !joiner) {
      this.context.reportError(new Error(`${this.name} needs the subscriber of ${route.subscriptionId} linked to the source: force a 1-dimensional cube`));
      return;
    }
    this.requests.set(route.subscriptionId, route);
    if (!this.trees.has(route.channel)) this.trees.set(route.channel, { source: self, parent: undefined, depth: 0, children: new Map(), subscriptions: new Map(), stress: new Map() });
    this.query(route.channel, { t: 'query', sub: route.subscriptionId, joiner, source: self, maxLatencyMs: Math.min(600_000, Math.max(1, Math.round(route.maxLatencyMs))), visited: [] });
  }

  private received(from: string, header: MessageHeader, payload: Uint8Array): void {
    const message = treeMessages.read(payload, () => this.context.refused());
    if (!message) return;
    const channel = header.channel;
    const tree = this.trees.get(channel);
    switch (message.t) {
      case 'query':
        return this.query(channel, message);
      case 'ack':
        return this.acked(channel, from, message);
      case 'stress':
        if (tree && (tree.parent === from || tree.children.has(from))) tree.stress.set(from, message.stress);
        return;
      case 'leave':
        if (tree?.parent === from) this.detach(channel, true);
        else if (tree?.children.delete(from)) this.childLeft(channel, tree);
        return;
      case 'prune':
        if (tree?.parent === from) this.prune(channel, message.sub);
        return;
    }
  }

  /** A query at a node of the tree: take the joiner here, or pass the query on. */
  private query(channel: number, query: Query): void {
    const self = this.context.topology.hostId!;
    const tree = this.trees.get(channel);
    if (!tree) {
      // Not (or no longer) in the tree: the source starts it again.
      if (query.source !== self) this.sendTo(query.source, channel, query);
      return;
    }
    const reaches = (hostId: string) => hostId === query.joiner || this.context.link(query.joiner)?.state === 'open';
    const canTake = query.joiner === self || reaches(self);
    const next = query.visited.length + 1 >= MAX_WALK ? undefined : this.nextStep(channel, tree, query, canTake);
    if (next === undefined) {
      if (canTake) this.take(channel, tree, query);
      else this.context.reportError(new Error(`${this.name}: no node on the way could link to ${query.joiner}`));
      return;
    }
    this.sendTo(next, channel, { ...query, visited: [...query.visited, self] });
  }

  /** Where a query goes from here, by the mode; undefined: it stops here. */
  private nextStep(channel: number, tree: ChannelTree, query: Query, canTake: boolean): string | undefined {
    const self = this.context.topology.hostId!;
    const open = (hostId: string) => hostId !== query.joiner && !query.visited.includes(hostId) && this.knownHosts.has(hostId);
    if (this.mode === 'unicast') return tree.source === self || !open(tree.source) ? undefined : tree.source;
    const children = [...tree.children.keys()].filter(open);
    if (this.mode === 'random') {
      const pick = Math.floor(this.random() * (children.length + (canTake ? 1 : 0)));
      return pick < children.length ? children[pick] : undefined;
    }
    const candidates = [...(tree.parent && open(tree.parent) ? [tree.parent] : []), ...children];
    let best: string | undefined;
    let least = canTake ? this.stressOf(channel) : Infinity;
    for (const hostId of candidates) {
      const stress = tree.stress.get(hostId) ?? Infinity;
      if (stress < least) [best, least] = [hostId, stress];
    }
    return best;
  }

  private take(channel: number, tree: ChannelTree, query: Query): void {
    const self = this.context.topology.hostId!;
    if (query.joiner === self) {
      this.acked(channel, self, { t: 'ack', sub: query.sub, source: tree.source, depth: tree.depth, maxLatencyMs: query.maxLatencyMs });
      return;
    }
    tree.children.set(query.joiner, Math.max(tree.children.get(query.joiner) ?? 0, query.maxLatencyMs));
    tree.stress.delete(query.joiner);
    this.layBranches(channel);
    this.sendTo(query.joiner, channel, { t: 'ack', sub: query.sub, source: tree.source, depth: Math.min(255, tree.depth + 1), maxLatencyMs: query.maxLatencyMs });
    this.tellStress(channel);
  }

  /** Taken as a child (or, joiner === parent, a subscriber on a node of the tree already). */
  private acked(channel: number, parent: string, ack: Extract<TreeMessage, { t: 'ack' }>): void {
    const self = this.context.topology.hostId!;
    let tree = this.trees.get(channel);
    if (!tree) this.trees.set(channel, (tree = { source: ack.source, parent: undefined, depth: ack.depth, children: new Map(), subscriptions: new Map(), stress: new Map() }));
    if (parent !== self) {
      if (tree.parent && tree.parent !== parent) this.sendTo(tree.parent, channel, { t: 'leave' });
      tree.parent = parent;
      this.context.setUpstream(channel, parent);
      tree.depth = ack.depth;
    }
    tree.subscriptions.set(ack.sub, ack.maxLatencyMs);
    this.layLocal(channel, ack.sub);
    this.context.established(channel, ack.sub, tree.depth, 0);
    this.tellStress(channel);
  }

  /** A subscription ends: off the host it ended at, and down the tree for the hosts below. */
  private prune(channel: number, sub: string): void {
    const tree = this.trees.get(channel);
    if (!tree) return;
    if (tree.subscriptions.delete(sub)) this.context.setLocal(channel, sub, undefined);
    for (const child of tree.children.keys()) this.sendTo(child, channel, { t: 'prune', sub });
    this.childLeft(channel, tree);
  }

  /** A host that no longer serves anyone (no subscription, no child) and is not the source leaves the tree. */
  private childLeft(channel: number, tree: ChannelTree): void {
    this.layBranches(channel);
    const self = this.context.topology.hostId;
    if (tree.source === self || tree.subscriptions.size > 0 || tree.children.size > 0) {
      this.tellStress(channel);
      return;
    }
    if (tree.parent) this.sendTo(tree.parent, channel, { t: 'leave' });
    this.trees.delete(channel);
    this.context.setUpstream(channel, undefined);
  }

  /**
   * Off the tree: the children are told (each rejoins from the source), the branches go; with
   * `rejoin`, this host's own subscriptions look for a new parent from the source.
   */
  private detach(channel: number, rejoin = false): void {
    const tree = this.trees.get(channel);
    if (!tree) return;
    for (const child of tree.children.keys()) {
      this.sendTo(child, channel, { t: 'leave' });
      this.context.setBranch(channel, branchKey(child), undefined);
    }
    this.trees.delete(channel);
    this.context.setUpstream(channel, undefined);
    const self = this.context.topology.hostId!;
    if (!rejoin || tree.source === self) return;
    for (const [sub, maxLatencyMs] of tree.subscriptions) {
      this.sendTo(tree.source, channel, { t: 'query', sub, joiner: self, source: tree.source, maxLatencyMs, visited: [] });
    }
  }

  protected override refresh(): void {
    for (const [channel, tree] of this.trees) {
      this.layBranches(channel);
      for (const sub of tree.subscriptions.keys()) this.layLocal(channel, sub);
      this.tellStress(channel);
    }
  }

  /** Branches to each child, kept alive by each refresh (the engine expires them after 3). */
  private layBranches(channel: number): void {
    const tree = this.trees.get(channel);
    if (!tree) return;
    for (const [child, maxLatencyMs] of tree.children) this.context.setBranch(channel, branchKey(child), { nextHost: child, variant: PUBLISHED_VARIANT, maxLatencyMs });
  }

  private layLocal(channel: number, sub: string): void {
    this.context.setLocal(channel, sub, { variant: PUBLISHED_VARIANT });
  }

  private tellStress(channel: number): void {
    const tree = this.trees.get(channel);
    if (!tree) return;
    const stress = this.stressOf(channel);
    for (const hostId of [...(tree.parent ? [tree.parent] : []), ...tree.children.keys()]) this.sendTo(hostId, channel, { t: 'stress', stress });
  }

  private sendTo(hostId: string, channel: number, message: TreeMessage): void {
    this.sendOwn(hostId, channel, treeMessages.encode(message));
  }
}

/** The branch toward a child, keyed by the child (subscriptions below it share it). */
function branchKey(child: string): string {
  return `tree>${child}`;
}

export const stressTree: AlgorithmFactory = ({ refreshMs }) => new TreeBuilder('stress', refreshMs);
export const unicastTree: AlgorithmFactory = ({ refreshMs }) => new TreeBuilder('unicast', refreshMs);
export const randomTree: AlgorithmFactory = ({ refreshMs }) => new TreeBuilder('random', refreshMs);
