import { ClosedError, TypedEmitter, type ChannelInfo, type ChannelPublish } from '@cubecast/protocol';

export interface PublicationStats {
  readonly framesEncoded: number;
  readonly bytesSent: number;
}

export interface PublicationEvents extends Record<string, unknown> {
  /** A subscriber (or a relay on its behalf) lost its reference frame: encode a key frame next. */
  'keyframe:requested': undefined;
  /** Once a second while the channel is live. */
  'stats:updated': PublicationStats;
  /** The server removed the channel: nothing sent from now on reaches anyone. `closed` follows. */
  'publication:ended': { reason: string };
  /** The last event: from now on `sendChunk` fails with ClosedError. */
  'publication:closed': undefined;
}

/** What a publication needs of its peer (injected, so it is tested without one). */
export interface PublicationHost {
  sendChunk(channel: ChannelInfo, flags: number, payload: ArrayBuffer): void;
  unpublish(publication: LocalPublication): Promise<void>;
}

/**
 * A channel this tab publishes. A source (the webcam publisher, the sensor) writes chunks into
 * it and listens for key frame requests; the peer keeps it across reconnections, publishing it
 * again under the channel id the server gives.
 */
export class LocalPublication extends TypedEmitter<PublicationEvents> {
  private info: ChannelInfo | null;
  private frames = 0;
  private bytes = 0;
  private closedFlag = false;

  constructor(
    readonly request: ChannelPublish,
    channel: ChannelInfo,
    private readonly host: PublicationHost,
  ) {
    super();
    this.info = channel;
  }

  get name(): string {
    return this.request.name;
  }

  /** The channel as the server knows it; null while the session is lost. */
  get channel(): ChannelInfo | null {
    return this.info;
  }

  get stats(): PublicationStats {
    return { framesEncoded: this.frames, bytesSent: this.bytes };
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** An encoded chunk into the channel. `payload` is transferred: do not use it again. */
  sendChunk(flags: number, payload: ArrayBuffer): void {
    if (this.closedFlag) throw new ClosedError(`the publication of ${this.name}`);
    // While the session is lost nothing can be sent; live media drops rather than queues.
    if (!this.info) return;
    this.frames++;
    this.bytes += payload.byteLength;
    this.host.sendChunk(this.info, flags, payload);
  }

  /** Stops publishing: the channel is removed for every subscriber. */
  async close(): Promise<void> {
    if (!this.finish()) return;
    await this.host.unpublish(this);
  }

  // ---- called by the peer --------------------------------------------------------------------

  /** The channel under its current id (after a join), or null when the session was lost. */
  setChannel(channel: ChannelInfo | null): void {
    this.info = channel;
  }

  keyframeRequested(): void {
    if (!this.closedFlag) this.emit('keyframe:requested', undefined);
  }

  reportStats(): void {
    if (!this.closedFlag && this.info) this.emit('stats:updated', this.stats);
  }

  /** The server ended the channel (or the peer closed): no request to make. */
  end(reason: string): void {
    if (this.closedFlag) return;
    this.emit('publication:ended', { reason });
    this.finish();
  }

  private finish(): boolean {
    if (this.closedFlag) return false;
    this.closedFlag = true;
    this.emit('publication:closed', undefined);
    this.removeAllListeners();
    return true;
  }
}
