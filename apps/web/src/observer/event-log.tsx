import { OBSERVER_EVENT_TYPES, type ObserverEvent } from '@cubecast/protocol';
import { useMemo, useState } from 'react';

/** Rows drawn at once: the newest; the filter reaches the rest. */
const ROWS_SHOWN = 300;

const clock = (time: number) => new Date(time).toLocaleTimeString(undefined, { hour12: false });

/** A swap's estimated latency before and after, from its details (overlay's SwapPlan). */
export function swapLatencies(event: ObserverEvent): { before: number; after: number } | undefined {
  const { latencyBefore, latencyAfter } = (event.details ?? {}) as { latencyBefore?: unknown; latencyAfter?: unknown };
  return typeof latencyBefore === 'number' && typeof latencyAfter === 'number' ? { before: latencyBefore, after: latencyAfter } : undefined;
}

/** Joins, leaves, re-embeddings, swaps, failures, SPA deaths, refusals: newest first, filtered by kind and text. */
export function EventLog(props: { events: readonly ObserverEvent[]; version: number }) {
  const { events, version } = props;
  const [type, setType] = useState<string>('all');
  const [text, setText] = useState('');
  const shown = useMemo(() => {
    const needle = text.trim().toLowerCase();
    return events.filter((e) => (type === 'all' || e.type === type) && (needle === '' || e.message.toLowerCase().includes(needle) || e.hostId?.includes(needle))).slice(0, ROWS_SHOWN);
    // `events` is the model's own array, changed in place: `version` says when.
  }, [events, version, type, text]);
  return (
    <section className="event-log" data-testid="observer-event-log">
      <div className="event-log-head">
        <h2>Events</h2>
        <label>
          Kind
          <select value={type} onChange={(e) => setType(e.target.value)} data-testid="observer-event-filter">
            <option value="all">all</option>
            {OBSERVER_EVENT_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Contains
          <input value={text} onChange={(e) => setText(e.target.value)} placeholder="host id or words" />
        </label>
      </div>
      {shown.length === 0 ? (
        <p className="muted">{events.length === 0 ? 'Nothing has happened yet.' : 'No event matches the filter.'}</p>
      ) : (
        <ol className="events">
          {shown.map((event, i) => {
            const swap = event.type === 'swap' ? swapLatencies(event) : undefined;
            return (
              <li key={`${event.time}:${i}:${event.message}`} data-type={event.type}>
                <time>{clock(event.time)}</time>
                <span className={`kind kind-${event.type}`}>{event.type}</span>
                <span className="message">
                  {event.message}
                  {swap && (
                    <span className="swap-latency" data-testid="observer-swap-latency">
                      {' '}
                      (estimated {swap.before.toFixed(1)} → {swap.after.toFixed(1)} ms)
                    </span>
                  )}
                </span>
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
