import { encodeSensorPayload, Flags, type SensorReading } from '@cubecast/protocol';
import type { CubecastPeer } from '../peer-client.js';

export interface SensorPublishOptions {
  /** Readings per second. */
  readonly rateHz: number;
  /** Readings per chunk: a chunk leaves every batch / rateHz seconds. */
  readonly batch: number;
}

export const DEFAULT_SENSOR: SensorPublishOptions = { rateHz: 20, batch: 5 };

/**
 * A synthetic sensor: a slow sine around 50 with noise and an occasional spike, so a moving
 * average and a threshold each visibly do something. Stands in for a real device's readings.
 */
export class SensorPublisher {
  private timer: ReturnType<typeof setInterval> | undefined;
  private started = performance.now();
  readingsSent = 0;

  private constructor(
    private readonly peer: CubecastPeer,
    readonly channel: string,
    private readonly options: SensorPublishOptions,
  ) {}

  static async start(peer: CubecastPeer, channel: string, options: SensorPublishOptions = DEFAULT_SENSOR): Promise<SensorPublisher> {
    await peer.publish({ name: channel, kind: 'sensor', codec: { codec: 'f32', rateHz: options.rateHz, fields: ['value'], unit: 'units' } });
    const publisher = new SensorPublisher(peer, channel, options);
    publisher.timer = setInterval(() => publisher.emit(), (1000 * options.batch) / options.rateHz);
    return publisher;
  }

  /** The reading at `elapsedMs` since start. */
  static value(elapsedMs: number): number {
    const seconds = elapsedMs / 1000;
    const spike = seconds % 7 < 0.25 ? 40 : 0;
    return 50 + 20 * Math.sin((2 * Math.PI * seconds) / 10) + (Math.random() - 0.5) * 10 + spike;
  }

  private emit(): void {
    const now = Date.now();
    const step = 1000 / this.options.rateHz;
    const readings: SensorReading[] = Array.from({ length: this.options.batch }, (_, i) => {
      const timeMs = now - (this.options.batch - 1 - i) * step;
      return { timeMs, value: SensorPublisher.value(performance.now() - this.started - (this.options.batch - 1 - i) * step) };
    });
    // Every sensor chunk stands alone: nothing depends on it, and nothing may drop it as droppable.
    this.peer.sendChunk(this.channel, Flags.Key, encodeSensorPayload(readings).buffer as ArrayBuffer);
    this.readingsSent += readings.length;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.peer.unpublish(this.channel);
  }
}
