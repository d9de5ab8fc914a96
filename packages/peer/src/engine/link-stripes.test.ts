import { RELIABLE_LANE, UNRETRANSMITTED_LANE } from '@cubecast/protocol';
import { describe, expect, it } from 'vitest';
import { LinkStripes, type StripeChannel } from './link-stripes.js';

const LANES = 3;

class FakeChannel implements StripeChannel {
  readyState = 'open';
  bufferedAmount = 0;
  closed = false;
  constructor(readonly name: string) {}
  send(): void {}
  close(): void {
    this.closed = true;
    this.readyState = 'closed';
  }
}

function channels(stripes: number): FakeChannel[] {
  return Array.from({ length: stripes * LANES }, (_, i) => new FakeChannel(`s${Math.floor(i / LANES)}l${i % LANES}`));
}

const names = (stripes: LinkStripes<FakeChannel>, lane: number, count: number) => Array.from({ length: count }, () => stripes.channelFor(lane).name);

describe('LinkStripes', () => {
  it('is the channels as they were with one stripe', () => {
    const stripes = new LinkStripes(channels(1), 0, LANES);
    expect(stripes.stripeCount).toBe(1);
    expect([0, 1, 2].map((lane) => stripes.channelFor(lane).name)).toEqual(['s0l0', 's0l1', 's0l2']);
  });

  it('refuses channels that are not whole stripes', () => {
    expect(() => new LinkStripes(channels(1).slice(1), 0, LANES)).toThrow(RangeError);
    expect(() => new LinkStripes([], 0, LANES)).toThrow(RangeError);
  });

  it('keeps the reliable lane on stripe 0 and takes the stripes in turn for the others', () => {
    const stripes = new LinkStripes(channels(3), 0, LANES);
    expect(RELIABLE_LANE).toBe(0);
    expect(names(stripes, RELIABLE_LANE, 3)).toEqual(['s0l0', 's0l0', 's0l0']);
    expect(names(stripes, UNRETRANSMITTED_LANE, 3)).toEqual(['s0l1', 's1l1', 's2l1']);
    expect(names(stripes, 2, 4)).toEqual(['s0l2', 's1l2', 's2l2', 's0l2']);
    expect([0, 1, 2, 3, 4, 5].map((i) => stripes.laneOf(i))).toEqual([0, 1, 2, 0, 1, 2]);
    expect([0, 2, 3, 5, 6].map((i) => stripes.stripeOf(i))).toEqual([0, 0, 1, 1, 2]);
  });

  it('skips a stripe whose channel is not open yet, and falls back to stripe 0 when none is', () => {
    const all = channels(3);
    all[LANES + 2]!.readyState = 'connecting';
    const stripes = new LinkStripes(all, 0, LANES);
    expect(names(stripes, 2, 4)).toEqual(['s0l2', 's2l2', 's0l2', 's2l2']);
    for (const channel of all) channel.readyState = 'connecting';
    expect(stripes.open).toBe(false);
    expect(names(stripes, 2, 2)).toEqual(['s0l2', 's0l2']);
  });

  it('is open once stripe 0 is, whatever the other stripes are doing', () => {
    const all = channels(2);
    for (const channel of all.slice(LANES)) channel.readyState = 'connecting';
    expect(new LinkStripes(all, 0, LANES).open).toBe(true);
    all[1]!.readyState = 'connecting';
    expect(new LinkStripes(all, 0, LANES).open).toBe(false);
  });

  it('loses the link with a channel of stripe 0, and only a stripe with a channel of another', () => {
    const all = channels(3);
    const stripes = new LinkStripes(all, 0, LANES);
    expect(stripes.channelLost(LANES + 1)).toBe(false);
    // The whole stripe goes, and is never chosen again, even if a channel of it read open.
    expect(all.slice(LANES, 2 * LANES).every((channel) => channel.closed)).toBe(true);
    all[LANES + 2]!.readyState = 'open';
    expect(names(stripes, 2, 4)).toEqual(['s0l2', 's2l2', 's0l2', 's2l2']);
    expect(stripes.channelLost(LANES + 2)).toBe(false);
    expect(stripes.channelLost(2)).toBe(true);
  });

  it('counts the backlog of the stripes still used: the reliable lane as read, the others less what never drains', () => {
    const all = channels(2);
    const stripes = new LinkStripes(all, 0, LANES);
    all[0]!.bufferedAmount = 100;
    all[LANES]!.bufferedAmount = 1000;
    // A lane that reads 47 bytes for good (an abandoned message): it counts until it has read
    // no less for two windows.
    all[1]!.bufferedAmount = 47;
    expect(stripes.bufferedAmount(0)).toBe(1147);
    expect(stripes.bufferedAmount(1000)).toBe(1147);
    expect(stripes.bufferedAmount(2000)).toBe(1100);
    all[1]!.bufferedAmount = 547;
    expect(stripes.bufferedAmount(2100)).toBe(1600);
    stripes.channelLost(LANES + 1);
    expect(stripes.bufferedAmount(2200)).toBe(600);
  });

  it('closes every channel of every stripe', () => {
    const all = channels(2);
    new LinkStripes(all, 0, LANES).close();
    expect(all.every((channel) => channel.closed)).toBe(true);
  });
});
