import { ClosedError, type ChannelInfo, type ChannelPublish } from '@cubecast/protocol';
import { describe, expect, it, vi } from 'vitest';
import { LocalPublication } from './local-publication.js';

const request: ChannelPublish = { name: 'cam', kind: 'sensor', codec: { codec: 'f32', rateHz: 20, fields: ['value'], unit: 'units' } } as ChannelPublish;
const channel = (id: number) => ({ id, name: 'cam', kind: 'sensor', publisher: 'h1', anchor: 0, codec: request.codec }) as ChannelInfo;

function publication() {
  const sent: [number, number, number][] = [];
  const unpublish = vi.fn(async () => undefined);
  const p = new LocalPublication(request, channel(3), { sendChunk: (info, flags, payload) => sent.push([info.id, flags, payload.byteLength]), unpublish });
  const events: string[] = [];
  p.on('keyframe:requested', () => events.push('keyframe'));
  p.on('stats:updated', (s) => events.push(`stats ${s.framesEncoded}/${s.bytesSent}`));
  p.on('publication:ended', ({ reason }) => events.push(`ended: ${reason}`));
  p.on('publication:closed', () => events.push('closed'));
  return { p, sent, unpublish, events };
}

describe('LocalPublication', () => {
  it('sends into the channel under its current id, drops while the session is lost, and counts what it sent', () => {
    const { p, sent, events } = publication();
    p.sendChunk(1, new ArrayBuffer(10));
    p.setChannel(null);
    p.sendChunk(1, new ArrayBuffer(20));
    p.reportStats(); // nothing to report while not published
    p.setChannel(channel(8));
    p.sendChunk(0, new ArrayBuffer(5));
    p.keyframeRequested();
    p.reportStats();
    expect(sent).toEqual([[3, 1, 10], [8, 0, 5]]);
    expect(p.stats).toEqual({ framesEncoded: 2, bytesSent: 15 });
    expect(events).toEqual(['keyframe', 'stats 2/15']);
  });

  it('closes once, unpublishing once, says closed last, and refuses chunks after', async () => {
    const { p, unpublish, events } = publication();
    await p.close();
    await p.close();
    p.end('too late');
    p.keyframeRequested();
    expect(unpublish).toHaveBeenCalledTimes(1);
    expect(unpublish).toHaveBeenCalledWith(p);
    expect(events).toEqual(['closed']);
    expect(p.closed).toBe(true);
    expect(() => p.sendChunk(0, new ArrayBuffer(1))).toThrow(ClosedError);
  });

  it('ended by the server: says why, then closed, without unpublishing', async () => {
    const { p, unpublish, events } = publication();
    p.end('the peer closed');
    await p.close();
    expect(events).toEqual(['ended: the peer closed', 'closed']);
    expect(unpublish).not.toHaveBeenCalled();
  });
});
