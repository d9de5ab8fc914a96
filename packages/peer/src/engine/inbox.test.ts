import { describe, expect, it } from 'vitest';
import { Inbox } from './inbox.js';

/** A clock the test moves by hand, with its timers. */
function manualClock() {
  let now = 0;
  const timers: { at: number; run: () => void; cancelled: boolean }[] = [];
  return {
    now: () => now,
    set: (run: () => void, ms: number) => {
      const timer = { at: now + ms, run, cancelled: false };
      timers.push(timer);
      return timer;
    },
    clear: (handle: unknown) => void ((handle as { cancelled: boolean }).cancelled = true),
    advance(ms: number) {
      now += ms;
      for (const timer of timers.splice(0)) {
        if (timer.cancelled) continue;
        if (timer.at <= now) timer.run();
        else timers.push(timer);
      }
    },
    pending: () => timers.filter((t) => !t.cancelled).length,
  };
}

describe('Inbox', () => {
  it('hands each message on at once without a download cap', () => {
    const clock = manualClock();
    const handled: string[] = [];
    const inbox = new Inbox(clock, (hostId) => handled.push(hostId));
    for (let i = 0; i < 100; i++) inbox.receive(`h${i % 3}`, new Uint8Array(64 * 1024), clock.now());
    expect(handled).toHaveLength(100);
  });

  it('paces to the download cap, in arrival order, and drops what waits when closed', () => {
    const clock = manualClock();
    const handled: number[] = [];
    const inbox = new Inbox(clock, (_, bytes) => handled.push(bytes[0]!));
    inbox.setRate(800); // 100 bytes per ms, a 16 KiB burst
    for (let i = 0; i < 40; i++) inbox.receive('h1', new Uint8Array(1000).fill(i), clock.now());
    expect(handled).toEqual([...Array(16).keys()]); // the burst
    clock.advance(100); // 10 KB more
    expect(handled).toEqual([...Array(26).keys()]);
    inbox.close();
    clock.advance(1000);
    expect(handled).toHaveLength(26);
    expect(clock.pending()).toBe(0);
  });

  it('keeps order: a message that could pass now waits behind those queued before it', () => {
    const clock = manualClock();
    const handled: number[] = [];
    const inbox = new Inbox(clock, (_, bytes) => handled.push(bytes.byteLength));
    inbox.setRate(800);
    inbox.receive('h1', new Uint8Array(16 * 1024), clock.now());
    inbox.receive('h1', new Uint8Array(5000), clock.now()); // waits 50 ms
    inbox.setRate(undefined);
    inbox.receive('h1', new Uint8Array(10), clock.now()); // no cap now, but behind the 5000
    expect(handled).toEqual([16 * 1024]);
    clock.advance(60);
    expect(handled).toEqual([16 * 1024, 5000, 10]);
  });
});
