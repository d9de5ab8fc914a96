/**
 * The scenario report: one self-contained HTML file (uPlot and the data inlined, nothing
 * fetched) with per-subscriber latency against its bound, frames per second, open links per tab
 * and the server's view, the scenario's events marked on every plot's time axis. uPlot is the
 * chart library the observer page already uses: small, fast on thousands of points, no deps.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { linkChanges, openLinkCounts, subscriberSeries, tabLabel, type SubscriberSeries, type Timeline, type TimelineEvent } from './timeline.js';

/** Event types drawn as markers on the plots, and their colours; the others are in the table only. */
export const MARKED_EVENTS: Readonly<Record<string, string>> = {
  join: '#2e7d32',
  leave: '#757575',
  close: '#757575',
  failure: '#c62828',
  crash: '#c62828',
  swap: '#6a1b9a',
  reembed: '#ef6c00',
  publish: '#00838f',
  policy: '#1565c0',
  algorithm: '#1565c0',
  emulation: '#1565c0',
  loss: '#1565c0',
  mark: '#1565c0',
};

/** Marked by a short tick on the time axis, unlabelled: one per tab, they would hide the rest as lines. */
export const TICK_EVENTS = new Set(['join', 'leave']);

/** What the server's feed reports when the script does it: marked once, when the server has it. */
const SERVER_REPORTED = new Set(['publish', 'emulation', 'policy', 'reembed', 'algorithm']);

export function markedEvents(events: readonly TimelineEvent[]): TimelineEvent[] {
  return events.filter((e) => e.type in MARKED_EVENTS && !(e.source === 'scenario' && SERVER_REPORTED.has(e.type)));
}

