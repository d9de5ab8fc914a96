import { MessageType, NO_CHANNEL, spaSpecSchema, type MessageHeader, type SpaSpec } from '@cubecast/protocol';
import { z } from 'zod';
import type { AlgorithmFactory, AlgorithmMessage } from '../engine/algorithm.js';
import { secondPath, SPLIT } from '../engine/pipeline-host.js';
import { BaseAlgorithm } from './base-algorithm.js';
import type { RouteRequestInfo } from './cube-routing.js';
import { jsonMessages } from './json-messages.js';

/**
 * The services a host may be assigned (the observer's control `(a, b)`: service a, offered
 * when b = 1, withdrawn when b = 0): built-in SPAs by name, each able to run any of its
 * configurations.
 */
export const SERVICES = ['thin', 'pixels', 'sensor'] as const;

/** sFlow's messages travel as type 8 (Algorithm) payloads: JSON, version 1 (docs/protocol.md). */
export const FLOW_MESSAGE_VERSION = 1;
/** The longest service requirement federated (a subscription's pipeline). */
const MAX_STAGES = 8;

const version = z.literal(FLOW_MESSAGE_VERSION);
const subscriptionId = z.string().min(1).max(64);
const hostId = z.string().min(1).max(64);
const stages = z.array(spaSpecSchema).max(MAX_STAGES);
const flowMessageSchema = z.discriminatedUnion('t', [
  /** sAware: the services a host offers, to its known hosts, each refresh and when they change. */
  z.strictObject({ v: version, t: z.literal('aware'), services: z.array(z.enum(SERVICES)).max(SERVICES.length), bandwidthKbps: z.number().positive().max(1e7).nullable(), load: z.number().int().min(0).max(1e6) }),
  /** sFederate: run the first of `rest` on the stream as `done` made it, and federate what follows. */
  z.strictObject({ v: version, t: z.literal('federate'), sub: subscriptionId, sink: hostId, maxLatencyMs: z.number().int().min(1).max(600_000), done: stages, rest: stages, chain: z.array(hostId).max(MAX_STAGES + 1) }),
  /** To the subscriber: the stream arrives as this pipeline's variant. */
  z.strictObject({ v: version, t: z.literal('sink'), sub: subscriptionId, pipeline: stages }),
  /** Down the service chain: the subscription ended. */
  z.strictObject({ v: version, t: z.literal('prune'), sub: subscriptionId }),
]);
export const flowMessages = jsonMessages(flowMessageSchema, FLOW_MESSAGE_VERSION);
export type FlowMessage = ReturnType<typeof flowMessages.decode>;

/** What one host does for one subscription: where its part of the chain sends the stream on. */
interface FlowHop {
  readonly channel: number;
  readonly sink: string;
  readonly maxLatencyMs: number;
  /** The stages run before the stream leaves here (what the next host gets is their variant). */
  readonly done: readonly SpaSpec[];
  /** The stages still to run past here. */
  readonly rest: readonly SpaSpec[];
  /** Where it goes: a service host, or the sink; undefined at the sink itself. */
  next: string | undefined;
  /** The stages this host itself runs in the chain (its share of the load). */
  readonly serves: number;
  /** The hosts the stream passed before this one: none is chosen again (the chain stays acyclic). */
  readonly chain: readonly string[];
}

interface Offer {
  readonly services: ReadonlySet<string>;
  readonly bandwidthKbps: number | null;
  readonly load: number;
  readonly expiresAt: number;
}

