import type { ChannelInfo } from '@cubecast/protocol';
import { describe, expect, it } from 'vitest';
import { EngineProxy, type EngineWorker } from './engine-proxy.js';
import type { DeliveredChunk } from './engine/types.js';
import type { EngineCommand, EngineReport } from './engine/worker-protocol.js';

function fakeWorker() {
  const posted: { command: EngineCommand; transfer: Transferable[] }[] = [];
  const worker: EngineWorker = { postMessage: (command, transfer) => posted.push({ command, transfer }), onmessage: null, onerror: null };
  const report = (message: EngineReport) => worker.onmessage!({ data: message } as MessageEvent<EngineReport>);
  const commands = () => posted.map((p) => p.command);
  return { worker, posted, report, commands };
}

const info = (id: number, name: string, anchor = 0): ChannelInfo => ({ id, name, kind: 'video', publisher: 'h0', anchor, codec: { codec: 'vp8' } }) as ChannelInfo;
const chunk = (channel: number): DeliveredChunk => ({ channel, variant: 0, sequence: 1, flags: 0, hops: 2, latencyUs: 3000, payload: new Uint8Array([1]) }) as DeliveredChunk;

describe('EngineProxy', () => {
  it('keeps the directory by name and id, and tells the engine only when the set of ids changes', () => {
    const { worker, commands } = fakeWorker();
    const proxy = new EngineProxy(worker);
    proxy.replaceChannels([info(1, 'a'), info(2, 'b')]);
    proxy.putChannel(info(2, 'b', 5)); // the anchor moved: same id
    proxy.putChannel(info(9, 'b')); // published again under a new id
    proxy.putChannel(info(3, 'c'));
    expect(proxy.removeChannel('a')).toEqual(info(1, 'a'));
    expect(proxy.removeChannel('a')).toBeUndefined();
    expect(commands()).toEqual([
      { type: 'channels', ids: [1, 2] },
      { type: 'channels', ids: [1, 9] },
      { type: 'channels', ids: [1, 9, 3] },
      { type: 'channels', ids: [9, 3] },
    ]);
    expect(proxy.channel('b')).toEqual(info(9, 'b'));
    expect(proxy.channels().map((c) => c.name)).toEqual(['b', 'c']);
  });

  it('names channels in reports by their current id, and drops what concerns an unknown one', () => {
    const { worker, report } = fakeWorker();
    const proxy = new EngineProxy(worker);
    proxy.replaceChannels([info(1, 'a')]);
    proxy.putChannel(info(4, 'a')); // id 1 is gone now
    const seen: unknown[] = [];
    proxy.on('chunk:delivered', ({ channel, chunk }) => seen.push(['chunk', channel.name, chunk.channel]));
    proxy.on('keyframe:requested', ({ channel }) => seen.push(['keyframe', channel.name]));
    proxy.on('spa:died', (died) => seen.push(['died', died.channel]));
    report({ type: 'chunk', chunk: chunk(1) });
    report({ type: 'chunk', chunk: chunk(4) });
    report({ type: 'keyframe:request', channel: 1 });
    report({ type: 'keyframe:request', channel: 4 });
    report({ type: 'spa:died', channel: 4, variant: 3, pipeline: ['thin'], message: 'budget' });
    report({
      type: 'stats',
      links: [],
      malformed: 2,
      duplicates: 3,
      forwarding: [{ channel: 4, to: ['h2'] }, { channel: 1, to: ['h3'] }],
      spas: [{ channel: 4, variant: 3, pipeline: ['thin'], state: 'running', stages: [{ name: 'thin', chunksIn: 5, meanMicros: 7, errors: 0, chunksOut: 5 }], error: 'x'.repeat(400) } as never],
    });
    expect(seen).toEqual([['chunk', 'a', 4], ['keyframe', 'a'], ['died', 'a']]);
    expect(proxy.stats.relaying).toEqual([{ channel: 'a', to: ['h2'] }]);
    expect(proxy.stats.counters).toEqual({ malformed: 2, duplicates: 3 });
    expect(proxy.stats.spas).toEqual([{ channel: 'a', variant: 3, pipeline: ['thin'], state: 'running', stages: [{ name: 'thin', chunksIn: 5, meanMicros: 7, errors: 0 }], error: 'x'.repeat(300) }]);
  });

  it('turns names into ids for commands, ignoring channels not in the directory', () => {
    const { worker, commands } = fakeWorker();
    const proxy = new EngineProxy(worker);
    proxy.replaceChannels([info(1, 'a', 6), info(2, 'b'), info(3, 'c')]);
    expect(proxy.subscribe('a')).toBe(true);
    expect(proxy.subscribe('zz')).toBe(false);
    proxy.unsubscribe('zz');
    proxy.requestKeyframe('b');
    proxy.requestRoute({ subscriptionId: 's1', channel: 'c', target: 5, maxLatencyMs: 100, pipeline: [], policy: 'greedy' } as never);
    proxy.requestRoute({ subscriptionId: 's2', channel: 'zz', target: 5, maxLatencyMs: 100, pipeline: [], policy: 'greedy' } as never);
    expect(proxy.startCoding('c', { role: 'encode', inputs: ['a', 'b'], output: 'c' })).toBe(true);
    expect(proxy.startCoding('b', { role: 'decode', plain: 'a', plainIs: 0, coded: 'c', recovered: 'b' })).toBe(true);
    expect(proxy.startCoding('x', { role: 'encode', inputs: ['a', 'zz'], output: 'c' })).toBe(false);
    expect(commands().slice(1)).toEqual([
      { type: 'subscribe', channel: 1 },
      { type: 'keyframe', channel: 2 },
      { type: 'route:request', route: { subscriptionId: 's1', channel: 3, target: 5, maxLatencyMs: 100, pipeline: [], policy: 'greedy' } },
      { type: 'coding:start', id: 'c', session: { role: 'encode', inputs: [1, 2], output: 3 } },
      { type: 'coding:start', id: 'b', session: { role: 'decode', plain: 1, plainIs: 0, coded: 3, recovered: 2 } },
    ]);
  });

  it('transfers data channels and payloads instead of copying them, and copies raw bytes first', () => {
    const { worker, posted } = fakeWorker();
    const proxy = new EngineProxy(worker);
    const channels = ['cubecast', 'cubecast-timely-0'].map((label) => ({ label }) as unknown as RTCDataChannel);
    const payload = new ArrayBuffer(8);
    const raw = new Uint8Array([1, 2, 3]);
    proxy.addLink('h2', channels);
    proxy.sendChunk(info(1, 'a'), 4, payload);
    proxy.sendRaw('h2', raw);
    proxy.removeLink('h2');
    const stripe = ['cubecast', 'cubecast-timely-0'].map((label) => ({ label }) as unknown as RTCDataChannel);
    proxy.addStripe('h2', stripe);
    expect(posted[0]!.transfer).toEqual(channels);
    expect(posted[4]).toEqual({ command: { type: 'link:stripe', hostId: 'h2', channels: stripe }, transfer: stripe });
    expect(posted[1]!.transfer[0]).toBe(payload);
    const sent = posted[2]!;
    expect(sent.transfer[0]).toBe((sent.command as { bytes: ArrayBuffer }).bytes);
    expect(sent.transfer[0]).not.toBe(raw.buffer);
    expect(new Uint8Array(sent.transfer[0] as ArrayBuffer)).toEqual(raw);
    expect(posted[3]).toEqual({ command: { type: 'link:remove', hostId: 'h2' }, transfer: [] });
  });

  it('reports a worker that failed to load, and after close stops the engine once and posts nothing more', () => {
    const { worker, commands } = fakeWorker();
    const proxy = new EngineProxy(worker);
    const errors: string[] = [];
    let closed = 0;
    proxy.on('engine:error', ({ message }) => errors.push(message));
    proxy.on('engine:closed', () => closed++);
    worker.onerror!({ message: 'SyntaxError' } as ErrorEvent);
    proxy.close();
    proxy.close();
    proxy.subscribe('a');
    proxy.setEmulation({ upKbps: 5 });
    expect(errors).toEqual(['engine worker failed: SyntaxError']);
    expect(closed).toBe(1);
    expect(proxy.closed).toBe(true);
    expect(commands()).toEqual([{ type: 'close' }]);
  });
});
