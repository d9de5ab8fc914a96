/**
 * The browser benchmark's page (`npm run bench:browser` drives it). Each tab runs the product's
 * engine worker; the harness wires tabs into chains over WebRTC with the same negotiated,
 * transferred data channels the peer uses, exchanging SDP itself instead of via the server.
 */
import type { EngineCommand, EngineReport } from '@cubecast/peer/engine/worker-protocol';
import { selectedRoute, type LinkRoute } from '@cubecast/peer/link-route';
import type { LinkStats, LossProtection } from '@cubecast/peer/engine';
import { readStats } from '@cubecast/peer/rtc';
import { Flags, LINK_CHANNELS } from '@cubecast/protocol';
import EngineWorker from '@cubecast/peer/engine.worker?worker';
import RawChannelWorker from './raw-channel.worker.ts?worker';

// `?raw` in the page URL: the baseline, bare channels in a worker instead of the engine.
const params = new URLSearchParams(location.search);
const raw = params.has('raw');
/** `?stripes=N`: each link is N peer connections (see LinkStripes); the raw baseline uses one. */
const STRIPES = raw ? 1 : Math.min(8, Math.max(1, Number(params.get('stripes') ?? 1) | 0));
/** How the harness carries the stripes' descriptions in one string. */
const STRIPE_SEPARATOR = '\n--stripe--\n';
const worker: Worker = raw ? new RawChannelWorker() : new EngineWorker();
let rawResults: { bytes: number; firstAt: number; lastAt: number } | undefined;
/** Each peer's connections, one per stripe. */
const connections = new Map<string, RTCPeerConnection[]>();
/** What connections are made with: no ICE servers, unless a harness across NATs sets some (`ice`). */
let iceConfiguration: RTCConfiguration = { iceServers: [] };
/** What arrived: per chunk, in arrival order, its arrival time and sequence (and which were key frames). */
/** Bytes this tab's engine has sent on all its links, as of its last stats (every second). */
let sentBytes = 0;
let lastLinks: LinkStats[] = [];
/** A subscriber downstream asked for a key frame: the next chunk streamed is one, as a publisher's encoder would make it. */
let keyframeRequested = false;
const received = { bytes: 0, chunks: 0, firstAt: 0, lastAt: 0, latencies: [] as number[], arrivals: [] as number[], sequences: [] as number[], keys: [] as number[], channel: 0 };
const openLinks = new Set<string>();

type RawReport = { raw: 'open'; peer: string } | { raw: 'results'; results: NonNullable<typeof rawResults> };

worker.onmessage = (event: MessageEvent<EngineReport | RawReport>) => {
  const report = event.data;
  if ('raw' in report) {
    if (report.raw === 'open') openLinks.add(report.peer);
    else rawResults = report.results;
    return;
  }
  if (report.type === 'chunk') {
    if (received.channel !== 0 && report.chunk.channel !== received.channel) return;
    const now = performance.now();
    if (received.chunks === 0) received.firstAt = now;
    received.lastAt = now;
    // A gap: the chunk before it is lost, and what follows cannot be decoded until a key frame,
    // which a player asks for (the engine limits how often).
    const newest = received.sequences.length > 0 ? Math.max(...received.sequences.slice(-8)) : undefined;
    if (newest !== undefined && ((report.chunk.sequence - newest) | 0) > 1 && (report.chunk.flags & Flags.Key) === 0) command({ type: 'keyframe', channel: report.chunk.channel });
    received.arrivals.push(now);
    received.sequences.push(report.chunk.sequence);
    if ((report.chunk.flags & Flags.Key) !== 0) received.keys.push(report.chunk.sequence);
    received.chunks++;
    received.bytes += report.chunk.payload.byteLength;
    if (report.chunk.payload.byteLength >= 8) {
      const sentAt = new DataView(report.chunk.payload.buffer, report.chunk.payload.byteOffset, 8).getFloat64(0);
      if (sentAt > 0) received.latencies.push(performance.timeOrigin + now - sentAt);
    }
  } else if (report.type === 'stats') {
    for (const link of report.links) if (link.state === 'open') openLinks.add(link.hostId);
    sentBytes = report.links.reduce((sum, link) => sum + link.sentBytes, 0);
    lastLinks = report.links;
  } else if (report.type === 'keyframe:request') {
    keyframeRequested = true;
  }
};

const command = (c: EngineCommand, transfer: Transferable[] = []) => worker.postMessage(c, transfer);

function connect(peer: string): RTCPeerConnection[] {
  const stripes = Array.from({ length: STRIPES }, () => new RTCPeerConnection(iceConfiguration));
  const [own, ...more] = stripes.map((pc) => LINK_CHANNELS.map(({ label, ...init }) => pc.createDataChannel(label, init)));
  // The baseline is one bare channel: the reliable one, which the engine's flood uses too.
  if (raw) worker.postMessage({ channel: own![0], peer }, [own![0] as unknown as Transferable]);
  else {
    // As the product hands them over: the link with its own stripe, then each added one.
    command({ type: 'link:add', hostId: peer, channels: own! }, own as unknown as Transferable[]);
    for (const channels of more) command({ type: 'link:stripe', hostId: peer, channels }, channels as unknown as Transferable[]);
  }
  connections.set(peer, stripes);
  return stripes;
}

async function gathered(pc: RTCPeerConnection): Promise<string> {
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve()));
  }
  return pc.localDescription!.sdp;
}

