import type { ObserverSnapshot } from '@cubecast/protocol';
import cytoscape, { type Core, type StylesheetJson } from 'cytoscape';
import { useEffect, useRef } from 'react';
import { cubePosition, idsLabel } from './cube-layout.js';
import type { LinkSummary } from './observer-model.js';

/** Pixels per step of dimension 0 in the picture. */
const STEP_PX = 110;
/** More changes than this in one update are applied without animation: a re-embedding of hundreds of hosts would crawl. */
const MAX_ANIMATED = 80;
const ANIMATION_MS = 450;
/** The most a picture is zoomed to frame it: four hosts at 4x would be all label. */
const MAX_FIT_ZOOM = 1.6;
/**
 * Past this many hosts, labels show only when zoomed in, and links only where they matter:
 * stalled or failed, the picked host's, and the picked channel's tree. A thousand hosts have
 * some ten thousand links: drawn all, they are a hairball that took the canvas seconds a frame.
 */
export const DETAILED_HOSTS = 150;

export type Selection = { kind: 'host'; hostId: string } | { kind: 'link'; key: string } | undefined;

/** A channel's tree to draw over the topology (observer-model's treeEdges, plus who is who). */
export interface TreeOverlay {
  readonly publisher: string;
  readonly edges: readonly { from: string; to: string }[];
  /** Subscriber -> whether its last reported latency met its bound (undefined: no report yet). */
  readonly subscribers: ReadonlyMap<string, boolean | undefined>;
  /** Branch point -> its pipelines with per-chunk times, for its label. */
  readonly branches: ReadonlyMap<string, string>;
}

/** How the page names a host: its name and id, or its id. */
export function hostLabel(host: { hostId: string; name?: string }): string {
  return host.name === undefined ? host.hostId : `${host.name} · ${host.hostId}`;
}

export function rttClass(rttMs: number | undefined): string {
  if (rttMs === undefined) return 'rtt-unknown';
  return rttMs < 20 ? 'rtt-good' : rttMs < 100 ? 'rtt-fair' : 'rtt-poor';
}

const STYLE: StylesheetJson = [
  {
    selector: 'node',
    style: {
      'background-color': '#4c6ef5',
      label: 'data(label)',
      'font-size': 11,
      'text-wrap': 'wrap',
      'text-valign': 'bottom',
      'text-margin-y': 4,
      color: '#1d2330',
      width: 22,
      height: 22,
      'border-width': 2,
      'border-color': '#fff',
      'min-zoomed-font-size': 7,
    },
  },
  { selector: 'node.many', style: { 'min-zoomed-font-size': 14, width: 14, height: 14 } },
  { selector: 'node:selected', style: { 'border-color': '#1d2330', 'border-width': 3 } },
  { selector: 'node.publisher', style: { 'background-color': '#7b2cbf', shape: 'star', width: 30, height: 30 } },
  { selector: 'node.met', style: { 'background-color': '#2f9e44' } },
  { selector: 'node.missed', style: { 'background-color': '#e03131' } },
  { selector: 'node.waiting', style: { 'background-color': '#adb5bd' } },
  { selector: 'node.branch', style: { shape: 'diamond', width: 28, height: 28 } },
  { selector: 'node.dim', style: { opacity: 0.35 } },
  {
    selector: 'edge',
    style: { width: 2, 'line-color': '#ced4da', 'curve-style': 'bezier', opacity: 0.9 },
  },
  // A link past the next place (a ring's wrap-around, k > 2) arcs instead of running through the hosts between.
  { selector: 'edge.long', style: { 'curve-style': 'unbundled-bezier', 'control-point-distances': [36], 'control-point-weights': [0.5] } },
  // Hundreds of hosts: straight, cheapest edges (no arcs: the picture is a grid of blocks by then).
  { selector: 'edge.many', style: { 'curve-style': 'haystack', width: 1 } },
  { selector: 'edge.rtt-good', style: { 'line-color': '#69db7c' } },
  { selector: 'edge.rtt-fair', style: { 'line-color': '#ffc078' } },
  { selector: 'edge.rtt-poor', style: { 'line-color': '#ff8787' } },
  { selector: 'edge.state-unreported, edge.state-connecting', style: { 'line-style': 'dotted', 'line-color': '#ced4da' } },
  { selector: 'edge.state-stalled', style: { 'line-style': 'dashed', 'line-color': '#f08c00' } },
  { selector: 'edge.state-failed', style: { 'line-style': 'dashed', 'line-color': '#c92a2a', width: 3 } },
  { selector: 'edge:selected', style: { width: 5, 'line-color': '#1d2330' } },
  { selector: 'edge.dim', style: { opacity: 0.25 } },
  {
    selector: 'edge.tree',
    style: { width: 4, 'line-color': '#7b2cbf', 'target-arrow-shape': 'triangle', 'target-arrow-color': '#7b2cbf', 'z-index': 10 },
  },
];