/**
 * iOverlay's service federation case study, sFlow (seed 004, 3.3), as an overlay algorithm.
 * The observer assigns services to hosts (sAssign: control `(a, b)`); each host tells its
 * known hosts what it offers (sAware), with its bandwidth and load. A subscription's pipeline
 * is the service requirement: at the publisher (its route request, sFederate's start) and
 * then at each service host chosen, the host picks for the next stage the most bandwidth
 * efficient host offering it (its bandwidth over its load plus one; itself included), lays a
 * branch to it for the stream as the stages so far made it, and hands it the rest. A service
 * host runs its stages on what arrives (the engine's `stage` pipelines: a pipeline placed
 * across hosts) and sends the output on; the last sends it to the subscriber. A requirement
 * whose next service no linked host offers is finished where it is (the subscriber still gets
 * what it asked for), and reported.
 *
 * A requirement that starts with `split` is a graph of its own: the stream parts at the
 * publisher into two paths (split deals its chunks between them), each path federated on its
 * own (the second as the subscription `<id>/2`), so each has its own service hosts running the
 * stages past the split on that path's chunks, and the two meet again at the subscriber, whose
 * engine merges them. Choosing by load, counting the federations just handed out, puts the two
 * paths on different hosts where those are as good.
 *
 * Subscriptions sharing a prefix of their requirement share its service hosts where the
 * choices agree, so the services form a directed acyclic graph per channel. Hosts must be
 * linked to the hosts they send to: the case study wants every host linked to every other.
 */
export class ServiceFlow extends BaseAlgorithm {
  readonly name = 'sflow';
  private readonly offered = new Set<string>();
  private readonly offers = new Map<string, Offer>();
  /** Subscription -> this host's hop in its chain. */
  private readonly hops = new Map<string, FlowHop>();
  /** At the publisher: the requests federated, by subscription. */
  private readonly requests = new Map<string, RouteRequestInfo>();
  /** The subscriptions ending here, by channel: the variant each gets. */
  private readonly sinks = new Map<string, { channel: number; variant: number }>();
  /** Stages handed to each host since its last sAware: the load it has and has not told yet. */
  private readonly handedOut = new Map<string, number>();

  constructor(protected override readonly refreshMs: number) {
    super(undefined, refreshMs);
  }

  /** The services this host offers, and the chains it is part of (diagnostics, tests). */
  get state(): { offered: string[]; hops: { sub: string; next: string | undefined; serves: number; done: string[] }[] } {
    return { offered: [...this.offered], hops: [...this.hops].map(([sub, hop]) => ({ sub, next: hop.next, serves: hop.serves, done: hop.done.map((s) => s.spa) })) };
  }

  protected handle(message: AlgorithmMessage): void {
    switch (message.type) {
      case 'control':
        return this.assign(message.a, message.b);
      case 'route:request':
        return this.requested(message.route);
      case 'route:cancel': {
        const route = this.requests.get(message.subscriptionId);
        this.requests.delete(message.subscriptionId);
        if (route) for (const sub of subscriptionsOf(route)) this.prune(sub);
        return;
      }
      case 'protocol':
        if (message.header.type === MessageType.Algorithm) this.received(message.from, message.header, message.payload);
        return;
      case 'link:down':
        this.offers.delete(message.hostId);
        this.handedOut.delete(message.hostId);
        for (const [sub, hop] of this.hops) {
          if (hop.next !== message.hostId) continue;
          const arrived = hop.done.length - hop.serves;
          this.federate(sub, hop.channel, hop.sink, hop.maxLatencyMs, hop.done.slice(0, arrived), [...hop.done.slice(arrived), ...hop.rest], hop.chain);
        }
        return;
      default:
        return;
    }
  }

  /** sAssign: the observer's `(a, b)` offers service a (1-based in SERVICES) when b = 1, withdraws it when b = 0. */
  private assign(a: number, b: number): void {
    const service = SERVICES[a - 1];
    if (!service || (b !== 0 && b !== 1)) return;
    if (b === 1) this.offered.add(service);
    else this.offered.delete(service);
    this.announce();
  }

  private requested(route: RouteRequestInfo): void {
    const sink = this.context.topology.owns(route.target) ? this.context.topology.hostId : this.context.topology.ownerOf(route.target);
    if (!sink) {
      this.context.reportError(new Error(`sflow needs the subscriber of ${route.subscriptionId} linked to the publisher`));
      return;
    }
    if (route.pipeline.slice(1).some((stage) => stage.spa === SPLIT)) {
      this.context.reportError(new Error(`sflow: ${route.subscriptionId} splits the stream past its first stage; a split comes first, where the stream leaves the publisher`));
      return;
    }
    this.requests.set(route.subscriptionId, route);
    const maxLatencyMs = Math.min(600_000, Math.max(1, Math.round(route.maxLatencyMs)));
    const [first, second] = subscriptionsOf(route);
    this.federate(first!, route.channel, sink, maxLatencyMs, [], route.pipeline, []);
    // The second path's records come from the same split, counted once in this host's load.
    if (second) this.federate(second, route.channel, sink, maxLatencyMs, secondPath(route.pipeline).slice(0, 1), route.pipeline.slice(1), []);
  }

