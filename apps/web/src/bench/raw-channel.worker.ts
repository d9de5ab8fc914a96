/**
 * The benchmark's baselines: transferred data channels driven directly, no engine. Floods with
 * the engine's own backpressure thresholds and counts what arrives; as a bare relay, sends on
 * whatever arrives from the other side with the same thresholds. What a relay costs here is
 * what Chromium's data channels cost, with no switching logic at all.
 */
import { HIGH_WATER_BYTES, LOW_WATER_BYTES } from '@cubecast/peer/engine';

type Command =
  | { channel: RTCDataChannel; peer: string }
  | { flood: { bytes: number; durationMs: number; peer: string } }
  | { relay: string | null }
  | { results: true }
  | { reset: true };

const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };
const channels = new Map<string, RTCDataChannel>();
const received = { bytes: 0, firstAt: 0, lastAt: 0 };
/** Where messages from other peers are relayed to; counted here when null. */
let relayTo: string | null = null;
const relayQueue: ArrayBuffer[] = [];

function pumpRelay(): void {
  const out = relayTo === null ? undefined : channels.get(relayTo);
  if (!out) return;
  while (relayQueue.length > 0 && out.bufferedAmount < HIGH_WATER_BYTES) out.send(relayQueue.shift()!);
}

function add(channel: RTCDataChannel, peer: string): void {
  channels.set(peer, channel);
  channel.binaryType = 'arraybuffer';
  channel.bufferedAmountLowThreshold = LOW_WATER_BYTES;
  channel.onopen = () => scope.postMessage({ raw: 'open', peer });
  channel.onbufferedamountlow = () => (peer === relayTo ? pumpRelay() : undefined);
  channel.onmessage = (m: MessageEvent<ArrayBuffer>) => {
    if (relayTo !== null && peer !== relayTo) {
      relayQueue.push(m.data);
      pumpRelay();
      return;
    }
    const now = performance.now();
    if (received.bytes === 0) received.firstAt = now;
    received.lastAt = now;
    received.bytes += m.data.byteLength;
  };
  if (channel.readyState === 'open') scope.postMessage({ raw: 'open', peer });
}

function flood(bytes: number, durationMs: number, peer: string): void {
  const open = channels.get(peer);
  if (!open) return;
  const message = new Uint8Array(bytes);
  const end = performance.now() + durationMs;
  const step = () => {
    if (performance.now() > end) return;
    while (open.bufferedAmount < HIGH_WATER_BYTES) open.send(message);
  };
  open.onbufferedamountlow = step;
  step();
}

scope.onmessage = (event: MessageEvent<Command>) => {
  const data = event.data;
  if ('channel' in data) add(data.channel, data.peer);
  else if ('flood' in data) flood(data.flood.bytes, data.flood.durationMs, data.flood.peer);
  else if ('relay' in data) relayTo = data.relay;
  else if ('reset' in data) Object.assign(received, { bytes: 0, firstAt: 0, lastAt: 0 });
  else scope.postMessage({ raw: 'results', results: { ...received } });
};
