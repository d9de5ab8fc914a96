import { Flags, MAX_CODED_PLAIN_BYTES, PUBLISHED_VARIANT } from '@cubecast/protocol';
import { encodeSpaConfig, spawnBrowserStage, SpaPipeline } from '@cubecast/spa';
import type { DeliveredChunk } from '../engine/types.js';
import type { SpaModuleSource, SpaResources } from './browser-pipelines.js';

const TAG = 8;

/** iOverlay's network-coding case study, in one host's engine worker. */
export type CodingRole =
  /** A relay: receives channels A and B, publishes c1·A + c2·B as `output`. */
  | { readonly role: 'encode'; readonly inputs: readonly [number, number]; readonly output: number }
  /** A receiver: has one plain channel and the coded one, recovers the other. */
  | { readonly role: 'decode'; readonly plain: number; readonly plainIs: 0 | 1; readonly coded: number; readonly recovered: number };

export interface CodingOutputs {
  /** A coded chunk to publish (encode). */
  publish(channel: number, flags: number, payload: Uint8Array): void;
  /** A recovered chunk, delivered here as if it had arrived on its channel (decode). */
  deliver(chunk: DeliveredChunk): void;
  failed(message: string): void;
}

/**
 * Feeds a host's received chunks of the session's channels to the coding SPA (in its own
 * stage worker, tagged with input and sequence number) and passes its outputs on.
 */
export class CodingSession {
  private latest = { latencyUs: 0, hops: 0 };

  private constructor(
    readonly role: CodingRole,
    private readonly spa: SpaPipeline,
    private readonly outputs: CodingOutputs,
  ) {
    spa.on('chunk:output', (record) => this.onOutput(record));
    spa.on('pipeline:died', ({ message }) => outputs.failed(message));
  }

  static async start(role: CodingRole, resources: SpaResources, modules: SpaModuleSource, outputs: CodingOutputs, seed = 1): Promise<CodingSession> {
    const module = await modules('coding');
    const config = role.role === 'encode' ? { mode: 'encode', seed } : { mode: 'decode', plain: role.plainIs === 0 ? 'a' : 'b' };
    const spa = await SpaPipeline.create({
      stages: [{ name: 'coding', module, config: encodeSpaConfig('coding', config) }],
      spawn: () => spawnBrowserStage(resources.stageWorkerUrl),
      maxChunkBytes: MAX_CODED_PLAIN_BYTES + 32,
      tagged: true,
    });
    return new CodingSession(role, spa, outputs);
  }

  /** The channels whose chunks this session needs. */
  get channels(): number[] {
    return this.role.role === 'encode' ? [...this.role.inputs] : [this.role.plain, this.role.coded];
  }

  offer(chunk: DeliveredChunk): void {
    if (chunk.variant !== PUBLISHED_VARIANT || this.spa.closed) return;
    const input = this.role.role === 'encode' ? this.role.inputs.indexOf(chunk.channel) : chunk.channel === this.role.plain ? 0 : chunk.channel === this.role.coded ? 1 : -1;
    if (input < 0 || chunk.payload.byteLength > MAX_CODED_PLAIN_BYTES + 32) return;
    // What a recovered chunk reports: the later of the two paths it needed.
    this.latest = { latencyUs: Math.max(this.latest.latencyUs, chunk.latencyUs), hops: Math.max(this.latest.hops, chunk.hops) };
    this.spa.push(chunk.payload, input, chunk.sequence);
  }

  close(): void {
    void this.spa.close();
  }

  private onOutput(record: Uint8Array): void {
    if (this.role.role === 'encode') {
      // Each coded chunk stands alone: never droppable.
      this.outputs.publish(this.role.output, Flags.Key, record.slice());
      return;
    }
    if (record.byteLength < TAG) return;
    const sequence = new DataView(record.buffer, record.byteOffset + 4, 4).getUint32(0);
    this.outputs.deliver({
      channel: this.role.recovered,
      variant: PUBLISHED_VARIANT,
      sequence,
      flags: Flags.Key,
      payload: record.slice(TAG),
      latencyUs: this.latest.latencyUs,
      hops: this.latest.hops,
    });
    this.latest = { latencyUs: 0, hops: 0 };
  }
}