/** An element as the picture wants it. */
interface Drawn {
  readonly group: 'nodes' | 'edges';
  readonly label?: string;
  readonly classes: string;
  readonly position?: cytoscape.Position;
  readonly ends?: { source: string; target: string };
}

/** Every element the picture should have now, by id: hosts at their cube places, links, a channel's tree. */
function picture(state: ObserverSnapshot, links: readonly LinkSummary[], tree: TreeOverlay | undefined, picked: string | undefined): Map<string, Drawn> {
  const { k, n } = state.cube;
  const detailed = state.hosts.length <= DETAILED_HOSTS;
  const many = detailed ? '' : ' many';
  const inTree = new Set(tree ? [tree.publisher, ...tree.subscribers.keys(), ...tree.edges.flatMap((e) => [e.from, e.to])] : []);
  const wanted = new Map<string, Drawn>();
  const places = new Map<string, { x: number; y: number }>();
  for (const host of state.hosts) {
    const at = k > 0 && host.ids.length > 0 ? cubePosition(Math.min(...host.ids), k, n) : { x: 0, y: 0 };
    places.set(host.hostId, at);
    const met = tree?.subscribers.get(host.hostId);
    const branch = tree?.branches.get(host.hostId);
    const roles = tree
      ? [
          tree.publisher === host.hostId && 'publisher',
          met === true && 'met',
          met === false && 'missed',
          tree.subscribers.has(host.hostId) && met === undefined && 'waiting',
          branch !== undefined && 'branch',
          !inTree.has(host.hostId) && 'dim',
        ].filter(Boolean)
      : [];
    wanted.set(host.hostId, {
      group: 'nodes',
      label: `${hostLabel(host)}\n${idsLabel(host.ids)}${branch === undefined ? '' : `\n${branch}`}`,
      classes: `host${many} ${roles.join(' ')}`.trim(),
      position: { x: at.x * STEP_PX, y: at.y * STEP_PX },
    });
  }
  // Past the next place on either axis: the edge would run through the hosts between.
  const long = (a: string, b: string) => {
    const [p, q] = [places.get(a)!, places.get(b)!];
    return Math.abs(p.x - q.x) > 1 || Math.abs(p.y - q.y) > 1 ? ' long' : '';
  };
  const dim = tree ? ' dim' : '';
  for (const link of links) {
    if (!places.has(link.a) || !places.has(link.b)) continue;
    if (!detailed && link.state !== 'stalled' && link.state !== 'failed' && link.a !== picked && link.b !== picked) continue;
    wanted.set(link.key, { group: 'edges', classes: `link state-${link.state} ${rttClass(link.rttMs)}${long(link.a, link.b)}${many}${dim}`, ends: { source: link.a, target: link.b } });
  }
  for (const edge of tree?.edges ?? []) {
    if (!places.has(edge.from) || !places.has(edge.to)) continue;
    wanted.set(`tree:${edge.from}>${edge.to}`, { group: 'edges', classes: `tree${long(edge.from, edge.to)}`, ends: { source: edge.from, target: edge.to } });
  }
  return wanted;
}

/**
 * The overlay's hosts and links, drawn with cytoscape.js at the places their smallest ids
 * take in the cube (cube-layout): joins fade in, leaves fade out, hosts that change ids
 * (re-embeddings, swaps) slide to their new places. Cytoscape draws on canvas, so a
 * thousand hosts and their links stay interactive, and it diffs nothing itself: this does.
 */
