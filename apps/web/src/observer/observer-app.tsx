import { swapPlannerLabel, type ObserverSnapshot } from '@cubecast/protocol';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { observerRoomFromPath } from '../room-path.js';
import { HostControls, OverlayControls, TokenForm } from './controls-panel.js';
import { EventLog } from './event-log.js';
import { treeEdges, type ObserverModel } from './observer-model.js';
import { TimeSeriesChart } from './time-series-chart.js';
import { DETAILED_HOSTS, hostLabel, TopologyGraph, type Selection, type TreeOverlay } from './topology-graph.js';
import { useObserverFeed } from './use-observer-feed.js';
import './observer-globals.js';

/** Update latencies and frame times the page keeps for `npm run bench:observer`. */
const PERF_KEPT = 5000;

/**
 * Measurements for `npm run bench:observer`, only on a page opened with `?perf`: a person's
 * page does not keep a loop over every frame for a benchmark.
 */
const perf: Window['cubecastObserverPerf'] = new URLSearchParams(window.location.search).has('perf') ? (window.cubecastObserverPerf = { updateMs: [], frameMs: [], hostShownAt: {} }) : undefined;
/** Hosts drawn so far: a host is news (hostShownAt) the first time a drawn state has it. */
const drawnHosts = new Set<string>();
const keep = (list: number[], value: number) => {
  list.push(value);
  if (list.length > PERF_KEPT) list.shift();
};
if (perf) {
  // Frame times while the page is open: what a person feels as jank.
  let lastFrame: number | undefined;
  const onFrame = (now: number) => {
    if (lastFrame !== undefined) keep(perf.frameMs, now - lastFrame);
    lastFrame = now;
    requestAnimationFrame(onFrame);
  };
  requestAnimationFrame(onFrame);
}

function treeOf(state: ObserverSnapshot, channel: string | undefined): TreeOverlay | undefined {
  const info = state.channels.find((c) => c.name === channel);
  if (!info) return undefined;
  const branches = new Map<string, string>();
  for (const host of state.hosts) {
    const spas = host.spas.filter((spa) => spa.channel === info.name);
    if (spas.length === 0) continue;
    branches.set(host.hostId, spas.map((spa) => (spa.state === 'dead' ? `${spa.pipeline.join('+')} dead` : spa.stages.map((s) => `${s.name} ${(s.meanMicros / 1000).toFixed(2)} ms`).join(', '))).join('; '));
  }
  return {
    publisher: info.publisher,
    edges: treeEdges(state, info.name),
    subscribers: new Map(state.subscriptions.filter((s) => s.channel === info.name).map((s) => [s.subscriber, s.boundMet])),
    branches,
  };
}

const COLORS = ['#4c6ef5', '#2f9e44', '#e8590c', '#ae3ec9', '#1098ad', '#f08c00', '#c2255c', '#5c940d'];

