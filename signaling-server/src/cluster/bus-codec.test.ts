import { describe, expect, it } from 'vitest';
import { BusMessageError, decodeBusEnvelope, encodeBusEnvelopes, MAX_BUS_ENVELOPE_BYTES, type BusMessage } from './bus-codec.js';

/** docs/protocol.md, "Node bus": a request, its answer, a leave and an event for one socket. */
const GOLDEN =
  '{"v":1,"from":"node-a","messages":[' +
  '{"t":"req","id":7,"room":"r","request":{"kind":"host","event":"channel:list","data":{},"hostId":"h2","from":{"node":"node-a","connection":"sock2"}}},' +
  '{"t":"res","id":7,"ok":true,"result":{"channels":[]}},' +
  '{"t":"leave","room":"r","hostId":"h3","reason":"failure","connection":"sock3"},' +
  '{"t":"host","room":"r","fence":2,"connection":"sock2","event":"cube:delta","args":[{"epoch":1}]}]}';

const messages: BusMessage[] = [
  { t: 'req', id: 7, room: 'r', request: { kind: 'host', event: 'channel:list', data: {}, hostId: 'h2', from: { node: 'node-a', connection: 'sock2' } } },
  { t: 'res', id: 7, ok: true, result: { channels: [] } },
  { t: 'leave', room: 'r', hostId: 'h3', reason: 'failure', connection: 'sock3' },
  { t: 'host', room: 'r', fence: 2, connection: 'sock2', event: 'cube:delta', args: [{ epoch: 1 }] },
];

describe('node bus envelopes', () => {
  it('encodes the documented golden envelope byte for byte and reads it back', () => {
    expect(encodeBusEnvelopes('node-a', messages)).toEqual({ envelopes: [GOLDEN], oversized: [] });
    expect(decodeBusEnvelope(GOLDEN)).toEqual({ v: 1, from: 'node-a', messages });
  });

  it('round-trips every kind of message', () => {
    const all: BusMessage[] = [
      ...messages,
      { t: 'res', id: 8, ok: false, code: 'UNKNOWN_CHANNEL', message: 'no channel named "x"' },
      { t: 'res', id: 9, ok: false, moved: true },
      { t: 'hosts', room: 'r', fence: 3, event: 'channel:added', args: [{ name: 'cam' }] },
      { t: 'drop', room: 'r', fence: 3, connection: 'sock9' },
      { t: 'observers', room: 'r', fence: 3, event: 'observer:event', payload: { type: 'join' } },
    ];
    expect(decodeBusEnvelope(encodeBusEnvelopes('n', all).envelopes[0]!).messages).toEqual(all);
  });

  it('splits a long batch into envelopes of at most the target length that read back in order', () => {
    const batch: BusMessage[] = Array.from({ length: 500 }, (_, i) => ({ t: 'host', room: 'r', fence: 1, connection: `sock${i}`, event: 'cube:state', args: [{ hostId: `h${i}`, ids: [i] }] }));
    const { envelopes, oversized } = encodeBusEnvelopes('n', batch, 4096);
    expect(oversized).toEqual([]);
    expect(envelopes.length).toBeGreaterThan(10);
    for (const envelope of envelopes) expect(envelope.length).toBeLessThanOrEqual(4096);
    expect(envelopes.flatMap((envelope) => decodeBusEnvelope(envelope).messages)).toEqual(batch);
  });

  it('sends a message longer than the target alone, and leaves out one no envelope can carry', () => {
    const long: BusMessage = { t: 'observers', room: 'r', fence: 1, event: 'observer:snapshot', payload: 'x'.repeat(10_000) };
    const huge: BusMessage = { t: 'observers', room: 'r', fence: 1, event: 'observer:snapshot', payload: 'x'.repeat(MAX_BUS_ENVELOPE_BYTES) };
    const small: BusMessage = { t: 'drop', room: 'r', fence: 1, connection: 'c' };
    const { envelopes, oversized } = encodeBusEnvelopes('n', [small, long, huge, small], 4096);
    expect(envelopes.map((envelope) => decodeBusEnvelope(envelope).messages)).toEqual([[small], [long], [small]]);
    expect(oversized).toEqual([{ message: huge, length: JSON.stringify(huge).length }]);
  });

  it('refuses what is not an envelope of this version, saying what is wrong', () => {
    const refusals: [string, RegExp][] = [
      ['{"v":1', /not JSON/],
      ['{"v":2,"from":"a","messages":[]}', /version 2; this server reads version 1/],
      ['{"v":1,"from":"a","messages":[]}', /malformed at messages/],
      ['{"v":1,"from":"a","messages":[{"t":"nope"}]}', /malformed at messages.0.t/],
      ['{"v":1,"from":"a","messages":[{"t":"host","room":"r","fence":0,"connection":"c","event":"e","args":[]}]}', /malformed at messages.0.fence/],
      ['{"v":1,"from":"a","messages":[{"t":"res","id":1,"ok":false,"code":"MADE_UP"}]}', /malformed at messages.0.code/],
      [' '.repeat(MAX_BUS_ENVELOPE_BYTES + 1), /over the/],
    ];
    for (const [text, message] of refusals) {
      expect(() => decodeBusEnvelope(text)).toThrow(BusMessageError);
      expect(() => decodeBusEnvelope(text)).toThrow(message);
    }
  });
});
