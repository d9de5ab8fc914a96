import { encodeSensorPayload, Flags, type SensorReading } from '@cubecast/protocol';
import type { LocalPublication } from '../local-publication.js';
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
 * It is its publication's source: closing one closes the other.
 */
export class SensorPublisher {
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly started = performance.now();
  readingsSent = 0;

  private constructor(
    readonly publication: LocalPublication,
    private readonly options: SensorPublishOptions,
  ) {
    this.timer = setInterval(() => this.sendReadings(), (1000 * options.batch) / options.rateHz);
    publication.on('publication:closed', () => clearInterval(this.timer));
  }

  static async start(peer: CubecastPeer, channel: string, options: SensorPublishOptions = DEFAULT_SENSOR): Promise<SensorPublisher> {
    const publication = await peer.publish({ name: channel, kind: 'sensor', codec: { codec: 'f32', rateHz: options.rateHz, fields: ['value'], unit: 'units' } });
    return new SensorPublisher(publication, options);
  }

  get closed(): boolean {
    return this.publication.closed;
  }

  /** The reading at `elapsedMs` since start. */
  static value(elapsedMs: number): number {
    const seconds = elapsedMs / 1000;
    const spike = seconds % 7 < 0.25 ? 40 : 0;
    return 50 + 20 * Math.sin((2 * Math.PI * seconds) / 10) + (Math.random() - 0.5) * 10 + spike;
  }

  private sendReadings(): void {
    const now = Date.now();
    const step = 1000 / this.options.rateHz;
    const readings: SensorReading[] = Array.from({ length: this.options.batch }, (_, i) => {
      const timeMs = now - (this.options.batch - 1 - i) * step;
      return { timeMs, value: SensorPublisher.value(performance.now() - this.started - (this.options.batch - 1 - i) * step) };
    });
    // Every sensor chunk stands alone: nothing depends on it, and nothing may drop it as droppable.
    this.publication.sendChunk(Flags.Key, encodeSensorPayload(readings).buffer as ArrayBuffer);
    this.readingsSent += readings.length;
  }

  /** Stops the readings and ends the publication. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.publication.close();
  }
}
