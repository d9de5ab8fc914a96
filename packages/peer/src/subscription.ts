import { ClosedError, pipelineVariant, TypedEmitter, type SpaFailure, type SpaSpec, type SubscriptionInfo } from '@cubecast/protocol';
import type { DeliveredChunk } from './engine/types.js';

export interface SubscriptionStats {
  /** Chunks that arrived (complete, in the variant asked for). */
  readonly chunksReceived: number;
  /** Frames a player or view decoded and showed. */
  readonly framesDecoded: number;
  /** The latest chunk's latency, accumulated hop by hop in the data-plane header. */
  readonly latencyMs: number | null;
  readonly hops: number | null;
  /** Now minus capture time: meaningful only where publisher and subscriber share a clock. */
  readonly trueLatencyMs: number | null;
}

export interface SubscriptionEvents extends Record<string, unknown> {
  /** A complete chunk of the channel, as the pipeline made it. The payload is the listener's to read, not to keep beyond the call. */
  'chunk:received': DeliveredChunk;
  /** Once a second while chunks arrive: what the server's QoS loop is told. */
  'stats:updated': SubscriptionStats;
  /** The pipeline died at its branch point: nothing more arrives on this subscription. */
  'spa:failed': SpaFailure;
  /**
   * Set up again on the server after a lost session (a server restart, a new host id): what
   * arrives from now on is a new stream, numbered afresh.
   */
  'subscription:resumed': SubscriptionInfo;
  /** The server ended it (the channel went away, or it could not be restored). `closed` follows. */
  'subscription:ended': { reason: string };
  /** The last event: from now on calls fail with ClosedError. */
  'subscription:closed': undefined;
}

/** What a subscription needs of its peer (injected, so it is tested without one). */
export interface SubscriptionHost {
  requestKeyframe(channel: string): void;
  unsubscribe(subscription: Subscription): Promise<void>;
}

export interface SubscriptionRequest {
  readonly channel: string;
  readonly maxLatencyMs: number;
  readonly pipeline: readonly SpaSpec[];
  /** Set when the channel is not received but recovered here, from this coded channel. */
  readonly recoveredFrom?: string;
  /** The variant that arrives, when it is not the pipeline's (recovered chunks come as published). */
  readonly variant?: number;
}

/**
 * A channel this tab receives, with its latency bound and pipeline. It measures what arrives
 * (latency, hops) by itself, so the server's QoS loop hears from it whether or not anything
 * shows the stream; a player attached to it adds what it decoded.
 */
export class Subscription extends TypedEmitter<SubscriptionEvents> {
  readonly channel: string;
  readonly maxLatencyMs: number;
  readonly pipeline: readonly SpaSpec[];
  readonly recoveredFrom: string | null;
  /** The pipeline variant whose chunks are this subscription's. */
  readonly variant: number;
  private serverInfo: SubscriptionInfo | null = null;
  private failure: string | null = null;
  private chunks = 0;
  private frames = 0;
  private latencyMs: number | null = null;
  private hops: number | null = null;
  private trueLatencyMs: number | null = null;
  private closedFlag = false;

  constructor(
    request: SubscriptionRequest,
    private readonly host: SubscriptionHost,
  ) {
    super();
    this.channel = request.channel;
    this.maxLatencyMs = request.maxLatencyMs;
    this.pipeline = request.pipeline;
    this.recoveredFrom = request.recoveredFrom ?? null;
    this.variant = request.variant ?? pipelineVariant(request.pipeline);
  }

  /** The server's record; null while the session is lost (the peer restores it). */
  get info(): SubscriptionInfo | null {
    return this.serverInfo;
  }

  /** Why the pipeline stopped at its branch point, if it did. */
  get spaError(): string | null {
    return this.failure;
  }

  get stats(): SubscriptionStats {
    return { chunksReceived: this.chunks, framesDecoded: this.frames, latencyMs: this.latencyMs, hops: this.hops, trueLatencyMs: this.trueLatencyMs };
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Asks upstream for a key frame (a player that starts, or lost a frame others depend on). */
  requestKeyframe(): void {
    this.assertOpen();
    this.host.requestKeyframe(this.channel);
  }

  /** A player or view showed a frame: counted, with the latency it measured at capture. */
  noteDecoded(frame: { trueLatencyMs?: number }): void {
    this.assertOpen();
    this.frames++;
    this.trueLatencyMs = frame.trueLatencyMs ?? null;
  }

  /** Stops receiving: the route is torn down unless others downstream use it. */
  async close(): Promise<void> {
    if (!this.finish()) return;
    await this.host.unsubscribe(this);
  }

  // ---- called by the peer --------------------------------------------------------------------

  setInfo(info: SubscriptionInfo | null): void {
    this.serverInfo = info;
  }

  resume(info: SubscriptionInfo): void {
    this.serverInfo = info;
    if (!this.closedFlag) this.emit('subscription:resumed', info);
  }

  deliver(chunk: DeliveredChunk): void {
    if (this.closedFlag) return;
    this.chunks++;
    this.latencyMs = chunk.latencyUs / 1000;
    this.hops = chunk.hops;
    this.emit('chunk:received', chunk);
  }

  /** The QoS report the server takes, or null before anything arrived. */
  report(): { subscriptionId: string; latencyMs: number; hops: number; framesDecoded: number } | null {
    if (this.closedFlag || !this.serverInfo || this.latencyMs === null) return null;
    this.emit('stats:updated', this.stats);
    return { subscriptionId: this.serverInfo.subscriptionId, latencyMs: this.latencyMs, hops: this.hops ?? 0, framesDecoded: this.frames };
  }

  spaFailed(failure: SpaFailure): void {
    if (this.closedFlag) return;
    this.failure = `${failure.pipeline.join(' > ')} stopped on ${failure.host}: ${failure.message}`;
    this.emit('spa:failed', failure);
  }

  end(reason: string): void {
    if (this.closedFlag) return;
    this.emit('subscription:ended', { reason });
    this.finish();
  }

  private finish(): boolean {
    if (this.closedFlag) return false;
    this.closedFlag = true;
    this.emit('subscription:closed', undefined);
    this.removeAllListeners();
    return true;
  }

  private assertOpen(): void {
    if (this.closedFlag) throw new ClosedError(`the subscription to ${this.channel}`);
  }
}
