import { describe, expect, it } from 'vitest';
import { messageHeader } from '../testing/sim-network.js';
import { Topology } from './topology.js';
import { AlgorithmHost, HOLD, MAX_HELD, type AlgorithmContext, type AlgorithmMessage, type OverlayAlgorithm } from './algorithm.js';

/** Timers the test fires by hand, in due order. */
function manualClock() {
  let now = 0;
  const due = new Map<number, { at: number; callback: () => void }>();
  let next = 0;
  return {
    now: () => now,
    set: (callback: () => void, ms: number) => {
      due.set(++next, { at: now + ms, callback });
      return next;
    },
    clear: (handle: unknown) => void due.delete(handle as number),
    advance(ms: number) {
      now += ms;
      for (;;) {
        const ready = [...due].filter(([, t]) => t.at <= now).sort((a, b) => a[1].at - b[1].at)[0];
        if (!ready) return;
        due.delete(ready[0]);
        ready[1].callback();
      }
    },
    get pending() {
      return due.size;
    },
  };
}

const context = (): Omit<AlgorithmContext, 'setTimer' | 'hasTimer' | 'release' | 'discard'> => ({
  now: () => 0,
  send: () => true,
  linkedHosts: () => [],
  topology: new Topology(() => Infinity),
  link: () => undefined,
  anchorOf: () => undefined,
  variantOf: () => undefined,
  setBranch: () => {},
  setLocal: () => {},
  accept: () => true,
  bandwidthKbps: () => undefined,
  setUpstream: () => {},
  established: () => {},
  refused: () => {},
  reportError: () => {},
});

/** An algorithm that records what it is given; `onMessage` lets a test act inside process(). */
function recorder(onMessage: (message: AlgorithmMessage, context: AlgorithmContext) => void = () => {}) {
  const seen: string[] = [];
  let ctx!: AlgorithmContext;
  const algorithm: OverlayAlgorithm = {
    name: 'recorder',
    start: (c) => void (ctx = c),
    process: (message) => {
      seen.push(message.type === 'timer' ? `timer:${message.name}` : message.type === 'link:up' ? `up:${message.hostId}` : message.type);
      onMessage(message, ctx);
    },
  };
  return { algorithm, seen, context: () => ctx };
}

