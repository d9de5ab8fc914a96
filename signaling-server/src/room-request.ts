import { NotJoinedError, type CLIENT_EVENT_SCHEMAS, type ClientPayload, type OBSERVER_EVENT_SCHEMAS, type ObserverPayload } from '@cubecast/protocol';
import type { HostConnection } from './overlay-controller.js';
import type { Room } from './room.js';

export type HostEventName = keyof typeof CLIENT_EVENT_SCHEMAS;
export type ControlEventName = keyof typeof OBSERVER_EVENT_SCHEMAS;

/**
 * What a gateway hands a room's owner, after it validated and rate-limited it: a host's event
 * (with the socket it came on), an observer's control, or a gateway's own business (an
 * observer opening the feed, how many observers it has). In one process it is a call; with
 * several nodes it crosses Redis (cluster/bus-codec.ts).
 */
export type RoomRequest =
  | { readonly kind: 'host'; readonly event: HostEventName; readonly data: unknown; readonly hostId?: string; readonly from: HostConnection }
  | { readonly kind: 'control'; readonly event: ControlEventName; readonly data: unknown }
  | { readonly kind: 'observer:open' }
  /** `resync`: the node's observers have the previous owner's snapshot; send them this one's. */
  | { readonly kind: 'observer:count'; readonly node: string; readonly count: number; readonly resync?: boolean }
  | { readonly kind: 'rejected'; readonly hostId?: string; readonly count: number; readonly message: string; readonly event: string; readonly code: string };

type HostHandlers = { [E in HostEventName]: (room: Room, data: ClientPayload<E>, hostId: string, from: HostConnection) => object | void };

const joined = (hostId: string | undefined): string => {
  if (!hostId) throw new NotJoinedError('join first (host:join)');
  return hostId;
};

/** One handler per client event, its payload typed by the event's schema (what validation gives). */
const HOST_HANDLERS: HostHandlers = {
  'host:join': (room, data, _hostId, from) => room.controller.join(data, from),
  'host:leave': (room, _data, hostId, from) => room.controller.leave(hostId, 'leave', from.connection),
  'signal:send': (room, data, hostId) => room.controller.relaySignal(hostId, data),
  'channel:publish': (room, data, hostId) => ({ channel: room.controller.publish(hostId, data) }),
  'channel:unpublish': (room, data, hostId) => room.controller.unpublish(hostId, data.name),
  'channel:list': (room) => ({ channels: room.controller.channels() }),
  'subscription:create': (room, data, hostId) => ({ subscription: room.controller.subscribe(hostId, data) }),
  'subscription:delete': (room, data, hostId) => room.controller.unsubscribe(hostId, data.subscriptionId),
  'subscription:report': (room, data, hostId) => ({ boundMet: room.controller.report(hostId, data) }),
  'link:report': (room, data, hostId) => room.controller.reportLinks(hostId, data),
  'spa:report': (room, data, hostId) => room.controller.reportSpas(hostId, data),
};

type ControlHandlers = { [E in ControlEventName]: (room: Room, data: ObserverPayload<E>) => object | void };

const CONTROL_HANDLERS: ControlHandlers = {
  'control:kill': (room, data) => room.controller.kill(data.hostId),
  'control:emulation': (room, data) => room.controller.setEmulation(data.hostId, data.emulation),
  'control:policy': (room, data) => room.controller.setPolicy(data.policy),
  'control:algorithm': (room, data) => room.controller.controlAlgorithm(data),
  'control:reembed': (room, data) => room.controller.forceReembed(data),
  'control:swap-check': (room, data) => room.controller.swapCheck(data.hostId),
};

export function handleRoomRequest(room: Room, request: RoomRequest): object | void {
  switch (request.kind) {
    case 'host': {
      // The map's key and payload agree per event; TypeScript cannot follow that through a variable.
      const handler = HOST_HANDLERS[request.event] as (room: Room, data: unknown, hostId: string, from: HostConnection) => object | void;
      return handler(room, request.data, request.event === 'host:join' ? '' : joined(request.hostId), request.from);
    }
    case 'control':
      return (CONTROL_HANDLERS[request.event] as (room: Room, data: unknown) => object | void)(room, request.data);
    case 'observer:open':
      return room.openObserver();
    case 'observer:count':
      room.setObservers(request.node, request.count);
      if (request.resync) room.resendSnapshot();
      return;
    case 'rejected':
      room.controller.countRejected(request.hostId, request.count);
      room.controller.logEvent('rejected', request.message, request.hostId, { event: request.event, code: request.code, count: request.count });
      return;
  }
}
