import { TypedEmitter, type AlgorithmName, type ChannelInfo, type Emulation, type HostSpa, type RouteRequest } from '@cubecast/protocol';
import type { DeliveredChunk, LinkStats } from './engine/types.js';
import type { CubeView } from './engine/types.js';
import { commandTransfer, type EngineCommand, type EngineReport } from './engine/worker-protocol.js';
import type { SpaResources } from './spa/browser-pipelines.js';
import type { CodingRole } from './spa/coding-session.js';

/** A coding session's channels by name: encode two into one, or recover one from the other and the coded. */
export type CodingByName =
  | { readonly role: 'encode'; readonly inputs: readonly [string, string]; readonly output: string }
  | { readonly role: 'decode'; readonly plain: string; readonly plainIs: 0 | 1; readonly coded: string; readonly recovered: string };

/** The engine's periodic report, with channel names in place of the wire's numeric ids. */
export interface EngineStats {
  readonly links: readonly LinkStats[];
  /** Channels this host forwards, and to which hosts. */
  readonly relaying: readonly { channel: string; to: string[] }[];
  /** The pipelines this host runs as a branch point, as the server takes them. */
  readonly spas: readonly HostSpa[];
  /** Data-plane messages refused as malformed, and duplicates dropped. */
  readonly counters: { readonly malformed: number; readonly duplicates: number };
}

export interface EngineProxyEvents extends Record<string, unknown> {
  'chunk:delivered': { channel: ChannelInfo; chunk: DeliveredChunk };
  'keyframe:requested': { channel: ChannelInfo };
  'stats:updated': EngineStats;
  'spa:died': { channel: string; pipeline: string[]; message: string };
  /** A link went silent: no routes over it until it mends (its connection restarts ICE) or fails. */
  'link:stalled': { hostId: string; reason: string };
  'link:recovered': { hostId: string };
  'link:failed': { hostId: string; reason: string };
  'coding:failed': { id: string; message: string };
  /** The worker failed to load, or work it could not do (it goes on). */
  'engine:error': { message: string };
  'engine:closed': undefined;
}

/** The part of a Worker the proxy uses (a test brings a fake). */
export interface EngineWorker {
  postMessage(command: EngineCommand, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<EngineReport>) => void) | null;
  onerror: ((event: ErrorEvent) => void) | null;
}

const EMPTY_STATS: EngineStats = { links: [], relaying: [], spas: [], counters: { malformed: 0, duplicates: 0 } };

/**
 * The only code that talks to the engine worker. It owns the channel directory, so the wire's
 * numeric channel ids stay on this side of it: callers name channels, reports come with the
 * `ChannelInfo` they concern, each found by a map lookup rather than a scan per chunk.
 *
 * Commands are fire-and-forget and reports a stream, so this is a typed message pair rather
 * than an RPC layer such as Comlink, whose per-call promise and reply message would double
 * the messages per chunk; `commandTransfer` derives every transfer list from the command.
 */
export class EngineProxy extends TypedEmitter<EngineProxyEvents> {
  private readonly byName = new Map<string, ChannelInfo>();
  private readonly byId = new Map<number, ChannelInfo>();
  private latest: EngineStats = EMPTY_STATS;
  private closedFlag = false;