export function TopologyGraph(props: {
  state: ObserverSnapshot;
  links: readonly LinkSummary[];
  tree: TreeOverlay | undefined;
  selection: Selection;
  onSelect: (selection: Selection) => void;
  /** Called once a state from the server has been drawn (a frame after it was handed over). */
  onShown: (state: ObserverSnapshot) => void;
}) {
  const container = useRef<HTMLDivElement>(null);
  const cy = useRef<Core | undefined>(undefined);
  const shape = useRef('');
  const onSelect = useRef(props.onSelect);
  onSelect.current = props.onSelect;

  useEffect(() => {
    const core = cytoscape({ container: container.current!, style: STYLE, layout: { name: 'preset' }, minZoom: 0.05, maxZoom: 4, boxSelectionEnabled: false });
    core.on('tap', 'node', (event) => onSelect.current({ kind: 'host', hostId: event.target.id() as string }));
    core.on('tap', 'edge.link', (event) => onSelect.current({ kind: 'link', key: event.target.id() as string }));
    core.on('tap', (event) => {
      if (event.target === core) onSelect.current(undefined);
    });
    cy.current = core;
    return () => {
      core.destroy();
      cy.current = undefined;
    };
  }, []);

  const { state, links, tree, selection, onShown } = props;
  // What each element was last given: an update touches only what changed, since setting data,
  // classes or a position makes cytoscape restyle and redraw that element (a thousand hosts and
  // their links, all touched, took seconds an update).
  const applied = useRef(new Map<string, Drawn>());
  const shownTime = useRef(-1);
  useEffect(() => {
    const core = cy.current;
    if (!core) return;
    const wanted = picture(state, links, tree, selection?.kind === 'host' ? selection.hostId : undefined);
    const drawn = applied.current;
    let changes = 0;
    for (const id of drawn.keys()) if (!wanted.has(id)) changes++;
    for (const id of wanted.keys()) if (!drawn.has(id)) changes++;
    const animate = changes <= MAX_ANIMATED;
    core.batch(() => {
      for (const id of [...drawn.keys()]) {
        if (wanted.has(id)) continue;
        drawn.delete(id);
        const element = core.getElementById(id);
        if (animate && element.isNode()) element.animate({ style: { opacity: 0 } }, { duration: ANIMATION_MS, complete: () => element.remove() });
        else element.remove();
      }
      const moved: [cytoscape.NodeSingular, cytoscape.Position][] = [];
      for (const [id, next] of wanted) {
        const before = drawn.get(id);
        drawn.set(id, next);
        const existing = core.getElementById(id);
        if (existing.empty()) {
          const added = core.add({ group: next.group, data: { id, label: next.label, ...next.ends }, classes: next.classes, ...(next.position && { position: next.position }) });
          if (animate && added.isNode()) {
            added.style('opacity', 0);
            added.animate({ style: { opacity: 1 } }, { duration: ANIMATION_MS });
          }
          continue;
        }
        // One fading out (it left) that is back before it went: it stays.
        if (!before && existing.isNode() && existing.animated()) {
          existing.stop(true);
          existing.removeStyle('opacity');
        }
        if (before?.label !== next.label) existing.data('label', next.label);
        if (before?.classes !== next.classes) existing.classes(next.classes);
        if (next.position && (before?.position?.x !== next.position.x || before.position.y !== next.position.y)) moved.push([existing as cytoscape.NodeSingular, next.position]);
      }
      const slide = animate && moved.length <= MAX_ANIMATED;
      for (const [node, to] of moved) {
        // A slide still running would carry the node on to its old place after this one.
        node.stop(true);
        if (slide) node.animate({ position: to }, { duration: ANIMATION_MS });
        else node.position(to);
      }
    });
    // A new cube shape (or the first picture) is framed whole; after that, the person's zoom stays.
    const cubeShape = `${state.cube.k}/${state.cube.n}/${state.hosts.length > 0}`;
    if (cubeShape !== shape.current) {
      shape.current = cubeShape;
      // Framed where the hosts are going: again once their slides end. A few hosts are not
      // blown up to fill the picture.
      const frame = () => {
        if (cy.current !== core) return;
        core.fit(undefined, 40);
        if (core.zoom() > MAX_FIT_ZOOM) {
          core.zoom(MAX_FIT_ZOOM);
          core.center();
        }
      };
      frame();
      setTimeout(frame, ANIMATION_MS + 50);
    }
    // Only a new state from the server counts as shown (an event or a selection redraws too).
    if (state.time !== shownTime.current) {
      shownTime.current = state.time;
      // Drawn: cytoscape paints in the next frame.
      requestAnimationFrame(() => onShown(state));
    }
  }, [state, links, tree, selection, onShown]);

  useEffect(() => {
    const core = cy.current;
    if (!core) return;
    core.$(':selected').unselect();
    if (selection) core.getElementById(selection.kind === 'host' ? selection.hostId : selection.key).select();
  }, [selection, state]);

  return <div ref={container} className="observer-graph" data-testid="observer-graph" role="img" aria-label={`Topology: ${state.hosts.length} hosts, ${links.length} links`} />;
}
