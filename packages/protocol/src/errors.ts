import { CubeFullError, UnknownHostError } from '@cubecast/overlay';

/**
 * Every refusal the signaling server can answer with. A client turns a `{ok:false, code}` ack
 * into the error class of that code (`errorFromAck`), so callers branch on classes or `name`,
 * never on message text.
 */
export const ERROR_CODES = [
  /** The payload does not match the event's schema or exceeds a limit. */
  'BAD_PAYLOAD',
  /** Too many events per second from this socket. */
  'RATE_LIMITED',
  /** The event needs a joined host, and this socket has not joined. */
  'NOT_JOINED',
  /** `host:join` on a socket that already joined. */
  'ALREADY_JOINED',
  /** The named host is not connected. */
  'UNKNOWN_HOST',
  /** A signal to a host that is not linked to the sender in the current epoch. */
  'NOT_LINKED',
  /** The event names an epoch that is not the current one. */
  'STALE_EPOCH',
  /** No channel by that name. */
  'UNKNOWN_CHANNEL',
  /** A channel by that name exists already. */
  'CHANNEL_EXISTS',
  /** Only the channel's publisher may do this. */
  'NOT_PUBLISHER',
  /** No subscription by that id for this host. */
  'UNKNOWN_SUBSCRIPTION',
  /** Per-host limit reached (channels, subscriptions). */
  'LIMIT_EXCEEDED',
  /** The overlay cannot take another host. */
  'CUBE_FULL',
  /** An observer control without a valid admin token. */
  'FORBIDDEN',
  /** Observer controls are off: the server has no admin token configured. */
  'CONTROLS_DISABLED',
  /** A control that cannot be carried out as asked (say, a cube too small for the hosts). */
  'INVALID_REQUEST',
  /**
   * The room's owner could not be reached (it is moving to another server node, or Redis is
   * down); the request had no effect and may be sent again in a moment.
   */
  'UNAVAILABLE',
  /** The server failed; the request had no effect. */
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorAck {
  readonly ok: false;
  readonly code: ErrorCode;
  readonly message: string;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** An error that stands for a refusal: its `code` is what the server answers with. */
export type WireError = Error & { readonly code: ErrorCode };

export function isWireError(error: unknown): error is WireError {
  return error instanceof Error && isErrorCode((error as { code?: unknown }).code);
}

/** Base of the errors only a signaling request can fail with; `code` is the wire code. */
export class SignalingError extends Error {
  override readonly name: string = 'SignalingError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function errorClass(code: ErrorCode, name: string) {
  return class extends SignalingError {
    override readonly name = name;
    constructor(message: string) {
      super(code, message);
    }
  };
}

export const BadPayloadError = errorClass('BAD_PAYLOAD', 'BadPayloadError');
export const RateLimitedError = errorClass('RATE_LIMITED', 'RateLimitedError');
export const NotJoinedError = errorClass('NOT_JOINED', 'NotJoinedError');
export const AlreadyJoinedError = errorClass('ALREADY_JOINED', 'AlreadyJoinedError');
// Conditions of the cube itself: one class, the overlay's, on both sides of the wire.
export { CubeFullError, UnknownHostError };
export const NotLinkedError = errorClass('NOT_LINKED', 'NotLinkedError');
export const StaleEpochError = errorClass('STALE_EPOCH', 'StaleEpochError');
export const UnknownChannelError = errorClass('UNKNOWN_CHANNEL', 'UnknownChannelError');
export const ChannelExistsError = errorClass('CHANNEL_EXISTS', 'ChannelExistsError');
export const NotPublisherError = errorClass('NOT_PUBLISHER', 'NotPublisherError');
export const UnknownSubscriptionError = errorClass('UNKNOWN_SUBSCRIPTION', 'UnknownSubscriptionError');
export const LimitExceededError = errorClass('LIMIT_EXCEEDED', 'LimitExceededError');
export const ForbiddenError = errorClass('FORBIDDEN', 'ForbiddenError');
export const ControlsDisabledError = errorClass('CONTROLS_DISABLED', 'ControlsDisabledError');
export const InvalidRequestError = errorClass('INVALID_REQUEST', 'InvalidRequestError');
export const UnavailableError = errorClass('UNAVAILABLE', 'UnavailableError');
export const InternalError = errorClass('INTERNAL', 'InternalError');

const CLASSES: Record<ErrorCode, new (message: string) => WireError> = {
  BAD_PAYLOAD: BadPayloadError,
  RATE_LIMITED: RateLimitedError,
  NOT_JOINED: NotJoinedError,
  ALREADY_JOINED: AlreadyJoinedError,
  UNKNOWN_HOST: UnknownHostError,
  NOT_LINKED: NotLinkedError,
  STALE_EPOCH: StaleEpochError,
  UNKNOWN_CHANNEL: UnknownChannelError,
  CHANNEL_EXISTS: ChannelExistsError,
  NOT_PUBLISHER: NotPublisherError,
  UNKNOWN_SUBSCRIPTION: UnknownSubscriptionError,
  LIMIT_EXCEEDED: LimitExceededError,
  CUBE_FULL: CubeFullError,
  FORBIDDEN: ForbiddenError,
  CONTROLS_DISABLED: ControlsDisabledError,
  INVALID_REQUEST: InvalidRequestError,
  UNAVAILABLE: UnavailableError,
  INTERNAL: InternalError,
};

/** The error a refused ack stands for. */
export function errorFromAck(ack: ErrorAck): WireError {
  return new CLASSES[ack.code](ack.message);
}

/** The ack a server sends for an error it caught: the error's own code, else INTERNAL. */
export function ackFromError(error: unknown): ErrorAck {
  if (isWireError(error)) return { ok: false, code: error.code, message: error.message };
  return { ok: false, code: 'INTERNAL', message: 'internal error; the request had no effect' };
}
