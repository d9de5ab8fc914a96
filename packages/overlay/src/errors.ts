/**
 * One class per condition, each with a stable `name`, so callers (the server, the CLI) can
 * tell them apart without parsing messages. A condition the signaling server also answers a
 * client with carries that answer's `code`: the protocol package re-exports the class, so the
 * server throws and the client catches the same one.
 */

/** An argument is outside its domain: a bad k or n, an id not in the cube, an unknown policy. */
export class InvalidArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';
}

/** A host joined a cube that has no id left to give it (m would exceed M). */
export class CubeFullError extends Error {
  override readonly name = 'CubeFullError';
  readonly code = 'CUBE_FULL';
}

/** The operation names a host that does not own ids here. */
export class UnknownHostError extends Error {
  override readonly name = 'UnknownHostError';
  readonly code = 'UNKNOWN_HOST';
}

/** A host tried to join twice. */
export class DuplicateHostError extends Error {
  override readonly name = 'DuplicateHostError';
}
