import { ClosedError, pipelineVariant, PUBLISHED_VARIANT, type SubscriptionInfo } from '@cubecast/protocol';
import { describe, expect, it, vi } from 'vitest';
import type { DeliveredChunk } from './engine/types.js';
import { Subscription } from './subscription.js';

const info = { subscriptionId: 's1', channel: 'cam', subscriber: 'h1', maxLatencyMs: 50, pipeline: [], state: 'active' } as unknown as SubscriptionInfo;
const chunk = (latencyUs: number, hops: number): DeliveredChunk => ({ channel: 3, variant: 0, sequence: 1, flags: 0, hops, latencyUs, payload: new Uint8Array(1) }) as DeliveredChunk;

function subscription(pipeline = [{ spa: 'grayscale' }]) {
  const host = { requestKeyframe: vi.fn(), unsubscribe: vi.fn(async () => undefined) };
  const s = new Subscription({ channel: 'cam', maxLatencyMs: 50, pipeline }, host);
  const events: string[] = [];
  s.on('chunk:received', (c) => events.push(`chunk ${c.latencyUs}`));
  s.on('stats:updated', (st) => events.push(`stats ${st.latencyMs}/${st.hops}/${st.framesDecoded}`));
  s.on('spa:failed', (f) => events.push(`spa ${f.message}`));
  s.on('subscription:ended', ({ reason }) => events.push(`ended: ${reason}`));
  s.on('subscription:closed', () => events.push('closed'));
  return { s, host, events };
}

describe('Subscription', () => {
  it('takes the variant of its pipeline, or the one it is given (recovered chunks come as published)', () => {
    expect(subscription().s.variant).toBe(pipelineVariant([{ spa: 'grayscale' }]));
    expect(new Subscription({ channel: 'b', maxLatencyMs: 9, pipeline: [{ spa: 'coding' }], recoveredFrom: 'c', variant: PUBLISHED_VARIANT }, { requestKeyframe() {}, unsubscribe: async () => {} }).variant).toBe(PUBLISHED_VARIANT);
  });

  it('measures latency and hops from what arrives, with no player, and reports it once the server knows it', () => {
    const { s, events } = subscription();
    expect(s.report()).toBeNull(); // nothing arrived, and no server record
    s.deliver(chunk(12_000, 2));
    expect(s.report()).toBeNull(); // the server record is missing (session lost)
    s.setInfo(info);
    s.deliver(chunk(30_500, 3));
    expect(s.report()).toEqual({ subscriptionId: 's1', latencyMs: 30.5, hops: 3, framesDecoded: 0 });
    s.noteDecoded({ trueLatencyMs: 44 });
    expect(s.stats).toEqual({ chunksReceived: 2, framesDecoded: 1, latencyMs: 30.5, hops: 3, trueLatencyMs: 44 });
    expect(events).toEqual(['chunk 12000', 'chunk 30500', 'stats 30.5/3/0']);
  });

  it('keeps why its pipeline stopped', () => {
    const { s, events } = subscription();
    s.spaFailed({ subscriptionId: 's1', channel: 'cam', pipeline: ['grayscale'], host: 'h4', message: 'over budget' } as never);
    expect(s.spaError).toBe('grayscale stopped on h4: over budget');
    expect(events).toEqual(['spa over budget']);
  });

  it('asks its peer for key frames, and closes once: unsubscribing once, closed last, calls refused after', async () => {
    const { s, host, events } = subscription();
    s.requestKeyframe();
    expect(host.requestKeyframe).toHaveBeenCalledWith('cam');
    await s.close();
    await s.close();
    s.deliver(chunk(1000, 1));
    expect(host.unsubscribe).toHaveBeenCalledTimes(1);
    expect(events).toEqual(['closed']);
    expect(() => s.requestKeyframe()).toThrow(ClosedError);
    expect(() => s.noteDecoded({})).toThrow(ClosedError);
    expect(s.report()).toBeNull();
  });

  it('ended by the server: says why, then closed, without unsubscribing', () => {
    const { s, host, events } = subscription();
    s.end('cam is no longer published');
    s.end('again');
    expect(events).toEqual(['ended: cam is no longer published', 'closed']);
    expect(host.unsubscribe).not.toHaveBeenCalled();
  });
});