  constructor(private readonly worker: EngineWorker) {
    super();
    worker.onmessage = (event) => this.onReport(event.data);
    worker.onerror = (event) => this.emit('engine:error', { message: `engine worker failed: ${event.message}` });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** The latest periodic report. */
  get stats(): EngineStats {
    return this.latest;
  }

  // ---- the channel directory -----------------------------------------------------------------

  channel(name: string): ChannelInfo | undefined {
    return this.byName.get(name);
  }

  channels(): ChannelInfo[] {
    return [...this.byName.values()];
  }

  /** The server's whole directory (at a join): the engine carries only these channels. */
  replaceChannels(channels: readonly ChannelInfo[]): void {
    this.byName.clear();
    this.byId.clear();
    for (const channel of channels) this.index(channel);
    this.sendDirectory();
  }

  /** A channel added or updated; an update (the anchor moved) keeps the id and the engine's directory. */
  putChannel(channel: ChannelInfo): void {
    const previous = this.byName.get(channel.name);
    if (previous) this.byId.delete(previous.id);
    this.index(channel);
    if (previous?.id !== channel.id) this.sendDirectory();
  }

  removeChannel(name: string): ChannelInfo | undefined {
    const channel = this.byName.get(name);
    if (!channel) return undefined;
    this.byName.delete(name);
    this.byId.delete(channel.id);
    this.sendDirectory();
    return channel;
  }

  // ---- commands ------------------------------------------------------------------------------

  setView(view: CubeView): void {
    this.post({ type: 'view', view });
  }

  setEmulation(emulation: Emulation): void {
    this.post({ type: 'emulation', emulation });
  }

  setSpaResources(resources: SpaResources): void {
    this.post({ type: 'spa:resources', resources });
  }

  /** Hands the link's data channels (one per lane) to the worker: call in the task that created them. */
  addLink(hostId: string, channels: RTCDataChannel[]): void {
    this.post({ type: 'link:add', hostId, channels });
  }

  /** Hands another stripe's data channels for a link already added: call in the task that created them. */
  addStripe(hostId: string, channels: RTCDataChannel[]): void {
    this.post({ type: 'link:stripe', hostId, channels });
  }

  removeLink(hostId: string): void {
    this.post({ type: 'link:remove', hostId });
  }

  publish(channel: ChannelInfo): void {
    this.post({ type: 'publish', channel: channel.id, anchor: channel.anchor });
  }

  unpublish(channel: ChannelInfo): void {
    this.post({ type: 'unpublish', channel: channel.id });
  }

  /** `payload` is transferred: the caller must not use it again. */
  sendChunk(channel: ChannelInfo, flags: number, payload: ArrayBuffer): void {
    this.post({ type: 'chunk', channel: channel.id, flags, payload });
  }

  /** Takes part in a route the server computed; a channel not in the directory is ignored. */
  requestRoute(request: RouteRequest): void {
    const channel = this.byName.get(request.channel);
    if (!channel) return;
    const { subscriptionId, target, maxLatencyMs, pipeline, policy } = request;
    this.post({ type: 'route:request', route: { subscriptionId, channel: channel.id, target, maxLatencyMs, pipeline, policy } });
  }

  cancelRoute(subscriptionId: string): void {
    this.post({ type: 'route:cancel', subscriptionId });
  }

  /** An observer's two integers for the room's algorithm. */
  controlAlgorithm(a: number, b: number): void {
    this.post({ type: 'algorithm:control', a, b });
  }

  /** The overlay algorithm the room runs; the engine changes only when it differs. */
  useAlgorithm(name: AlgorithmName): void {
    this.post({ type: 'algorithm', name });
  }

  /** Delivers the channel here; false when it is not (yet) in the directory. */
  subscribe(name: string): boolean {
    const channel = this.byName.get(name);
    if (channel) this.post({ type: 'subscribe', channel: channel.id });
    return channel !== undefined;
  }

  unsubscribe(name: string): void {
    const channel = this.byName.get(name);
    if (channel) this.post({ type: 'unsubscribe', channel: channel.id });
  }

  requestKeyframe(name: string): void {
    const channel = this.byName.get(name);
    if (channel) this.post({ type: 'keyframe', channel: channel.id });
  }

  /** Starts network coding on channels named here; false when one is not in the directory. */
  startCoding(id: string, session: CodingByName): boolean {
    const ids = (session.role === 'encode' ? [...session.inputs, session.output] : [session.plain, session.coded, session.recovered]).map((name) => this.byName.get(name)?.id);
    if (ids.some((channel) => channel === undefined)) return false;
    const [a, b, c] = ids as number[];
    const role: CodingRole = session.role === 'encode' ? { role: 'encode', inputs: [a!, b!], output: c! } : { role: 'decode', plain: a!, plainIs: session.plainIs, coded: b!, recovered: c! };
    this.post({ type: 'coding:start', id, session: role });
    return true;
  }

  stopCoding(id: string): void {
    this.post({ type: 'coding:stop', id });
  }

  /** Diagnostics: raw bytes onto the link to `hostId`, bypassing every check (bad-input tests). */
  sendRaw(hostId: string, bytes: Uint8Array): void {
    this.post({ type: 'raw', hostId, bytes: bytes.slice().buffer });
  }

  /** Stops the engine (the worker closes itself); later commands are dropped. */
  close(): void {
    if (this.closedFlag) return;
    this.post({ type: 'close' });
    this.closedFlag = true;
    this.emit('engine:closed', undefined);
    this.removeAllListeners();
  }

  // ---- reports -------------------------------------------------------------------------------

  private index(channel: ChannelInfo): void {
    this.byName.set(channel.name, channel);
    this.byId.set(channel.id, channel);
  }

  private sendDirectory(): void {
    this.post({ type: 'channels', ids: [...this.byId.keys()] });
  }

  private post(command: EngineCommand): void {
    // After close the worker is gone; a late command from a timer or an ack has nowhere to go.
    if (this.closedFlag) return;
    this.worker.postMessage(command, commandTransfer(command));
  }

  private onReport(report: EngineReport): void {
    switch (report.type) {
      case 'chunk': {
        const channel = this.byId.get(report.chunk.channel);
        if (channel) this.emit('chunk:delivered', { channel, chunk: report.chunk });
        return;
      }
      case 'keyframe:request': {
        const channel = this.byId.get(report.channel);
        if (channel) this.emit('keyframe:requested', { channel });
        return;
      }
      case 'stats':
        this.latest = {
          links: report.links,
          relaying: report.forwarding.flatMap(({ channel, to }) => {
            const name = this.byId.get(channel)?.name;
            return name ? [{ channel: name, to }] : [];
          }),
          spas: report.spas.flatMap(({ channel, variant, pipeline, state, stages, error }) => {
            const name = this.byId.get(channel)?.name;
            if (!name) return [];
            const stagesNamed = stages.map((stage) => ({ name: stage.name, chunksIn: stage.chunksIn, meanMicros: stage.meanMicros, errors: stage.errors }));
            return [{ channel: name, variant, pipeline: [...pipeline], state, stages: stagesNamed, ...(error !== undefined && { error: error.slice(0, 300) }) }];
          }),
          counters: { malformed: report.malformed, duplicates: report.duplicates },
        };
        this.emit('stats:updated', this.latest);
        return;
      case 'spa:died': {
        const name = this.byId.get(report.channel)?.name;
        if (name) this.emit('spa:died', { channel: name, pipeline: report.pipeline, message: report.message });
        return;
      }
      case 'link:stalled':
      case 'link:failed':
        this.emit(report.type, { hostId: report.hostId, reason: report.reason });
        return;
      case 'link:recovered':
        this.emit('link:recovered', { hostId: report.hostId });
        return;
      case 'coding:failed':
        this.emit('coding:failed', { id: report.id, message: report.message });
        return;
      case 'engine:error':
        this.emit('engine:error', { message: `engine: ${report.message}` });
        return;
      case 'route:established':
        return;
    }
  }
}
