import { EventEmitter } from 'eventemitter3';

/** What this package may assume of the global scope, browser or Node. */
const host = globalThis as { reportError?: (error: unknown) => void; console?: { error(...args: unknown[]): void } };

/** Where an error thrown by a listener goes: the page's error reporting if there is one. */
function reportListenerError(error: unknown): void {
  if (host.reportError) host.reportError(error);
  else host.console?.error('an event listener threw:', error);
}

/**
 * Typed events, names `noun:verb`, one payload each, on eventemitter3. A listener that throws
 * costs only itself: the others still run, `emit` returns normally, and the error is reported
 * (`reportError` in a browser, which tests see as a page error; else the console). Listeners
 * are wrapped once, when added, so `emit` is eventemitter3's own: it allocates nothing per
 * event, which matters where one fires per chunk (pipeline outputs, delivered chunks).
 */
export class TypedEmitter<Events extends Record<string, unknown>> {
  private readonly emitter = new EventEmitter();

  /** Listens; the function returned stops listening. */
  on<E extends keyof Events & string>(event: E, listener: (payload: Events[E]) => void): () => void {
    const contained = (payload: Events[E]) => {
      try {
        listener(payload);
      } catch (error) {
        reportListenerError(error);
      }
    };
    this.emitter.on(event, contained);
    return () => this.emitter.off(event, contained);
  }

  /** Listens for the next one only. */
  once<E extends keyof Events & string>(event: E, listener: (payload: Events[E]) => void): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  protected emit<E extends keyof Events & string>(event: E, payload: Events[E]): void {
    this.emitter.emit(event, payload);
  }

  protected removeAllListeners(): void {
    this.emitter.removeAllListeners();
  }
}
