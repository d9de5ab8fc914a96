/**
 * The benchmark's baseline: a transferred data channel driven directly, no engine. Floods
 * with the same backpressure rule as the engine (1 MB buffered, resume at 256 KB) and counts
 * what arrives.
 */
const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };
let channel: RTCDataChannel | undefined;
const received = { bytes: 0, firstAt: 0, lastAt: 0 };

scope.onmessage = (event: MessageEvent) => {
  const data = event.data as { channel?: RTCDataChannel; flood?: { bytes: number; durationMs: number }; results?: true; reset?: true };
  if (data.channel) {
    channel = data.channel;
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = 256 * 1024;
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
      while (open.bufferedAmount < 1024 * 1024) open.send(message);
    };
    open.onbufferedamountlow = step;
    step();
  } else if (data.reset) {
    Object.assign(received, { bytes: 0, firstAt: 0, lastAt: 0 });
  } else if (data.results) {
    scope.postMessage({ raw: 'results', results: { ...received } });
  }
};
