/// <reference path="./webcodecs.d.ts" />
import { decodeVideoPayload, MalformedMessageError, PUBLISHED_VARIANT, temporalLayer, TypedEmitter } from '@cubecast/protocol';
import type { DeliveredChunk } from '../engine/types.js';
import type { Subscription } from '../subscription.js';
import { FrameOrder } from './frame-order.js';

/**
 * How long a chunk that overtook a missing one waits for it, at most: about a retransmission
 * or two on a timely lane at 30 fps, and never more than half the subscriber's bound.
 */
const MAX_HOLD_MS = 150;

export interface PlayerStats {
  readonly framesDecoded: number;
  readonly fps: number;
  /** End-to-end latency accumulated hop by hop in the data-plane header. */
  readonly latencyMs: number;
  /** Now minus the capture time the publisher stamped: true only where clocks agree. */
  readonly trueLatencyMs: number;
  readonly hops: number;
  readonly waitingForKeyframe: boolean;
}

export interface PlayerEvents extends Record<string, unknown> {
  /** After each frame drawn. */
  'stats:updated': PlayerStats;
  /** The last event: closed, or its subscription closed. */
  'player:closed': undefined;
}

/**
 * A subscription's chunks -> VideoDecoder -> canvas. Starts at a key frame (asking upstream
 * for one). The stream as published is put back in sequence first (FrameOrder: timely lanes
 * deliver out of order); after a gap that may have lost a frame others depend on, it waits for
 * the next key frame rather than decode garbage. Each frame drawn counts as decoded on the
 * subscription; the player closes with it.
 */
export class VideoPlayer extends TypedEmitter<PlayerEvents> {
  private decoder: VideoDecoder | undefined;
  private configured: string | undefined;
  private lastSequence: number | undefined;
  private readonly order: FrameOrder<DeliveredChunk>;
  private orderTimer: ReturnType<typeof setTimeout> | undefined;
  private waiting = true;
  private framesDecoded = 0;
  private fps = 0;
  private lastFrameAt: number | undefined;
  private readonly context: CanvasRenderingContext2D;
  private readonly pending = new Map<number, { latencyMs: number; trueLatencyMs: number; hops: number }>();
  private readonly detach: (() => void)[];
  private closedFlag = false;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly subscription: Subscription,
  ) {
    super();
    this.context = canvas.getContext('2d')!;
    this.order = new FrameOrder(Math.min(MAX_HOLD_MS, subscription.maxLatencyMs / 2));
    this.detach = [
      subscription.on('chunk:received', (chunk) => this.receive(chunk)),
      // A new stream after a server restart: its numbers start again, and it starts at a key frame.
      subscription.on('subscription:resumed', () => {
        this.lastSequence = undefined;
        this.order.reset();
        this.waiting = true;
      }),
      subscription.on('subscription:closed', () => this.close()),
    ];
    this.requestKeyframe();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    clearTimeout(this.orderTimer);
    for (const off of this.detach) off();
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    this.emit('player:closed', undefined);
    this.removeAllListeners();
  }

  private requestKeyframe(): void {
    if (!this.closedFlag && !this.subscription.closed) this.subscription.requestKeyframe();
  }

  /**
   * The published stream goes through FrameOrder. A pipeline's output keeps its input's
   * numbers, so thinning leaves gaps that will never fill: it goes straight on.
   */
  private receive(chunk: DeliveredChunk): void {
    if (chunk.variant !== PUBLISHED_VARIANT) {
      this.push(chunk);
      return;
    }
    this.play(this.order.push(chunk, performance.now()));
  }

  private play(released: readonly DeliveredChunk[]): void {
    for (const chunk of released) this.push(chunk);
    clearTimeout(this.orderTimer);
    const deadline = this.order.deadline;
    this.orderTimer = deadline === undefined ? undefined : setTimeout(() => this.play(this.order.expire(performance.now())), Math.max(0, deadline - performance.now()));
  }

  private push(chunk: DeliveredChunk): void {
    if (this.closedFlag) return;
    let decoded;
    try {
      decoded = decodeVideoPayload(chunk.payload);
    } catch (error) {
      if (error instanceof MalformedMessageError) return;
      throw error;
    }
    const { header, frame } = decoded;
    const gap = this.lastSequence !== undefined && chunk.sequence !== ((this.lastSequence + 1) >>> 0);
    if (this.lastSequence !== undefined && ((chunk.sequence - this.lastSequence) | 0) <= 0) return; // old or repeated
    this.lastSequence = chunk.sequence;
    // A lost frame of layer 0 or 1 breaks what follows; a lost layer-2 frame breaks nothing,
    // so a gap before a layer-2 frame is decoded through. A pipeline's output keeps its input's
    // numbers, so thinning leaves gaps that lose nothing: there, only the decoder can tell.
    if (gap && !header.key && temporalLayer(chunk.flags) < 2 && chunk.variant === PUBLISHED_VARIANT) this.waiting = true;
    if (this.waiting && !header.key) {
      this.requestKeyframe();
      return;
    }
    if (header.key) {
      this.waiting = false;
      const codec = header.codec ?? this.configured ?? 'vp8';
      if (!this.decoder || this.decoder.state === 'closed' || this.configured !== `${codec}:${header.width}x${header.height}`) {
        this.configure(codec, header.width, header.height);
      }
    }
    const decoder = this.decoder;
    if (!decoder || decoder.state !== 'configured') return;
    this.pending.set(header.timestampUs, {
      latencyMs: chunk.latencyUs / 1000,
      trueLatencyMs: Date.now() - header.captureTimeMs,
      hops: chunk.hops,
    });
    if (this.pending.size > 64) this.pending.delete(this.pending.keys().next().value!);
    decoder.decode(new EncodedVideoChunk({ type: header.key ? 'key' : 'delta', timestamp: header.timestampUs, data: frame }));
  }

  private configure(codec: string, width: number, height: number): void {
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    this.decoder = new VideoDecoder({
      output: (frame) => this.draw(frame),
      error: () => {
        // A corrupt stream: start over from the next key frame.
        this.waiting = true;
        this.configured = undefined;
        this.requestKeyframe();
      },
    });
    this.decoder.configure({ codec, codedWidth: width, codedHeight: height, optimizeForLatency: true });
    this.configured = `${codec}:${width}x${height}`;
    this.canvas.width = width;
    this.canvas.height = height;
  }

  private draw(frame: VideoFrame): void {
    if (this.closedFlag) {
      frame.close();
      return;
    }
    const measured = this.pending.get(frame.timestamp);
    this.pending.delete(frame.timestamp);
    this.context.drawImage(frame, 0, 0, this.canvas.width, this.canvas.height);
    frame.close();
    const now = performance.now();
    if (this.lastFrameAt !== undefined) {
      const instant = 1000 / Math.max(1, now - this.lastFrameAt);
      this.fps = this.fps === 0 ? instant : this.fps * 0.9 + instant * 0.1;
    }
    this.lastFrameAt = now;
    this.framesDecoded++;
    if (measured && !this.subscription.closed) {
      this.subscription.noteDecoded({ trueLatencyMs: measured.trueLatencyMs });
      this.emit('stats:updated', { framesDecoded: this.framesDecoded, fps: this.fps, ...measured, waitingForKeyframe: this.waiting });
    }
  }
}