describe('AlgorithmHost: the contract an algorithm runs under', () => {
  it('an algorithm that throws costs that message, reported; the next ones are processed', () => {
    const failures: unknown[] = [];
    const { algorithm, seen } = recorder((message) => {
      if (message.type === 'link:up' && message.hostId === 'bad') throw new Error('bad host');
    });
    const host = new AlgorithmHost(algorithm, manualClock(), (error) => failures.push(error));
    host.start(context());
    for (const hostId of ['a', 'bad', 'b']) host.deliver({ type: 'link:up', hostId });
    expect(seen).toEqual(['up:a', 'up:bad', 'up:b']);
    expect(failures).toEqual([new Error('bad host')]);
  });

  it('never runs process() inside itself: a message delivered while it runs waits for it to return', () => {
    let inside = false;
    let overlapped = false;
    let host!: AlgorithmHost;
    const { algorithm, seen } = recorder((message) => {
      overlapped ||= inside;
      inside = true;
      // A call into the engine that makes it deliver another message at once.
      if (message.type === 'link:up' && message.hostId === 'a') host.deliver({ type: 'link:up', hostId: 'nested' });
      inside = false;
    });
    host = new AlgorithmHost(algorithm, manualClock(), (error) => {
      throw error;
    });
    host.start(context());
    host.deliver({ type: 'link:up', hostId: 'a' });
    host.deliver({ type: 'link:up', hostId: 'b' });
    expect(seen).toEqual(['up:a', 'up:nested', 'up:b']);
    expect(overlapped).toBe(false);
  });

  it('delivers named timers as messages; setting a name again moves it; after close, nothing more', () => {
    const clock = manualClock();
    const { algorithm, seen, context: ctx } = recorder();
    const host = new AlgorithmHost(algorithm, clock, (error) => {
      throw error;
    });
    host.start(context());
    ctx().setTimer('refresh', 10);
    ctx().setTimer('soon', 5);
    ctx().setTimer('soon', 20);
    expect(ctx().hasTimer('soon')).toBe(true);
    clock.advance(10);
    expect(seen).toEqual(['timer:refresh']);
    expect(ctx().hasTimer('refresh')).toBe(false);
    clock.advance(10);
    expect(seen).toEqual(['timer:refresh', 'timer:soon']);
    ctx().setTimer('late', 5);
    host.close();
    expect(clock.pending).toBe(0);
    host.deliver({ type: 'link:up', hostId: 'a' });
    ctx().setTimer('after', 1);
    clock.advance(10);
    expect(seen).toEqual(['timer:refresh', 'timer:soon']);
  });

  it('an algorithm whose start throws is reported, and the host goes on', () => {
    const failures: unknown[] = [];
    const host = new AlgorithmHost(
      {
        name: 'broken',
        start: () => {
          throw new Error('no start');
        },
        process: () => {},
      },
      manualClock(),
      (error) => failures.push(error),
    );
    host.start(context());
    host.deliver({ type: 'link:up', hostId: 'a' });
    expect(failures).toEqual([new Error('no start')]);
  });

  describe('hold (n-to-m processing)', () => {
    const data = (sequence: number): AlgorithmMessage => ({ type: 'data', from: 'a', header: messageHeader({ channel: 1, sequence }), payload: new Uint8Array([sequence]) });

    /** Holds every data message; records what went on (the engine's switching) and what expired. */
    function holding(holdMs?: number) {
      const clock = manualClock();
      const wentOn: number[] = [];
      const expired: number[] = [];
      const { algorithm, context: ctx } = recorder((message) => {
        if (message.type === 'hold:expired') expired.push(message.header.sequence);
      });
      const host = new AlgorithmHost(
        { ...algorithm, ...(holdMs !== undefined && { holdMs }), process: (message) => (algorithm.process(message), message.type === 'data' ? HOLD : undefined) },
        clock,
        (error) => {
          throw error;
        },
      );
      host.start(context());
      const offer = (sequence: number) => host.deliver(data(sequence), () => wentOn.push(sequence));
      return { clock, host, ctx, wentOn, expired, offer };
    }

    it('a held message goes on only when released, once; one discarded never does', () => {
      const { host, ctx, wentOn, expired, offer } = holding();
      offer(1);
      offer(2);
      expect(wentOn).toEqual([]);
      expect(host.heldCount).toBe(2);
      expect(ctx().release(messageHeader({ channel: 1, sequence: 2 }))).toBe(true);
      expect(wentOn).toEqual([2]);
      expect(ctx().release(messageHeader({ channel: 1, sequence: 2 }))).toBe(false);
      expect(ctx().discard(messageHeader({ channel: 1, sequence: 1 }))).toBe(true);
      expect(ctx().release(messageHeader({ channel: 1, sequence: 1 }))).toBe(false);
      expect(wentOn).toEqual([2]);
      expect(host.heldCount).toBe(0);
      expect(expired).toEqual([]);
    });

    it('a message not released within holdMs expires: dropped, and the algorithm told; the rest wait their own time', () => {
      const { clock, ctx, wentOn, expired, offer } = holding(100);
      offer(1);
      clock.advance(60);
      offer(2);
      clock.advance(39);
      expect(expired).toEqual([]);
      clock.advance(1);
      expect(expired).toEqual([1]);
      expect(ctx().release(messageHeader({ channel: 1, sequence: 1 }))).toBe(false);
      clock.advance(59);
      expect(expired).toEqual([1]);
      clock.advance(1);
      expect(expired).toEqual([1, 2]);
      expect(wentOn).toEqual([]);
      expect(clock.pending).toBe(0);
    });

    it(`at most ${MAX_HELD} are held: one more expires the oldest at once`, () => {
      const { host, expired, offer } = holding();
      for (let i = 0; i <= MAX_HELD; i++) offer(i);
      expect(host.heldCount).toBe(MAX_HELD);
      expect(expired).toEqual([0]);
    });

    it('a message the algorithm does not hold, or throws on, goes on at once; after close nothing held goes on', () => {
      const clock = manualClock();
      const wentOn: number[] = [];
      const failures: unknown[] = [];
      const host = new AlgorithmHost(
        {
          name: 'picky',
          start: () => {},
          process: (message) => {
            if (message.type !== 'data') return undefined;
            if (message.header.sequence === 2) throw new Error('bad data');
            return message.header.sequence === 3 ? HOLD : undefined;
          },
        },
        clock,
        (error) => failures.push(error),
      );
      host.start(context());
      for (const sequence of [1, 2, 3]) host.deliver(data(sequence), () => wentOn.push(sequence));
      expect(wentOn).toEqual([1, 2]);
      expect(failures).toEqual([new Error('bad data')]);
      expect(host.heldCount).toBe(1);
      host.close();
      expect(host.heldCount).toBe(0);
      clock.advance(5000);
      expect(wentOn).toEqual([1, 2]);
      expect(clock.pending).toBe(0);
    });
  });
});
