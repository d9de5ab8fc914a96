// A postMessage stage of the SPA bench: receives a chunk on one port, runs the forward SPA,
// posts the output on the next port (copied by structured clone, or transferred).
import { forwardInstance } from './forward-instance.js';

declare const self: { onmessage: ((event: MessageEvent) => void) | null; postMessage(message: 'ready'): void };

self.onmessage = async (event: MessageEvent<{ input: MessagePort; output: MessagePort; url: string; bytes: number; transfer: boolean }>) => {
  const { input, output, url, bytes, transfer } = event.data;
  const forward = await forwardInstance(url, bytes);
  input.onmessage = (message: MessageEvent<Uint8Array>) => {
    const out = forward(message.data);
    output.postMessage(out, transfer ? [out.buffer] : []);
  };
  self.postMessage('ready');
};