const bench = {
  /** The ICE servers (and policy) of the connections made from now on. */
  ice(configuration: RTCConfiguration): void {
    iceConfiguration = configuration;
  },
  /** Each connection's selected candidate pair, by peer. */
  async routes(): Promise<Record<string, LinkRoute | null>> {
    const routes: Record<string, LinkRoute | null> = {};
    for (const [peer, [pc]] of connections) routes[peer] = selectedRoute(await readStats(pc!));
    return routes;
  },
  async offer(peer: string): Promise<string> {
    const offers = connect(peer).map(async (pc) => {
      await pc.setLocalDescription(await pc.createOffer());
      return gathered(pc);
    });
    return (await Promise.all(offers)).join(STRIPE_SEPARATOR);
  },
  async answer(peer: string, offer: string): Promise<string> {
    const offers = offer.split(STRIPE_SEPARATOR);
    const answers = connect(peer).map(async (pc, stripe) => {
      await pc.setRemoteDescription({ type: 'offer', sdp: offers[stripe]! });
      await pc.setLocalDescription(await pc.createAnswer());
      return gathered(pc);
    });
    return (await Promise.all(answers)).join(STRIPE_SEPARATOR);
  },
  async accept(peer: string, answer: string): Promise<void> {
    const answers = answer.split(STRIPE_SEPARATOR);
    await Promise.all(connections.get(peer)!.map((pc, stripe) => pc.setRemoteDescription({ type: 'answer', sdp: answers[stripe]! })));
  },
  openLinks: () => [...openLinks],
  /** A chain as a ring of 2N ids: tab i owns id i; its neighbours are tabs i-1 and i+1. */
  view(index: number, count: number): void {
    const neighbours: [number, string][] = [];
    if (index > 0) neighbours.push([index - 1, `t${index - 1}`]);
    if (index < count - 1) neighbours.push([index + 1, `t${index + 1}`]);
    command({ type: 'view', view: { hostId: `t${index}`, epoch: 1, k: 2 * count, n: 1, ids: [index], neighbours, policy: 'odr' } });
    // The directory the server would list: an engine carries only the channels it names, so
    // without it relays drop every chunk (the benchmark's two flows are channels 1 and 2).
    command({ type: 'channels', ids: [1, 2] });
  },
  publish(target: number, channel = 1, maxLatencyMs = 1000): void {
    command({ type: 'publish', channel, anchor: 0 });
    command({ type: 'route:request', route: { subscriptionId: `bench-${channel}`, channel, target, maxLatencyMs, pipeline: [], policy: 'odr' } });
  },
  subscribe(channel = 1): void {
    command({ type: 'subscribe', channel });
  },
  /** Clears the counters; with a channel, counts only that channel from now on. */
  reset(channel = 0): void {
    Object.assign(received, { bytes: 0, chunks: 0, firstAt: 0, lastAt: 0, latencies: [], arrivals: [], sequences: [], keys: [], channel });
    if (raw) worker.postMessage({ reset: true });
  },
  /** With `raw`, floods the link to `peer`; else the engine floods `channel`. */
  sentBytes(): number {
    return sentBytes;
  },
  links(): LinkStats[] {
    return lastLinks;
  },
  /** Bytes each stripe's data channels have sent to `peer` (getStats), by stripe. */
  async stripeBytes(peer: string): Promise<number[]> {
    return Promise.all(
      connections.get(peer)!.map(async (pc) => {
        let bytes = 0;
        (await pc.getStats()).forEach((entry: { type: string; bytesSent?: number }) => {
          if (entry.type === 'data-channel') bytes += entry.bytesSent ?? 0;
        });
        return bytes;
      }),
    );
  },
  /** Closes one stripe's connection to `peer`, as a failed one would go. */
  dropStripe(peer: string, stripe: number): void {
    connections.get(peer)![stripe]!.close();
  },
  protection(protection: LossProtection): void {
    command({ type: 'loss-protection', protection });
  },
  flood(bytes: number, durationMs: number, channel = 1, peer = [...connections.keys()][0]): void {
    if (raw) worker.postMessage({ flood: { bytes, durationMs, peer } });
    else command({ type: 'bench:flood', channel, bytes, durationMs });
  },
  /** `raw` only: relay what arrives from other peers to `peer` (null: count it here). */
  relay(peer: string | null): void {
    worker.postMessage({ relay: peer });
  },
  /**
   * Chunks of `bytes` at `fps` with these data-plane flags, each stamped with its send time
   * (one clock for all tabs); every `keyEvery`-th is a key frame (by default, all). Resolves to
   * how many were sent.
   */
  stream(bytes: number, fps: number, durationMs: number, flags = 0, keyEvery = 1): Promise<number> {
    return new Promise((resolve) => {
      const end = performance.now() + durationMs;
      let sent = 0;
      const timer = setInterval(() => {
        if (performance.now() >= end) {
          clearInterval(timer);
          resolve(sent);
          return;
        }
        const payload = new Uint8Array(bytes);
        new DataView(payload.buffer).setFloat64(0, performance.timeOrigin + performance.now());
        const key = sent % keyEvery === 0 || keyframeRequested;
        keyframeRequested = false;
        command({ type: 'chunk', channel: 1, flags: key ? flags | Flags.Key : flags, payload: payload.buffer }, [payload.buffer]);
        sent++;
      }, 1000 / fps);
    });
  },
  async results() {
    if (!raw) return { ...received, latencies: [...received.latencies], arrivals: [...received.arrivals], sequences: [...received.sequences], keys: [...received.keys] };
    rawResults = undefined;
    worker.postMessage({ results: true });
    const arrived = () => rawResults; // set by the worker's reply, which flow analysis cannot see
    while (!arrived()) await new Promise((r) => setTimeout(r, 10));
    return { ...arrived()!, chunks: 0, latencies: [], arrivals: [], sequences: [], keys: [] };
  },
};

(window as unknown as { bench: typeof bench }).bench = bench;
