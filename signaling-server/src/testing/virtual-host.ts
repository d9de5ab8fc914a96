import {
  applyCubeDelta,
  errorFromAck,
  PROTOCOL_VERSION,
  type Ack,
  type AlgorithmName,
  type JoinResult,
  request,
  type AckResult,
  type ChannelInfo,
  type ClientToServerEvents,
  type CubeDelta,
  type CubeState,
  type IceConfiguration,
  type RouteRequest,
  type ServerToClientEvents,
  type SpaFailure,
} from '@cubecast/protocol';
import { io, type Socket } from 'socket.io-client';

/** A video channel's codec as a webcam publisher states it: for hosts that publish in tests and benchmarks. */
export const TEST_VIDEO_CODEC = { codec: 'vp8', width: 640, height: 480, framerate: 30, bitrateKbps: 800, scalabilityMode: 'L1T3' } as const;

/**
 * A host without WebRTC: a real socket.io client that joins, keeps its view of the cube from
 * `cube:state` and `cube:delta` exactly as a browser peer must, and records what it is sent.
 * Used by the server tests and the load benchmark.
 */
export class VirtualHost {
  readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  hostId = '';
  /** From host:join: what authorizes this host's uploads. */
  sessionToken = '';
  /** The overlay algorithm the room runs, as the join's answer said. */
  algorithm: AlgorithmName | undefined;
  epoch = 0;
  revision = 0;
  k = 0;
  n = 0;
  ids = new Set<number>();
  neighbours = new Map<number, string>();
  readonly routeRequests: RouteRequest[] = [];
  readonly spaFailures: SpaFailure[] = [];
  readonly channels = new Map<string, ChannelInfo>();
  /** The ICE servers of the join, and each refresh after it (`ice:updated`). */
  readonly ice: IceConfiguration[] = [];
  /** Deltas dropped as stale (older epoch or revision). */
  staleDeltas = 0;
  statesReceived = 0;
  deltasReceived = 0;
  private state: CubeState | undefined;

  /** `ca`: the certificate to trust for an HTTPS server (a test's self-signed one). */
  constructor(url: string, options: { ca?: string } = {}) {
    this.socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, ...options });
    this.socket.on('cube:state', (state) => this.applyState(state));
    this.socket.on('cube:delta', (delta) => this.applyDelta(delta));
    this.socket.on('route:request', (request) => this.routeRequests.push(request));
    this.socket.on('spa:failed', (failure) => this.spaFailures.push(failure));
    this.socket.on('channel:added', (c) => this.channels.set(c.name, c));
    this.socket.on('channel:updated', (c) => this.channels.set(c.name, c));
    this.socket.on('channel:removed', (c) => this.channels.delete(c.name));
    this.socket.on('ice:updated', (configuration) => this.ice.push(configuration));
  }

  request<E extends keyof ClientToServerEvents>(event: E, payload: Parameters<ClientToServerEvents[E]>[0]): Promise<AckResult<E>> {
    return request(this.socket, event, payload);
  }

  /**
   * A request and its ack: the server writes to a socket in order, so whatever it sent this
   * host before handling the request has arrived once this resolves. Absence checks wait on
   * this, not on a sleep that a slow leak would outlast.
   */
  async roundTrip(): Promise<void> {
    await this.request('channel:list', {});
  }

  /**
   * Joins, taking the answer's state in the ack callback itself: in Node several socket.io
   * packets of one read are handled in one go, so a delta right behind the ack would reach
   * `applyDelta` before an `await`'s continuation had the state it applies to.
   */
  async join(extra: { name?: string; emulation?: { position?: [number, number] }; room?: string; resume?: string } = {}): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      // Generous: at the scale benchmarks join, a re-embedding can hold joins for seconds.
      const sender = this.socket.timeout(60_000) as unknown as { emit(event: string, payload: unknown, ack: (error: Error | null, ack: Ack) => void): void };
      sender.emit('host:join', { protocol: PROTOCOL_VERSION, ...extra }, (error, ack) => {
        if (error) return reject(error);
        if (!ack.ok) return reject(errorFromAck(ack));
        const result = ack as unknown as JoinResult;
        this.sessionToken = result.sessionToken;
        this.algorithm = result.algorithm;
        this.ice.push({ iceServers: result.iceServers, iceTransportPolicy: result.iceTransportPolicy });
        this.applyState(result.state);
        for (const channel of result.channels) this.channels.set(channel.name, channel);
        resolve();
      });
    });
    return this;
  }

  applyState(state: CubeState): void {
    this.statesReceived++;
    this.view(state);
  }

  /** The browser peer's own delta handling (protocol's applyCubeDelta), counted. */
  applyDelta(delta: CubeDelta): void {
    this.deltasReceived++;
    const next = this.state && applyCubeDelta(this.state, delta);
    if (next) this.view(next);
    else this.staleDeltas++;
  }

  private view(state: CubeState): void {
    this.state = state;
    this.hostId = state.hostId;
    this.epoch = state.epoch;
    this.revision = state.revision;
    this.k = state.k;
    this.n = state.n;
    this.ids = new Set(state.ids);
    this.neighbours = new Map(state.neighbours);
  }

  close(): void {
    this.socket.disconnect();
  }
}

/** Resolves once `check` holds, polling; rejects after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
