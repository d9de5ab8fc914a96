import { ALGORITHMS } from '../algorithms/index.js';
import { SwitchingEngine } from './switching-engine.js';
import { LOW_WATER_BYTES } from './link.js';
import { LinkStripes, type Stripe } from './link-stripes.js';
import { reportTransfer, type EngineCommand, type EngineReport } from './worker-protocol.js';
import { browserPipelineFactory, spaModuleSource, type SpaModuleSource, type SpaResources } from '../spa/browser-pipelines.js';
import { CodingSession, type CodingRole } from '../spa/coding-session.js';

/**
 * The data plane's home: a dedicated worker holding every data channel (transferred here as
 * they are created) and the switching engine, so forwarding never waits on the page's UI work.
 */
// Typed by hand: the WebWorker library cannot share a compilation with the DOM one.
const scope = self as unknown as {
  postMessage(message: EngineReport, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<EngineCommand>) => void) | null;
  close(): void;
};

const report = (message: EngineReport) => scope.postMessage(message, reportTransfer(message));

let resources: SpaResources | undefined;
let modules: SpaModuleSource | undefined;
let createPipeline: ReturnType<typeof browserPipelineFactory> | undefined;
const codingSessions = new Map<string, CodingSession>();

const engine = new SwitchingEngine({
  now: () => performance.now(),
  setTimer: (callback, ms) => setTimeout(callback, ms),
  clearTimer: (handle) => clearTimeout(handle as number),
  emit: (event) => {
    if (event.type === 'chunk') {
      // Coding sessions copy what they need before the payload is handed to the page.
      for (const session of codingSessions.values()) session.offer(event.chunk);
    }
    report(event);
  },
  createPipeline: (pipeline, options) => (createPipeline ? createPipeline(pipeline, options) : Promise.reject(new Error('this host was given no SPA modules'))),
});

/** Each host's current link: a replaced link's late events must not touch its successor. */
const links = new Map<string, LinkStripes<RTCDataChannel>>();

/**
 * The engine's link over a host's channels (LinkStripes): its own stripe now, any more later
 * (`link:stripe`, a lossy link widened).
 */
function attach(hostId: string, channels: RTCDataChannel[]): void {
  const stripes = new LinkStripes<RTCDataChannel>();
  // First: it refuses channels that are not one per lane, and the engine gets no link then.
  const own = stripes.add(channels, performance.now());
  links.set(hostId, stripes);
  engine.addLink(hostId, {
    send: (bytes, lane) => stripes.channelFor(lane, performance.now()).send(bytes as Uint8Array<ArrayBuffer>),
    get bufferedAmount() {
      return stripes.bufferedAmount(performance.now());
    },
    close: () => stripes.close(),
  });
  wire(hostId, stripes, own);
  // Open once every lane of its own stripe is: the first ping goes on lane 1, and a ping lost
  // to a lane not yet open would leave the link without an RTT (and headers without its
  // latency) for a second. Later stripes are taken as their channels open (channelFor).
  const opened = () => {
    if (links.get(hostId) === stripes && stripes.open) engine.linkOpened(hostId);
  };
  for (const channel of channels) channel.onopen = opened;
  opened();
}

/**
 * A stripe's channel events, for the link: a close or error of one of its own stripe's closes
 * the link, of a later stripe's drops that stripe; whatever arrives on any goes in.
 */
function wire(hostId: string, stripes: LinkStripes<RTCDataChannel>, stripe: Stripe<RTCDataChannel>): void {
  const current = () => links.get(hostId) === stripes;
  const { channels } = stripe;
  const lost = (why: string) => current() && stripes.lost(stripe) && engine.linkClosed(hostId, why);
  for (const [lane, channel] of channels.entries()) {
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = LOW_WATER_BYTES / channels.length;
    channel.onclose = () => lost(`data channel ${channel.label} closed`);
    channel.onerror = () => lost(`data channel ${channel.label} error`);
    channel.onbufferedamountlow = () => current() && engine.bufferLow(hostId);
    channel.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
      if (!current()) return;
      // Text frames are not Cubecast's: hand them to the decoder as bytes, which refuses them.
      const data = typeof event.data === 'string' ? new TextEncoder().encode(event.data) : new Uint8Array(event.data);
      engine.receive(hostId, data, lane);
    };
  }
}