  /**
   * sFederate at this host: the stream arrives as `done` made it; this host runs the stages it
   * is the best host for, then hands the stream and the rest to the best host for the next
   * stage, or to the sink when none is left.
   */
  private federate(sub: string, channel: number, sink: string, maxLatencyMs: number, arriving: readonly SpaSpec[], rest: readonly SpaSpec[], chain: readonly string[]): void {
    const self = this.context.topology.hostId!;
    const passed = new Set(chain);
    let done = [...arriving];
    let remaining = [...rest];
    let next: string | undefined;
    while (remaining.length > 0) {
      // The stages taken here so far count in this host's load.
      // Each host passed on to runs a stage: a chain as long as the message allows ends here.
      const stage = remaining[0]!.spa;
      // The stream parts where it starts: the split runs here. A host handed the stream for a
      // stage it offers runs that stage: the host before chose it as the best, and choosing
      // again here, on loads no newer, would only add a hop.
      const here = (stage === SPLIT && done.length === 0) || (chain.length > 0 && done.length === arriving.length && this.offered.has(stage));
      const best = here || chain.length >= MAX_STAGES ? self : this.bestFor(stage, done.length - arriving.length, passed);
      if (best === undefined) {
        this.context.reportError(new Error(`sflow: no host linked to ${self} offers ${stage}; ${self} runs ${remaining.map((s) => s.spa).join(' > ')} itself`));
        done = [...done, ...remaining];
        remaining = [];
      } else if (best === self) {
        done = [...done, remaining.shift()!];
      } else {
        next = best;
        break;
      }
    }
    if (remaining.length === 0 && sink !== self) next = sink;
    // Both ends of this host's stages, known to the engine: it runs what lies between.
    for (const pipeline of [arriving, done]) if (this.context.variantOf(pipeline) === undefined) return this.context.refused();
    this.hops.set(sub, { channel, sink, maxLatencyMs, done, rest: remaining, next, serves: done.length - arriving.length, chain });
    this.layBranch(sub);
    // Others choose by load: this host's goes out before the request that changes theirs.
    this.announce();
    if (next === undefined) {
      this.sunk(channel, sub, done);
    } else if (next === sink && remaining.length === 0) {
      this.sendTo(next, channel, { t: 'sink', sub, pipeline: done });
    } else {
      this.handedOut.set(next, (this.handedOut.get(next) ?? 0) + 1);
      this.sendTo(next, channel, { t: 'federate', sub, sink, maxLatencyMs, done, rest: remaining, chain: [...chain, self] });
    }
  }

  /**
   * The host offering `service` whose bandwidth over its load plus one is largest (this host
   * counted, with its own figures; on a tie, this host, then the nearer), among the linked.
   */
  private bestFor(service: string, takenHere: number, passed: ReadonlySet<string>): string | undefined {
    const self = this.context.topology.hostId!;
    const now = this.context.now();
    const share = (bandwidthKbps: number | null, load: number) => (bandwidthKbps ?? 1e6) / (load + 1);
    let best: string | undefined;
    let bestShare = -1;
    let bestDelay = Infinity;
    if (this.offered.has(service)) [best, bestShare, bestDelay] = [self, share(this.context.bandwidthKbps() ?? null, this.load + takenHere), 0];
    for (const [hostId, offer] of this.offers) {
      if (offer.expiresAt < now || !offer.services.has(service) || !this.knownHosts.has(hostId) || passed.has(hostId)) continue;
      const candidate = share(offer.bandwidthKbps, offer.load + (this.handedOut.get(hostId) ?? 0));
      const delay = this.context.link(hostId)?.oneWayMs ?? Infinity;
      if (candidate > bestShare || (candidate === bestShare && delay < bestDelay)) [best, bestShare, bestDelay] = [hostId, candidate, delay];
    }
    return best;
  }

