import { Cube } from '@cubecast/overlay';
import {
  applyCubeDelta,
  ClosedError,
  UnavailableError,
  PROTOCOL_VERSION,
  request,
  TypedEmitter,
  type AckResult,
  type AlgorithmName,
  type ChannelEndReason,
  type ChannelInfo,
  type ClientToServerEvents,
  type CubeState,
  type Emulation,
  type IceConfiguration,
  type RouteRequest,
  type ServerToClientEvents,
  type SignalData,
  type SpaFailure,
  type SubscriptionInfo,
} from '@cubecast/protocol';
import { io, type Socket } from 'socket.io-client';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

export interface SessionEvents extends Record<string, unknown> {
  'connection:changed': ConnectionState;
  /**
   * A join (the first, or again after the socket came back) was accepted, with the channel
   * directory and the cube view. The server knows this host afresh: whatever it had set up
   * before is gone from the server's side.
   */
  'session:joined': { channels: ChannelInfo[]; state: CubeState; algorithm: AlgorithmName; resumed?: { subscriptions: SubscriptionInfo[] } };
  /** The socket dropped: the server forgets this host's channels and subscriptions with it. */
  'session:lost': undefined;
  /** A join was refused or failed; the next reconnection tries again. */
  'session:failed': { message: string };
  /** A join was refused for now (UNAVAILABLE: the room is changing server node); it is tried again shortly. */
  'session:retrying': { message: string };
  /** The cube view changed after the join: a new state, or a delta applied to the current one. */
  'cube:changed': { state: CubeState; epochChanged: boolean };
  /** A WebRTC signal of the current epoch (others are stale and dropped here). */
  /** A signal for one of a link's connections: stripe 0 is the link's own (LinkManager). */
  'signal:received': { from: string; data: SignalData; stripe: number };
  'channel:added': ChannelInfo;
  'channel:updated': ChannelInfo;
  'channel:removed': { name: string; reason?: ChannelEndReason };
  'route:requested': RouteRequest;
  'route:cancelled': { subscriptionId: string };
  'subscription:updated': SubscriptionInfo;
  'spa:failed': SpaFailure;
  'emulation:set': Emulation;
  /** An observer's two integers for the room's algorithm. */
  'algorithm:control': { a: number; b: number };
  'session:closed': undefined;
}

export interface SessionOptions {
  /** Signaling server; defaults to the page's origin. */
  readonly url?: string | undefined;
  readonly name?: string | undefined;
  /** The room to join; the server's default room when absent. */
  readonly room?: string | undefined;
  /** Read at every join: the emulation the server last set, or the page's own. */
  readonly emulation: () => Emulation | undefined;
}

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Before the first join: host candidates only, which link tabs on one network. */
const NO_ICE_SERVERS: IceConfiguration = { iceServers: [], iceTransportPolicy: 'all' };

/** How long after an UNAVAILABLE join it is tried again: a room's lease moves within seconds. */
const JOIN_RETRY_MS = 1000;

/**
 * This host's socket.io session with the signaling server: it joins on every connection, keeps
 * the cube view (a state, then deltas of the same epoch in revision order) and turns the
 * server's events into typed ones. It holds no publications or links: the peer decides what a
 * new join means for those.
 */
export class SignalingSession extends TypedEmitter<SessionEvents> {
  private readonly socket: ClientSocket;
  private current: CubeState | null = null;
  private cubeShape: Cube | null = null;
  private connection: ConnectionState = 'connecting';
  private token: string | null = null;
  private ice: IceConfiguration = NO_ICE_SERVERS;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closedFlag = false;

  constructor(private readonly options: SessionOptions) {
    super();
    this.socket = io(options.url ?? '/', { transports: ['websocket'], reconnectionDelayMax: 5000 });
    this.socket.on('connect', () => void this.join());
    this.socket.on('disconnect', () => this.onLost());
    this.socket.on('connect_error', () => this.setConnection('disconnected'));
    this.socket.on('cube:state', (state) => this.applyState(state));
    this.socket.on('cube:delta', (delta) => {
      const next = this.current && applyCubeDelta(this.current, delta);
      if (!next) return;
      this.current = next;
      this.emit('cube:changed', { state: next, epochChanged: false });
    });
    this.socket.on('signal:receive', ({ from, epoch, data, stripe = 0 }) => {
      if (this.current?.epoch === epoch) this.emit('signal:received', { from, data, stripe });
    });
    this.socket.on('channel:added', (channel) => this.emit('channel:added', channel));
    this.socket.on('channel:updated', (channel) => this.emit('channel:updated', channel));
    this.socket.on('channel:removed', (removed) => this.emit('channel:removed', removed));
    this.socket.on('route:request', (route) => this.emit('route:requested', route));
    this.socket.on('route:cancel', (cancel) => this.emit('route:cancelled', cancel));
    this.socket.on('subscription:updated', (info) => this.emit('subscription:updated', info));
    this.socket.on('spa:failed', (failure) => this.emit('spa:failed', failure));
    this.socket.on('emulation:set', (emulation) => this.emit('emulation:set', emulation));
    this.socket.on('algorithm:control', (control) => this.emit('algorithm:control', control));
    this.socket.on('ice:updated', (configuration) => (this.ice = configuration));
  }

