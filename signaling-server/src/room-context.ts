import type { Move } from '@cubecast/overlay';
import type { ObserverEvent } from '@cubecast/protocol';
import type { ControllerConfig, Outbox } from './overlay-controller.js';
import type { CubeRecord, HostBytes, HostRecord, Store, SubscriptionRecord } from './store.js';

/**
 * What a room's services (Measurements, Qos) share with the controller that holds them: the
 * room's store and outbox, and the controller's few operations they build on.
 */
export interface RoomContext {
  readonly store: Store;
  readonly outbox: Outbox;
  readonly config: ControllerConfig;
  /** The connected host, or UnknownHostError. */
  host(hostId: string): HostRecord;
  /** The host's subscription, or UnknownSubscriptionError. */
  subscription(hostId: string, subscriptionId: string): SubscriptionRecord;
  /** Sets what one part of a host's state costs; refuses past the host's byte limit. */
  charge(host: HostRecord, part: keyof HostBytes, bytes: number): void;
  /** The cube, or InvalidRequestError before any host joined. */
  requireCube(): CubeRecord;
  /** After ids moved: tells the hosts concerned and re-targets routes. */
  applyMoves(moves: readonly Move[]): void;
  logEvent(type: ObserverEvent['type'], message: string, hostId?: string, details?: Record<string, unknown>): void;
}