  /** How many stages this host runs in the chains it is part of. */
  private get load(): number {
    let stagesRun = 0;
    for (const hop of this.hops.values()) stagesRun += hop.serves;
    return stagesRun;
  }

  private received(from: string, header: MessageHeader, payload: Uint8Array): void {
    const message = flowMessages.read(payload, () => this.context.refused());
    // The stream comes from the host that handed it on: key frame requests go back that way.
    if (message?.t === 'federate' || message?.t === 'sink') this.context.setUpstream(header.channel, from);
    switch (message?.t) {
      case 'aware':
        this.offers.set(from, { services: new Set(message.services), bandwidthKbps: message.bandwidthKbps, load: message.load, expiresAt: this.context.now() + 3 * this.refreshMs });
        this.handedOut.delete(from);
        return;
      case 'federate':
        // Only a service this host offers is run here; a stale request goes on as it can.
        return this.federate(message.sub, header.channel, message.sink, message.maxLatencyMs, message.done, message.rest, message.chain);
      case 'sink':
        return this.sunk(header.channel, message.sub, message.pipeline);
      case 'prune':
        return this.prune(message.sub);
    }
  }

  /** The subscription ends here: its stream arrives as `pipeline`'s variant. */
  private sunk(channel: number, sub: string, pipeline: readonly SpaSpec[]): void {
    const variant = this.context.variantOf(pipeline);
    if (variant === undefined) return this.context.refused();
    this.sinks.set(sub, { channel, variant });
    this.layLocal(sub);
    this.context.established(channel, sub, 0, 0);
  }

  private prune(sub: string): void {
    const hop = this.hops.get(sub);
    const sink = this.sinks.get(sub);
    if (sink) this.context.setLocal(sink.channel, sub, undefined);
    this.sinks.delete(sub);
    if (!hop) return;
    this.hops.delete(sub);
    this.context.setBranch(hop.channel, sub, undefined);
    if (hop.next !== undefined) this.sendTo(hop.next, hop.channel, { t: 'prune', sub });
    this.announce();
  }

  protected override refresh(): void {
    for (const sub of this.hops.keys()) this.layBranch(sub);
    for (const sub of this.sinks.keys()) this.layLocal(sub);
    const now = this.context.now();
    for (const [hostId, offer] of this.offers) if (offer.expiresAt < now) this.offers.delete(hostId);
    this.announce();
  }

  /** The branch of a subscription's chain from here: the next host gets the stream as this host's stages made it. */
  private layBranch(sub: string): void {
    const hop = this.hops.get(sub);
    const variant = hop && this.context.variantOf(hop.done);
    if (!hop || hop.next === undefined || variant === undefined) return;
    this.context.setBranch(hop.channel, sub, { nextHost: hop.next, variant, maxLatencyMs: hop.maxLatencyMs });
  }

  private layLocal(sub: string): void {
    const sink = this.sinks.get(sub);
    if (sink) this.context.setLocal(sink.channel, sub, { variant: sink.variant });
  }

  /** sAware: what this host offers, its bandwidth and its load, to its known hosts. */
  private announce(): void {
    const payload = flowMessages.encode({ t: 'aware', services: SERVICES.filter((s) => this.offered.has(s)), bandwidthKbps: this.context.bandwidthKbps() ?? null, load: this.load });
    for (const hostId of this.knownHosts) this.sendOwn(hostId, NO_CHANNEL, payload);
  }

  private sendTo(hostId: string, channel: number, message: FlowMessage): void {
    this.sendOwn(hostId, channel, flowMessages.encode(message));
  }
}

/** A request's subscriptions: its own, and a split requirement's second path. */
const subscriptionsOf = (route: RouteRequestInfo): string[] => (route.pipeline[0]?.spa === SPLIT ? [route.subscriptionId, `${route.subscriptionId}/2`] : [route.subscriptionId]);

export const serviceFlow: AlgorithmFactory = ({ refreshMs }) => new ServiceFlow(refreshMs);
