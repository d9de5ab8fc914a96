import { afterEach, describe, expect, it, vi } from 'vitest';
import { TypedEmitter } from './typed-emitter.js';

class Thing extends TypedEmitter<{ 'thing:changed': number; 'thing:closed': undefined }> {
  change(n: number) {
    this.emit('thing:changed', n);
  }
  close() {
    this.emit('thing:closed', undefined);
    this.removeAllListeners();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('TypedEmitter', () => {
  it('calls listeners in order with the payload; the function on() returns stops one', () => {
    const thing = new Thing();
    const seen: string[] = [];
    const off = thing.on('thing:changed', (n) => seen.push(`a${n}`));
    thing.on('thing:changed', (n) => seen.push(`b${n}`));
    thing.change(1);
    off();
    thing.change(2);
    expect(seen).toEqual(['a1', 'b1', 'b2']);
  });

  it('once listens for the next event only, and can be cancelled first', () => {
    const thing = new Thing();
    const seen: number[] = [];
    thing.once('thing:changed', (n) => seen.push(n));
    const cancel = thing.once('thing:changed', (n) => seen.push(100 + n));
    cancel();
    thing.change(1);
    thing.change(2);
    expect(seen).toEqual([1]);
  });

  it('a listener that throws costs only itself: the others run, emit returns, the error is reported', () => {
    const reported: unknown[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void reported.push(args[1]));
    const thing = new Thing();
    const seen: number[] = [];
    thing.on('thing:changed', () => {
      throw new Error('listener bug');
    });
    thing.on('thing:changed', (n) => seen.push(n));
    expect(() => thing.change(7)).not.toThrow();
    expect(seen).toEqual([7]);
    expect(reported).toEqual([new Error('listener bug')]);
  });

  it('forgets every listener when its owner closes', () => {
    const thing = new Thing();
    const seen: string[] = [];
    thing.on('thing:closed', () => seen.push('closed'));
    thing.on('thing:changed', () => seen.push('changed'));
    thing.close();
    thing.change(1);
    expect(seen).toEqual(['closed']);
  });
});
