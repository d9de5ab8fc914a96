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

function stripe(index: number): FakeChannel[] {
  return Array.from({ length: LANES }, (_, lane) => new FakeChannel(`s${index}l${lane}`));
}

/** A link of `count` stripes, and each stripe's channels and handle. */
function link(count: number) {
  const stripes = new LinkStripes<FakeChannel>(LANES);
  const made = Array.from({ length: count }, (_, index) => {
    const channels = stripe(index);
    return { channels, handle: stripes.add(channels, 0) };
  });
  return { stripes, made };
}

const names = (stripes: LinkStripes<FakeChannel>, lane: number, count: number) => Array.from({ length: count }, () => stripes.channelFor(lane, 0).name);

describe('LinkStripes', () => {
  it('is the channels as they were with one stripe', () => {
    const { stripes } = link(1);
    expect([0, 1, 2].map((lane) => stripes.channelFor(lane, 0).name)).toEqual(['s0l0', 's0l1', 's0l2']);
  });

  it('refuses a stripe that is not one channel per lane', () => {
    const stripes = new LinkStripes<FakeChannel>(LANES);
    expect(() => stripes.add(stripe(0).slice(1), 0)).toThrow(RangeError);
    expect(() => stripes.add([...stripe(0), ...stripe(1)], 0)).toThrow(RangeError);
    expect(stripes.open).toBe(false);
    // Nothing of the refused ones stays: the first taken is the link's own.
    stripes.add(stripe(5), 0);
    expect(stripes.open).toBe(true);
    expect(names(stripes, 2, 2)).toEqual(['s5l2', 's5l2']);
  });

  it('keeps the reliable lane on the first stripe and takes the stripes in turn for the others', () => {
    const { stripes } = link(3);
    expect(RELIABLE_LANE).toBe(0);
    expect(names(stripes, RELIABLE_LANE, 3)).toEqual(['s0l0', 's0l0', 's0l0']);
    expect(names(stripes, UNRETRANSMITTED_LANE, 3)).toEqual(['s0l1', 's1l1', 's2l1']);
    expect(names(stripes, 2, 4)).toEqual(['s0l2', 's1l2', 's2l2', 's0l2']);
  });

  it('takes a stripe added to a link in use into the turn', () => {
    const { stripes } = link(1);
    expect(names(stripes, 2, 2)).toEqual(['s0l2', 's0l2']);
    stripes.add(stripe(1), 0);
    // Control stays on the link's own stripe.
    expect(names(stripes, RELIABLE_LANE, 2)).toEqual(['s0l0', 's0l0']);
    expect(new Set(names(stripes, 2, 4))).toEqual(new Set(['s0l2', 's1l2']));
  });

  it('skips a stripe whose channel is not open yet, and falls back to the first when none is', () => {
    const { stripes, made } = link(3);
    made[1]!.channels[2]!.readyState = 'connecting';
    expect(names(stripes, 2, 4)).toEqual(['s0l2', 's2l2', 's0l2', 's2l2']);
    for (const { channels } of made) for (const channel of channels) channel.readyState = 'connecting';
    expect(stripes.open).toBe(false);
    expect(names(stripes, 2, 2)).toEqual(['s0l2', 's0l2']);
  });

  it('is open once the first stripe is, whatever the others are doing', () => {
    const { stripes, made } = link(2);
    for (const channel of made[1]!.channels) channel.readyState = 'connecting';
    expect(stripes.open).toBe(true);
    made[0]!.channels[1]!.readyState = 'connecting';
    expect(stripes.open).toBe(false);
  });

  it('loses the link with its first stripe, and only a stripe with another', () => {
    const { stripes, made } = link(3);
    expect(stripes.lost(made[1]!.handle)).toBe(false);
    // The whole stripe goes, and is never chosen again, even if a channel of it read open.
    expect(made[1]!.channels.every((channel) => channel.closed)).toBe(true);
    made[1]!.channels[2]!.readyState = 'open';
    expect(names(stripes, 2, 4)).toEqual(['s0l2', 's2l2', 's0l2', 's2l2']);
    // Its other channels' close events come after: nothing more to drop.
    expect(stripes.lost(made[1]!.handle)).toBe(false);
    expect(names(stripes, 2, 2)).toEqual(['s0l2', 's2l2']);
    expect(stripes.lost(made[0]!.handle)).toBe(true);
  });

  it('passes over a stripe whose timely lanes back up, until they drain', () => {
    const { stripes, made } = link(3);
    made[1]!.channels[UNRETRANSMITTED_LANE]!.bufferedAmount = 5000;
    expect(names(stripes, 2, 4)).toEqual(['s0l2', 's2l2', 's0l2', 's2l2']);
    // The least backed up wins, whichever lane holds it.
    made[0]!.channels[2]!.bufferedAmount = 6000;
    expect(names(stripes, 2, 2)).toEqual(['s2l2', 's2l2']);
    made[2]!.channels[1]!.bufferedAmount = 7000;
    expect(names(stripes, 2, 1)).toEqual(['s1l2']);
    // The reliable lane's backlog is not the timely lanes' to weigh.
    made[1]!.channels[1]!.bufferedAmount = 0;
    made[1]!.channels[0]!.bufferedAmount = 9000;
    expect(names(stripes, 2, 1)).toEqual(['s1l2']);
  });

  it('spreads a burst over the stripes as each backs up by what it was given', () => {
    const { stripes } = link(3);
    const sent = Array.from({ length: 6 }, () => {
      const channel = stripes.channelFor(2, 0);
      channel.bufferedAmount += 1000;
      return channel.name;
    });
    expect(sent).toEqual(['s0l2', 's1l2', 's2l2', 's0l2', 's1l2', 's2l2']);
  });

  it("counts the reliable lanes' backlog as read, and the timely lanes' as if every open stripe held what the clearest does", () => {
    const { stripes, made } = link(2);
    made[0]!.channels[0]!.bufferedAmount = 100;
    made[1]!.channels[0]!.bufferedAmount = 1000;
    made[0]!.channels[2]!.bufferedAmount = 300;
    made[1]!.channels[1]!.bufferedAmount = 200;
    made[1]!.channels[2]!.bufferedAmount = 400;
    expect(stripes.bufferedAmount(0)).toBe(1100 + 2 * 300);
    // A stripe not open yet is no measure of what the link can take: the sum, then.
    made[0]!.channels[1]!.readyState = 'connecting';
    made[1]!.channels[1]!.readyState = 'connecting';
    expect(stripes.bufferedAmount(0)).toBe(1100 + 300 + 600);
    made[0]!.channels[1]!.readyState = 'open';
    made[1]!.channels[1]!.readyState = 'open';
    // A lane that reads 47 bytes for good (an abandoned message) counts until it has read no
    // less for two windows.
    made[1]!.channels[1]!.bufferedAmount = 0;
    made[1]!.channels[2]!.bufferedAmount = 0;
    made[0]!.channels[2]!.bufferedAmount = 0;
    const single = link(1);
    single.made[0]!.channels[1]!.bufferedAmount = 47;
    expect(single.stripes.bufferedAmount(0)).toBe(47);
    expect(single.stripes.bufferedAmount(1000)).toBe(47);
    expect(single.stripes.bufferedAmount(2000)).toBe(0);
    // A dropped stripe's backlog no longer counts.
    expect(stripes.bufferedAmount(0)).toBe(1100);
    stripes.lost(made[1]!.handle);
    expect(stripes.bufferedAmount(0)).toBe(100);
  });

  it('closes every channel of every stripe', () => {
    const { stripes, made } = link(2);
    stripes.close();
    expect(made.every(({ channels }) => channels.every((channel) => channel.closed))).toBe(true);
  });
});