export function ObserverApp() {
  const place = useMemo(() => observerRoomFromPath(window.location.pathname), []);
  const [token, setToken] = useState(() => sessionStorage.getItem('cubecast-observer-token') ?? '');
  const chooseToken = useCallback((next: string) => {
    if (next === '') sessionStorage.removeItem('cubecast-observer-token');
    else sessionStorage.setItem('cubecast-observer-token', next);
    setToken(next);
  }, []);
  const { model, version, status, refusal, control } = useObserverFeed(place.room, token);
  const [selection, setSelection] = useState<Selection>(undefined);
  const [channel, setChannel] = useState<string | undefined>(undefined);
  const state = model.state;
  const links = useMemo(() => model.links(), [model, version]);
  const tree = useMemo(() => (state ? treeOf(state, channel) : undefined), [state, channel]);
  const onShown = useCallback((shown: ObserverSnapshot) => {
    if (!perf) return;
    const now = Date.now();
    keep(perf.updateMs, now - shown.time);
    const first = drawnHosts.size === 0;
    for (const host of shown.hosts) {
      if (drawnHosts.has(host.hostId)) continue;
      drawnHosts.add(host.hostId);
      // Those of the first picture were not news; past PERF_KEPT, the bench has what it needs.
      if (!first && Object.keys(perf.hostShownAt).length < PERF_KEPT) perf.hostShownAt[host.hostId] = now;
    }
  }, []);

  // Built when a script reads it, not on every render (a thousand hosts' links each time).
  useEffect(() => {
    Object.defineProperty(window, 'cubecastObserver', { get: () => model.view(), configurable: true });
  }, [model]);

  const roomLabel = place.room === undefined ? 'the default room' : `room “${place.room}”`;
  return (
    <div className="observer">
      <header className="observer-head">
        <h1>Cubecast observer</h1>
        <span className="muted">{roomLabel}</span>
        <span className={`status status-${status === 'live' ? 'up' : status === 'connecting' ? 'checking' : 'down'}`} data-testid="observer-status">
          {status === 'live' && 'live'}
          {status === 'connecting' && 'connecting…'}
          {status === 'disconnected' && 'server unreachable: retrying…'}
          {status === 'refused' && 'refused'}
        </span>
        {state && (
          <span className="facts-inline">
            <b data-testid="observer-host-count">{state.hosts.length}</b> hosts · {state.links.length} links · {state.subscriptions.length} streams · {state.cube.k > 0 ? `${state.cube.k}-ary ${state.cube.n}-cube, epoch ${state.cube.epoch}` : 'no cube yet'} · algorithm <span data-testid="observer-algorithm">{state.algorithm}</span> · policy {state.policy} · swaps <span data-testid="observer-swaps" title="How subscribers missing their bound are swapped nearer the publisher: the planner, and how many logical hops from the publisher it looks">{swapPlannerLabel(state.swaps)}</span>
          </span>
        )}
      </header>
      {place.error && (
        <p className="error" role="alert">
          {place.error}. Showing the default room instead.
        </p>
      )}
      {status === 'refused' && (
        <section className="refused">
          <p className="error" role="alert">
            The server refused this page: {refusal}.
          </p>
          <TokenForm token={token} onToken={chooseToken} purpose="Observer or admin token" />
        </section>
      )}
      {!state && status !== 'refused' && <p className="muted observer-wait">Waiting for the server’s picture of the overlay…</p>}
      {state && (
        <div className="observer-body">
          <div className="observer-main">
            <div className="graph-toolbar">
              <label>
                Channel tree
                <select value={channel ?? ''} onChange={(e) => setChannel(e.target.value === '' ? undefined : e.target.value)} data-testid="observer-channel-select">
                  <option value="">none</option>
                  {state.channels.map((c) => (
                    <option key={c.name} value={c.name}>
                      {c.name} (from {c.publisher})
                    </option>
                  ))}
                </select>
              </label>
              <label>
                Host
                <select value={selection?.kind === 'host' ? selection.hostId : ''} onChange={(e) => setSelection(e.target.value === '' ? undefined : { kind: 'host', hostId: e.target.value })} data-testid="observer-host-select">
                  <option value="">pick one…</option>
                  {state.hosts.map((h) => (
                    <option key={h.hostId} value={h.hostId}>
                      {hostLabel(h)}
                    </option>
                  ))}
                </select>
              </label>
              <Legend tree={tree !== undefined} />
              {state.hosts.length > DETAILED_HOSTS && <p className="hint small graph-note">{state.hosts.length} hosts: links are drawn where they stall or fail, for the host you pick, and along the channel tree you pick. Zoom in for names.</p>}
            </div>
            {state.hosts.length === 0 ? (
              <p className="empty-graph muted">No host is in this room yet. Open the app ({place.room === undefined ? '/' : `/r/${encodeURIComponent(place.room)}`}) in a tab and it appears here.</p>
            ) : (
              <TopologyGraph state={state} links={links} tree={tree} selection={selection} onSelect={setSelection} onShown={onShown} />
            )}
            <Totals model={model} version={version} />
          </div>
          <aside className="observer-side">
            <Details state={state} model={model} selection={selection} onSelect={setSelection} channel={channel} control={control} />
            <OverlayControls state={state} control={control} token={token} onToken={chooseToken} />
          </aside>
          <EventLog events={model.events} version={version} />
        </div>
      )}
    </div>
  );
}

