import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Inbox } from './inbox.js';

// Vitest's fake timers move Date.now and setTimeout together: the inbox's clock is theirs.
const clock = { now: () => Date.now(), set: (run: () => void, ms: number) => setTimeout(run, ms), clear: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>) };

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('Inbox', () => {
  it('hands each message on at once without a download cap', () => {
    const handled: string[] = [];
    const inbox = new Inbox(clock, (hostId) => handled.push(hostId));
    for (let i = 0; i < 100; i++) inbox.receive(`h${i % 3}`, new Uint8Array(64 * 1024), clock.now());
    expect(handled).toHaveLength(100);
  });

  it('paces to the download cap, in arrival order, and drops what waits when closed', () => {
    const handled: number[] = [];
    const inbox = new Inbox(clock, (_, bytes) => handled.push(bytes[0]!));
    inbox.setRate(800); // 100 bytes per ms, a 16 KiB burst
    for (let i = 0; i < 40; i++) inbox.receive('h1', new Uint8Array(1000).fill(i), clock.now());
    expect(handled).toEqual([...Array(16).keys()]); // the burst
    vi.advanceTimersByTime(100); // 10 KB more
    expect(handled).toEqual([...Array(26).keys()]);
    inbox.close();
    vi.advanceTimersByTime(1000);
    expect(handled).toHaveLength(26);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps order: a message that could pass now waits behind those queued before it', () => {
    const handled: number[] = [];
    const inbox = new Inbox(clock, (_, bytes) => handled.push(bytes.byteLength));
    inbox.setRate(800);
    inbox.receive('h1', new Uint8Array(16 * 1024), clock.now());
    inbox.receive('h1', new Uint8Array(5000), clock.now()); // waits 50 ms
    inbox.setRate(undefined);
    inbox.receive('h1', new Uint8Array(10), clock.now()); // no cap now, but behind the 5000
    expect(handled).toEqual([16 * 1024]);
    vi.advanceTimersByTime(60);
    expect(handled).toEqual([16 * 1024, 5000, 10]);
  });
});
