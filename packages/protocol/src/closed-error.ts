/**
 * A call on an object after its `close()`: peers, sessions, publications, subscriptions,
 * pipelines. One class for the one condition, so callers catch it by class or by `name`
 * whatever they closed; the message says which object it was.
 */
export class ClosedError extends Error {
  override readonly name = 'ClosedError';

  constructor(what: string) {
    super(`${what} is closed`);
  }
}
