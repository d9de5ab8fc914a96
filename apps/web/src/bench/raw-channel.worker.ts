/**
 * The benchmark's baseline: a transferred data channel driven directly, no engine. Floods
 * with the engine's own backpressure thresholds and counts what arrives.
 */
import { HIGH_WATER_BYTES, LOW_WATER_BYTES } from '@cubecast/peer/engine';

const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };
let channel: RTCDataChannel | undefined;
const received = { bytes: 0, firstAt: 0, lastAt: 0 };

scope.onmessage = (event: MessageEvent) => {
  const data = event.data as { channel?: RTCDataChannel; flood?: { bytes: number; durationMs: number }; results?: true; reset?: true };
  if (data.channel) {
    channel = data.channel;
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = LOW_WATER_BYTES;
    channel.onopen = () => scope.postMessage({ raw: 'open' });
    channel.onmessage = (m: MessageEvent<ArrayBuffer>) => {
      const now = performance.now();
      if (received.bytes === 0) received.firstAt = now;
      received.lastAt = now;
      received.bytes += m.data.byteLength;
    };
    if (channel.readyState === 'open') scope.postMessage({ raw: 'open' });
  } else if (data.flood && channel) {
    const open = channel;
    const message = new Uint8Array(data.flood.bytes);
    const end = performance.now() + data.flood.durationMs;
    const step = () => {
      if (performance.now() > end) return;
      while (open.bufferedAmount < HIGH_WATER_BYTES) open.send(message);
    };
    open.onbufferedamountlow = step;
    step();
  } else if (data.reset) {
    Object.assign(received, { bytes: 0, firstAt: 0, lastAt: 0 });
  } else if (data.results) {
    scope.postMessage({ raw: 'results', results: { ...received } });
  }
};