function Legend(props: { tree: boolean }) {
  return (
    <ul className="legend small muted">
      <li>
        <i className="swatch good" /> RTT &lt; 20 ms
      </li>
      <li>
        <i className="swatch fair" /> &lt; 100 ms
      </li>
      <li>
        <i className="swatch poor" /> ≥ 100 ms
      </li>
      <li>
        <i className="swatch stalled" /> stalled
      </li>
      <li>
        <i className="swatch failed" /> failed
      </li>
      {props.tree && (
        <>
          <li>★ publisher</li>
          <li>◆ runs SPAs</li>
          <li>
            <i className="dot met" /> bound met
          </li>
          <li>
            <i className="dot missed" /> missed
          </li>
        </>
      )}
    </ul>
  );
}

function Totals(props: { model: ObserverModel; version: number }) {
  const { model, version } = props;
  const series = useMemo(() => {
    const names = ['hosts', 'links', 'streams', 'swaps', 'rejects'] as const;
    return names.map((name) => ({ name, data: model.totals.get(name) }));
  }, [model, version]);
  return (
    <div className="totals">
      {series.map(({ name, data }, i) => (
        <div key={name} className="total">
          <span className="total-value" data-testid={`observer-total-${name}`}>
            {name === 'rejects' ? 'rejected requests' : name} <b>{data.values.at(-1) ?? '–'}</b>
          </span>
          <TimeSeriesChart title="" times={data.times} lines={[{ label: name, values: data.values, color: COLORS[i]! }]} units={['']} height={80} compact />
        </div>
      ))}
    </div>
  );
}