  /** The ICE servers the server gave this host (at its latest join, or refreshed since). */
  get iceConfiguration(): IceConfiguration {
    return this.ice;
  }

  /** The current cube view, or null between a lost socket and the next join. */
  get state(): CubeState | null {
    return this.current;
  }

  /** The cube's shape, for printing ids; null before the first join. */
  get cube(): Cube | null {
    return this.cubeShape;
  }

  get connectionState(): ConnectionState {
    return this.connection;
  }

  /** Joined and connected: requests can be made. */
  get joined(): boolean {
    return this.current !== null && this.socket.connected;
  }

  /** From the latest join: proves this host's HTTP requests (uploads) to the server. */
  get sessionToken(): string | null {
    return this.token;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** A request with an ack; rejects with the error class of the server's refusal. */
  request<E extends keyof ClientToServerEvents>(event: E, payload: Parameters<ClientToServerEvents[E]>[0]): Promise<AckResult<E>> {
    if (this.closedFlag) return Promise.reject(new ClosedError('the signaling session'));
    return request(this.socket, event, payload);
  }

  /** A request whose refusal or loss changes nothing here (reports, notices): never rejects. */
  notify<E extends keyof ClientToServerEvents>(event: E, payload: Parameters<ClientToServerEvents[E]>[0]): void {
    if (!this.joined) return;
    this.request(event, payload).catch(() => undefined);
  }

  /** A WebRTC signal to `to` for one of their link's stripes, stamped with the current epoch. */
  sendSignal(to: string, data: SignalData, stripe = 0): void {
    const epoch = this.current?.epoch;
    if (epoch === undefined || !this.socket.connected) return;
    // Refused when the link went away in a re-embedding: the topology sync cleans up.
    this.request('signal:send', { to, epoch, data, ...(stripe > 0 && { stripe }) }).catch(() => undefined);
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    clearTimeout(this.retryTimer);
    this.socket.close();
    this.emit('session:closed', undefined);
    this.removeAllListeners();
  }

  private async join(): Promise<void> {
    const emulation = this.options.emulation();
    try {
      const result = await this.request('host:join', {
        protocol: PROTOCOL_VERSION,
        ...(this.options.name !== undefined && { name: this.options.name }),
        ...(emulation !== undefined && { emulation }),
        ...(this.options.room !== undefined && { room: this.options.room }),
        // After a lost connection: the server may still hold this host's session for it.
        ...(this.token !== null && { resume: this.token }),
      });
      this.token = result.sessionToken;
      this.ice = { iceServers: result.iceServers, iceTransportPolicy: result.iceTransportPolicy };
      this.emit('session:joined', { channels: result.channels, state: this.setState(result.state), algorithm: result.algorithm, ...(result.resumed && { resumed: result.resumed }) });
      this.setConnection('connected');
    } catch (error) {
      // The room is moving to another server node: it will be back within seconds.
      if (error instanceof UnavailableError && !this.closedFlag && this.socket.connected) {
        this.emit('session:retrying', { message: `joining again in ${JOIN_RETRY_MS / 1000} s: ${error.message}` });
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          if (!this.closedFlag && this.socket.connected && this.current === null) void this.join();
        }, JOIN_RETRY_MS);
        return;
      }
      this.emit('session:failed', { message: `could not join: ${(error as Error).message}` });
    }
  }

  private applyState(state: CubeState): void {
    const epochChanged = this.current !== null && state.epoch !== this.current.epoch;
    this.emit('cube:changed', { state: this.setState(state), epochChanged });
  }

  private setState(state: CubeState): CubeState {
    this.current = { ...state, ids: [...state.ids], neighbours: [...state.neighbours] };
    if (!this.cubeShape || this.cubeShape.k !== state.k || this.cubeShape.n !== state.n) this.cubeShape = new Cube(state.k, state.n);
    return this.current;
  }

  private onLost(): void {
    this.current = null;
    this.setConnection('disconnected');
    if (!this.closedFlag) this.emit('session:lost', undefined);
  }

  private setConnection(state: ConnectionState): void {
    if (this.connection === state) return;
    this.connection = state;
    this.emit('connection:changed', state);
  }
}