/** A marker's label: a mark's own words (shortened), else the type and the tab. */
function markerLabel(e: TimelineEvent): string {
  if (e.type === 'mark') return e.message.length > 28 ? `${e.message.slice(0, 27).trimEnd()}…` : e.message;
  return e.tab !== undefined ? `${e.type} ${e.tab}` : e.type;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const ms = (value: number | null) => (value === null ? '–' : `${value.toFixed(1)} ms`);
const seconds = (t: number) => `${(t / 1000).toFixed(1)} s`;

let uplotAssets: { js: string; css: string } | undefined;
function uplot(): { js: string; css: string } {
  const require = createRequire(import.meta.url);
  uplotAssets ??= {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return uplotAssets;
}

/** What the page's script plots: x in seconds, one array per series, null for a gap. */
export interface ReportPlots {
  readonly x: number[];
  readonly latency: { label: string; values: (number | null)[] }[];
  /** One line when every subscriber has the same bound throughout, else one per subscriber. */
  readonly bounds: { label: string; values: (number | null)[]; of?: number }[];
  readonly fps: { label: string; values: (number | null)[] }[];
  readonly links: { label: string; values: (number | null)[] }[];
  readonly server: { hosts: (number | null)[]; links: (number | null)[] };
  /** `tick`: a short unlabelled mark at the axis (joins, leaves); else a dashed line with its label. */
  readonly markers: { t: number; type: string; label: string; color: string; tick: boolean }[];
}

export function reportPlots(timeline: Timeline, series: readonly SubscriberSeries[] = subscriberSeries(timeline)): ReportPlots {
  const x = timeline.samples.map((s) => s.t / 1000);
  const at = new Map(timeline.samples.map((s, i) => [s.t, i]));
  const align = (times: number[], values: (number | null)[]) => {
    const out: (number | null)[] = x.map(() => null);
    times.forEach((t, i) => (out[at.get(t)!] = values[i]!));
    return out;
  };
  const links = openLinkCounts(timeline);
  const allBounds = new Set(series.flatMap((s) => s.boundMs));
  const shared = allBounds.size === 1 ? [...allBounds][0]! : undefined;
  return {
    x,
    latency: series.map((s) => ({ label: `${tabLabel(timeline, s.tab)} ${s.channel}`, values: align(s.times, s.latencyMs) })),
    bounds: shared !== undefined ? [{ label: `bound ${shared} ms`, values: x.map(() => shared) }] : series.map((s, i) => ({ label: `${tabLabel(timeline, s.tab)} ${s.channel} bound`, values: align(s.times, s.boundMs), of: i })),
    fps: series.map((s) => ({ label: `${tabLabel(timeline, s.tab)} ${s.channel}`, values: align(s.times, s.fps) })),
    links: [...links.perTab].map(([index, values]) => ({ label: tabLabel(timeline, index), values })),
    server: { hosts: timeline.samples.map((s) => s.server?.hosts ?? null), links: timeline.samples.map((s) => s.server?.links ?? null) },
    markers: markedEvents(timeline.events).map((e) => ({ t: e.t / 1000, type: e.type, label: markerLabel(e), color: MARKED_EVENTS[e.type]!, tick: TICK_EVENTS.has(e.type) })),
  };
}

export function renderReport(timeline: Timeline): string {
  const series = subscriberSeries(timeline);
  const changes = linkChanges(timeline);
  const outcome = timeline.outcome;
  const duration = timeline.samples.at(-1)?.t ?? 0;
  const data = JSON.stringify(reportPlots(timeline, series)).replace(/</g, '\\u003c');
  const assets = uplot();
  const status = outcome
    ? `<p class="outcome ${outcome.status === 'passed' ? 'passed' : 'failed'}"><strong>${escapeHtml(outcome.status)}</strong> after ${seconds(outcome.durationMs)}${outcome.error ? `: <code>${escapeHtml(outcome.error)}</code>` : ''}</p>`
    : '<p class="outcome failed"><strong>unfinished</strong>: the scenario stopped before it ended</p>';
  const rows = series
    .map(
      (s) =>
        `<tr><td>${escapeHtml(tabLabel(timeline, s.tab))}</td><td>${escapeHtml(s.channel)}</td><td>${s.boundMs.at(-1)} ms</td><td>${s.summary.frames}</td><td>${ms(s.summary.latencyP50)}</td><td>${ms(s.summary.latencyP99)}</td><td>${s.summary.boundMetShare === null ? '–' : `${Math.round(s.summary.boundMetShare * 100)}%`}</td><td>${s.summary.longestStallMs} ms</td></tr>`,
    )
    .join('\n');
  const events = timeline.events
    .map((e) => `<tr><td>${seconds(e.t)}</td><td>${e.source}</td><td>${escapeHtml(e.type)}</td><td>${e.tab ?? ''}</td><td>${escapeHtml(e.message)}</td></tr>`)
    .join('\n');
  const linkRows = changes
    .map((c) => `<tr><td>${seconds(c.t)}</td><td>${escapeHtml(tabLabel(timeline, c.tab))}</td><td>${escapeHtml(c.up.join(' '))}</td><td>${escapeHtml(c.down.join(' '))}</td></tr>`)
    .join('\n');
  const legend = Object.entries(MARKED_EVENTS)
    .map(([type, color]) => `<span><i style="background:${color}${TICK_EVENTS.has(type) ? '; height: 4px' : ''}"></i>${type}${TICK_EVENTS.has(type) ? ' (tick at the axis)' : ''}</span>`)
    .join(' ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(timeline.title)}: Cubecast scenario report</title>
<style>${assets.css}
body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 6px; }
.muted { color: #666; } code { font-size: 13px; white-space: pre-wrap; }
.outcome { padding: 8px 12px; border-radius: 4px; } .passed { background: #e8f5e9; } .failed { background: #ffebee; }
table { border-collapse: collapse; font-size: 13px; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; }
.legend span { margin-right: 12px; white-space: nowrap; } .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
.plot { margin-top: 4px; } .empty { color: #666; font-style: italic; }
</style>
</head>
<body>
<h1>${escapeHtml(timeline.title)}</h1>
<p class="muted">${escapeHtml(timeline.file)} · started ${escapeHtml(timeline.startedAt)} · ${timeline.tabs.length} tabs · ${seconds(duration)} recorded, a sample every ${timeline.tickMs} ms</p>
${status}
<h2>Subscribers</h2>
${series.length > 0 ? `<table><tr><th>tab</th><th>channel</th><th>bound</th><th>frames</th><th>latency p50</th><th>p99</th><th>bound met</th><th>longest stall</th></tr>\n${rows}</table>` : '<p class="empty">No tab subscribed.</p>'}
<p class="legend">Marked on the time axis: ${legend}</p>
<h2>Latency against the bound</h2>
<p class="muted">Solid: the latency each subscriber's overlay reports; dashed: the bound (one line when all share it).</p>
<div id="latency" class="plot"></div>
<h2>Frames decoded per second</h2>
<div id="fps" class="plot"></div>
<h2>Open links per tab</h2>
<div id="links" class="plot"></div>
<h2>The server's view</h2>
<div id="server" class="plot"></div>
<h2>Events</h2>
<table><tr><th>time</th><th>from</th><th>type</th><th>tab</th><th>what</th></tr>
${events}</table>
<details><summary><h2 style="display:inline">Link changes (${changes.length})</h2></summary>
<table><tr><th>time</th><th>tab</th><th>linked to</th><th>lost</th></tr>
${linkRows}</table></details>
<script type="application/json" id="data">${data}</script>
<script>${assets.js}</script>
<script>
const data = JSON.parse(document.getElementById('data').textContent);
const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
const colour = (i) => palette[i % palette.length];
const markers = {
  hooks: {
    draw: [(u) => {
      const { ctx, bbox } = u;
      ctx.save();
      ctx.font = (10 * devicePixelRatio) + 'px system-ui';
      let row = 0;
      data.markers.forEach((m) => {
        const x = u.valToPos(m.t, 'x', true);
        if (x < bbox.left || x > bbox.left + bbox.width) return;
        ctx.strokeStyle = m.color;
        ctx.fillStyle = m.color;
        if (m.tick) {
          ctx.setLineDash([]);
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.beginPath();
          ctx.moveTo(x, bbox.top + bbox.height);
          ctx.lineTo(x, bbox.top + bbox.height - 8 * devicePixelRatio);
          ctx.stroke();
          ctx.lineWidth = devicePixelRatio;
          return;
        }
        ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
        ctx.beginPath();
        ctx.moveTo(x, bbox.top);
        ctx.lineTo(x, bbox.top + bbox.height);
        ctx.stroke();
        ctx.fillText(m.label, x + 3 * devicePixelRatio, bbox.top + (11 + 11 * (row++ % 4)) * devicePixelRatio);
      });
      ctx.restore();
    }],
  },
};
function plot(id, yLabel, series, values, log) {
  const el = document.getElementById(id);
  if (series.length === 0) { el.innerHTML = '<p class="empty">Nothing to plot.</p>'; return; }
  const opts = {
    width: el.clientWidth || 1100, height: 260, plugins: [markers],
    scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
    axes: [{ label: 'scenario time (s)' }, { label: yLabel }],
    series: [{ label: 's' }, ...series],
  };
  const chart = new uPlot(opts, [data.x, ...values], el);
  addEventListener('resize', () => chart.setSize({ width: el.clientWidth, height: 260 }));
}
// Log scale: a bound of hundreds of ms and latencies of a few are both read off it.
const positive = (values) => values.map((v) => (v === null ? null : Math.max(v, 0.1)));
plot('latency', 'ms (log)',
  [...data.latency.map((s, i) => ({ label: s.label, stroke: colour(i), width: 1.5 })),
   ...data.bounds.map((b) => ({ label: b.label, stroke: b.of === undefined ? '#444' : colour(b.of), dash: [6, 4], width: 1, points: { show: false } }))],
  [...data.latency.map((s) => positive(s.values)), ...data.bounds.map((b) => b.values)], true);
plot('fps', 'frames/s', data.fps.map((s, i) => ({ label: s.label, stroke: colour(i), width: 1.5 })), data.fps.map((s) => s.values));
plot('links', 'open links', data.links.map((s, i) => ({ label: s.label, stroke: colour(i), width: 1.5, paths: uPlot.paths.stepped({ align: 1 }) })), data.links.map((s) => s.values));
plot('server', 'count', [{ label: 'hosts', stroke: '#1f77b4', width: 1.5 }, { label: 'open links', stroke: '#ff7f0e', width: 1.5 }], [data.server.hosts, data.server.links]);
</script>
</body>
</html>
`;
}
