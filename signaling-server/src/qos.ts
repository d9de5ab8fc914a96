import { planSwapBest, planSwapDepth, planSwapFig5, type SwapPlan, type SwapView } from '@cubecast/overlay';
import { hopsText, swapPlannerLabel, type ClientPayload, type SwapCheckResult } from '@cubecast/protocol';
import { oneWayLatencyMs } from './latency-view.js';
import type { RoomContext } from './room-context.js';
import type { SubscriptionRecord } from './store.js';

/**
 * A room's QoS: subscribers' latency reports against their bounds, and the swaps that move a
 * subscriber that keeps missing its bound nearer its publisher (the papers' swap rules).
 */
export class Qos {
  constructor(private readonly room: RoomContext) {}

  /**
   * A subscriber's measured latency. A bound missed `swapAfterMisses` times running, outside
   * the cooldown, makes the server try a swap that moves the subscriber nearer its publisher.
   */
  report(hostId: string, report: ClientPayload<'subscription:report'>): boolean {
    const sub = this.room.subscription(hostId, report.subscriptionId);
    sub.latencyMs = report.latencyMs;
    sub.hops = report.hops;
    if (report.framesDecoded !== undefined) sub.framesDecoded = report.framesDecoded;
    const boundMet = report.latencyMs <= sub.maxLatencyMs;
    sub.misses = boundMet ? 0 : sub.misses + 1;
    this.room.outbox.changed();
    if (sub.misses === this.room.config.swapAfterMisses) {
      this.room.logEvent('bound-missed', `${hostId} misses its ${sub.maxLatencyMs} ms bound on "${sub.channel}" (${report.latencyMs.toFixed(1)} ms)`, hostId);
    }
    const now = this.room.config.now();
    if (sub.misses >= this.room.config.swapAfterMisses && now - sub.lastSwapAttempt >= this.room.config.swapCooldownMs) {
      sub.lastSwapAttempt = now;
      this.trySwap(sub);
    }
    return boundMet;
  }

  /** A swap tried now for each of the host's subscriptions, misses or not (an observer's control). */
  check(hostId: string): SwapCheckResult {
    const checked: SwapCheckResult['checked'][number][] = [];
    for (const sub of [...this.room.store.subscriptions.values()]) {
      if (sub.subscriber !== hostId) continue;
      const plan = this.trySwap(sub);
      checked.push({
        subscriptionId: sub.subscriptionId,
        channel: sub.channel,
        ...(plan && { swap: { displaced: plan.displaced, latencyBeforeMs: plan.latencyBefore, latencyAfterMs: plan.latencyAfter } }),
      });
    }
    return { checked };
  }

  private swapView(): SwapView {
    const { cube, ownership } = this.room.requireCube();
    const busy = new Set<string>();
    for (const c of this.room.store.channels.values()) busy.add(c.publisher);
    for (const s of this.room.store.subscriptions.values()) busy.add(s.subscriber);
    return {
      cube,
      ownerOf: (id) => ownership.ownerOf(id),
      idsOf: (host) => ownership.idsOf(host),
      hostCost: (a, b) => oneWayLatencyMs(this.room.store, a, b),
      policy: this.room.store.policy,
      // Publishers and other subscribers keep their places: moving them would break routes
      // that meet their own bounds.
      isProtected: (host) => busy.has(host),
    };
  }

  private trySwap(sub: SubscriptionRecord): SwapPlan | null {
    const channel = this.room.store.channels.get(sub.channel);
    if (!channel) return null;
    const view = this.swapView();
    const request = { subscriber: sub.subscriber, publisher: channel.publisher, anchor: channel.anchor, boundMs: sub.maxLatencyMs };
    const { swapDepth, swapStrategy, swapBudget } = this.room.config;
    const plan =
      swapStrategy === 'fig5'
        ? planSwapFig5(view, request)
        : swapStrategy === 'best'
          ? planSwapBest(view, request, swapDepth, swapBudget)
          : planSwapDepth(view, request, swapDepth);
    if (!plan) return null;
    const moves = this.room.requireCube().ownership.swap(plan.give, plan.take);
    this.room.applyMoves(moves);
    sub.misses = 0;
    this.room.logEvent(
      'swap',
      `${plan.subscriber} swapped ids with ${plan.displaced}: estimated latency ${plan.latencyBefore.toFixed(1)} -> ${plan.latencyAfter.toFixed(1)} ms, a position ${hopsText(plan.depth)} from the publisher (${swapPlannerLabel({ strategy: swapStrategy, depth: swapDepth })})`,
      plan.subscriber,
      { ...plan, strategy: swapStrategy, maxDepth: swapDepth },
    );
    return plan;
  }
}