/** A lossy link's new stripe; one for a link already gone (or replaced) closes at once. */
function widen(hostId: string, channels: RTCDataChannel[]): void {
  const stripes = links.get(hostId);
  if (!stripes) {
    for (const channel of channels) channel.close();
    return;
  }
  wire(hostId, stripes, stripes.add(channels, performance.now()));
}

/** Keeps about 2 MB in flight toward the next hops: as fast as the links take it, no faster. */
function flood(channel: number, bytes: number, durationMs: number): void {
  const payload = new Uint8Array(bytes);
  const end = performance.now() + durationMs;
  const step = () => {
    if (performance.now() >= end) return;
    let sent = 0;
    while (engine.backlogBytes(channel) < 2 * 1024 * 1024 && sent++ < 64) engine.sendChunk(channel, 0, payload);
    setTimeout(step, 1);
  };
  step();
}

async function startCoding(id: string, role: CodingRole): Promise<void> {
  const failed = (message: string) => {
    codingSessions.get(id)?.close();
    codingSessions.delete(id);
    report({ type: 'coding:failed', id, message });
  };
  if (!resources || !modules) return failed('this host was given no SPA modules');
  try {
    const session = await CodingSession.start(role, resources, modules, {
      publish: (channel, flags, payload) => {
        try {
          engine.sendChunk(channel, flags, payload);
        } catch (error) {
          failed(error instanceof Error ? error.message : String(error)); // unpublished under it
        }
      },
      deliver: (chunk) => report({ type: 'chunk', chunk }),
      failed,
    });
    codingSessions.get(id)?.close();
    codingSessions.set(id, session);
  } catch (error) {
    failed(error instanceof Error ? error.message : String(error));
  }
}

scope.onmessage = (event) => {
  const command = event.data;
  try {
    switch (command.type) {
      case 'view':
        return engine.setView(command.view);
      case 'emulation':
        return engine.setEmulation(command.emulation);
      case 'spa:resources':
        resources = command.resources;
        modules = spaModuleSource(command.resources);
        createPipeline = browserPipelineFactory(command.resources, modules);
        return;
      case 'coding:start':
        return void startCoding(command.id, command.session);
      case 'coding:stop':
        codingSessions.get(command.id)?.close();
        codingSessions.delete(command.id);
        return;
      case 'link:add':
        return attach(command.hostId, command.channels);
      case 'link:stripe':
        return widen(command.hostId, command.channels);
      case 'link:remove':
        links.delete(command.hostId);
        return engine.removeLink(command.hostId);
      case 'publish':
        return engine.publish(command.channel, command.anchor);
      case 'unpublish':
        return engine.unpublish(command.channel);
      case 'chunk':
        engine.sendChunk(command.channel, command.flags, new Uint8Array(command.payload));
        return;
      case 'algorithm': {
        // A server newer than this app may name one it does not have: say so, keep routing.
        const factory = Object.hasOwn(ALGORITHMS, command.name) ? ALGORITHMS[command.name] : undefined;
        if (!factory) throw new Error(`the room runs the overlay algorithm "${command.name}", which this app does not have`);
        return engine.useAlgorithm(factory);
      }
      case 'algorithm:control':
        return engine.controlAlgorithm(command.a, command.b);
      case 'route:request':
        return engine.requestRoute(command.route);
      case 'route:cancel':
        return engine.cancelRoute(command.subscriptionId);
      case 'subscribe':
        return engine.subscribe(command.channel);
      case 'unsubscribe':
        return engine.unsubscribe(command.channel);
      case 'channels':
        return engine.setChannels(command.ids);
      case 'keyframe':
        return engine.requestKeyframe(command.channel);
      case 'loss-protection':
        return engine.setLossProtection(command.protection);
      case 'raw':
        return engine.sendRaw(command.hostId, new Uint8Array(command.bytes));
      case 'bench:flood':
        return flood(command.channel, command.bytes, command.durationMs);
      case 'close':
        engine.close();
        scope.close();
        return;
    }
  } catch (error) {
    report({ type: 'engine:error', message: error instanceof Error ? error.message : String(error) });
  }
};