function Details(props: { state: ObserverSnapshot; model: ObserverModel; selection: Selection; onSelect: (selection: Selection) => void; channel: string | undefined; control: Parameters<typeof HostControls>[0]['control'] }) {
  const { state, model, selection, onSelect, channel, control } = props;
  if (selection?.kind === 'link') {
    const link = model.links().find((l) => l.key === selection.key);
    const throughput = model.linkThroughput.get(selection.key);
    const rtt = model.linkRtt.get(selection.key);
    return (
      <section className="details" data-testid="observer-details">
        <h2>Link {selection.key.split('|').map((id) => hostLabel(state.hosts.find((h) => h.hostId === id) ?? { hostId: id })).join(' – ')}</h2>
        {link ? (
          <p className="small">
            {link.state}
            {link.rttMs !== undefined && ` · RTT ${link.rttMs.toFixed(1)} ms`}
            {link.throughputKbps !== undefined && ` · ${link.throughputKbps.toFixed(0)} kbit/s both ways`}
            {link.lossRate !== undefined && link.lossRate >= 0.01 && ` · ${(link.lossRate * 100).toFixed(0)}% lost`}
          </p>
        ) : (
          <p className="muted small">This link is gone; its history stays below while it lasts.</p>
        )}
        <TimeSeriesChart
          key={selection.key}
          title="Throughput and RTT"
          times={throughput.times}
          lines={[
            { label: 'kbit/s', values: throughput.values, color: COLORS[0]! },
            { label: 'RTT ms', values: rtt.values, color: COLORS[2]!, axis: 1 },
          ]}
          units={['kbit/s', 'ms']}
          testId="observer-link-chart"
        />
      </section>
    );
  }
  if (selection?.kind === 'host') {
    const host = state.hosts.find((h) => h.hostId === selection.hostId);
    if (!host)
      return (
        <section className="details" data-testid="observer-details">
          <h2>{selection.hostId}</h2>
          <p className="muted">{selection.hostId} is no longer in the overlay: it left or was disconnected.</p>
        </section>
      );
    const subscriptions = state.subscriptions.filter((s) => s.subscriber === host.hostId);
    const hostLinks = model.links().filter((l) => l.a === host.hostId || l.b === host.hostId);
    return (
      <section className="details" data-testid="observer-details">
        <h2>{hostLabel(host)}</h2>
        <p className="small">
          ids {host.ids.join(', ') || 'none'} · joined {new Date(host.connectedAt).toLocaleTimeString(undefined, { hour12: false })}
          {host.rejected > 0 && ` · ${host.rejected} requests refused`}
        </p>
        {host.spas.length > 0 && (
          <ul className="spas">
            {host.spas.map((spa) => (
              <li key={`${spa.channel}/${spa.variant}`}>
                {spa.channel}: {spa.pipeline.join(' → ')} {spa.state}
                {spa.stages.length > 0 && ` (${spa.stages.map((s) => `${s.name} ${(s.meanMicros / 1000).toFixed(2)} ms/chunk`).join(', ')})`}
                {spa.error && <span className="error-text"> {spa.error}</span>}
              </li>
            ))}
          </ul>
        )}
        <table className="links" data-testid="observer-host-links">
          <thead>
            <tr>
              <th>link to</th>
              <th>state</th>
              <th>RTT</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {hostLinks.map((l) => (
              <tr key={l.key}>
                <td>{l.a === host.hostId ? l.b : l.a}</td>
                <td>
                  <span className={`state state-${l.state}`}>{l.state}</span>
                </td>
                <td>{l.rttMs === undefined ? '–' : `${l.rttMs.toFixed(1)} ms`}</td>
                <td>
                  <button type="button" className="small secondary" onClick={() => onSelect({ kind: 'link', key: l.key })}>
                    plot
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {subscriptions.map((sub) => {
          const latency = model.subscriptionLatency.get(sub.subscriptionId);
          return (
            <TimeSeriesChart
              key={sub.subscriptionId}
              title={`“${sub.channel}”: latency against its ${sub.maxLatencyMs} ms bound`}
              times={latency.times}
              lines={[
                { label: 'latency', values: latency.values, color: COLORS[1]! },
                { label: 'bound', values: latency.times.map(() => sub.maxLatencyMs), color: '#e03131', dashed: true },
              ]}
              units={['ms']}
            />
          );
        })}
        <HostControls key={host.hostId} hostId={host.hostId} emulation={host.emulation} enabled={state.controls.enabled} control={control} />
      </section>
    );
  }
  const info = state.channels.find((c) => c.name === channel);
  if (info) {
    const subs = state.subscriptions.filter((s) => s.channel === info.name);
    return (
      <section className="details" data-testid="observer-details">
        <h2>“{info.name}”</h2>
        <p className="small">
          {info.kind} from {info.publisher} · {subs.length} subscribers
        </p>
        <table className="links">
          <thead>
            <tr>
              <th>subscriber</th>
              <th>latency</th>
              <th>bound</th>
              <th>hops</th>
            </tr>
          </thead>
          <tbody>
            {subs.map((s) => (
              <tr key={s.subscriptionId}>
                <td>{s.subscriber}</td>
                <td>{s.latencyMs === undefined ? '–' : `${s.latencyMs.toFixed(1)} ms`}</td>
                <td>
                  <span className={`state ${s.boundMet === undefined ? '' : s.boundMet ? 'state-open' : 'state-failed'}`}>
                    {s.boundMet === undefined ? 'no report yet' : s.boundMet ? 'met' : 'missed'} ({s.maxLatencyMs} ms)
                  </span>
                </td>
                <td>{s.hops ?? '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {subs.length > 0 && (
          <TimeSeriesChart
            title="Latency per subscriber"
            times={model.subscriptionLatency.get(subs[0]!.subscriptionId).times}
            lines={subs.map((s, i) => ({ label: s.subscriber, values: model.subscriptionLatency.get(s.subscriptionId).values, color: COLORS[i % COLORS.length]! }))}
            units={['ms']}
          />
        )}
      </section>
    );
  }
  return (
    <section className="details muted">
      <h2>Details</h2>
      <p className="small">Pick a host or a link in the picture, or a channel above it, to see its numbers over time and its controls.</p>
    </section>
  );
}
