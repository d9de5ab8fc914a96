import type { SignalData } from '@cubecast/protocol';
import { EventEmitter } from 'node:events';
import type { CreateConnection, LinkConnection } from '../link-manager.js';
import type { LinkRoute } from '../link-route.js';

/** A WebRTC connection for Node tests: records signals and teardowns; the test emits its events and sets `connected`. */
export class FakeConnection extends EventEmitter implements LinkConnection {
  connected = false;
  /** How many times it was destroyed. */
  destroyed = 0;
  /** How many times it was asked to restart ICE. */
  iceRestartsAsked = 0;
  readonly signals: SignalData[] = [];
  /** What its getStats() would say of the selected pair. */
  routeNow: LinkRoute | null = null;
  constructor(readonly initiator: boolean) {
    super();
  }
  signal(data: SignalData): void {
    this.signals.push(data);
  }
  destroy(): void {
    this.destroyed++;
  }
  route(): Promise<LinkRoute | null> {
    return Promise.resolve(this.routeNow);
  }
  /** What a CreateConnection returns for it. */
  made(): ReturnType<CreateConnection> {
    return {
      connection: this,
      channels: [],
      route: () => this.route(),
      restartIce: () => void this.iceRestartsAsked++,
      iceRestarts: () => 0,
      failure: () => this.failure(),
    };
  }
  /** Why it did not connect, as its stats would say. */
  failureNow = 'none of the 1 candidate pairs got through (all failed)';
  failure(): Promise<string> {
    return Promise.resolve(this.failureNow);
  }
}
