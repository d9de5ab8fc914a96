import { encode, MessageType, PROTOCOL_VERSION, type Ack } from '@cubecast/protocol';
import { io } from 'socket.io-client';
import { expect, framesDecoded, publishCamera, snapshot, snapshots, subscribe, test } from './fixtures.js';

test('malformed binary to neighbours and forged signals: the stream goes on, the server refuses', async ({ tabs, server }) => {
  // The attacking tab opens with ?debug, which exposes window.cubecastDebug.sendRaw.
  for (let i = 0; i < 6; i++) await tabs.open(i === 1 ? '?debug' : '');
  const [publisher, attacker, ...subscribers] = tabs.pages;
  await publishCamera(publisher!, 'cam');
  for (const page of subscribers) await subscribe(page, 'cam', 1000);
  await expect.poll(async () => Math.min(...(await snapshots(subscribers)).map((s) => framesDecoded(s, 'cam'))), { timeout: 60_000 }).toBeGreaterThanOrEqual(10);

  // The attacking tab sends junk over every one of its data channels.
  const attackerSnapshot = (await snapshot(attacker!))!;
  const junk: number[][] = [
    [1, 2, 3],
    new Array(64).fill(0xff),
    [...encode({ type: MessageType.Data, flags: 0, hops: 0, channel: 1, sequence: 0, source: 0, destination: 0, latencyUs: 0, fragmentIndex: 0, fragmentCount: 1 })].map((b, i) => (i === 31 ? 200 : b)),
    [...encode({ type: MessageType.RouteSetup, flags: 0, hops: 0, channel: 1, sequence: 0, source: 0, destination: 0, latencyUs: 0, fragmentIndex: 0, fragmentCount: 1 }, new Uint8Array([7, 7, 7]))],
  ];
  for (const link of attackerSnapshot.links) {
    for (const bytes of junk) await attacker!.evaluate(([hostId, b]) => window.cubecastDebug!.sendRaw(hostId, b), [link.hostId, bytes] as const);
  }

  // A forger on the signaling socket: signals to hosts it is not linked to, stale epochs, junk.
  const forger = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false });
  const send = (event: string, payload: unknown) => forger.timeout(5000).emitWithAck(event as 'signal:send', payload as never) as Promise<Ack>;
  const joined = (await send('host:join', { protocol: PROTOCOL_VERSION })) as Ack<{ state: { hostId: string; epoch: number; neighbours: [number, string][] } }>;
  expect(joined.ok).toBe(true);
  if (!joined.ok) return;
  const mine = new Set(joined.state.neighbours.map(([, h]) => h));
  const all = await snapshots(tabs.pages);
  const stranger = all.find((s) => !mine.has(s.hostId!))!.hostId!;
  const epoch = joined.state.epoch;
  const offer = { type: 'offer', sdp: 'v=0' };
  expect(await send('signal:send', { to: stranger, epoch, data: offer })).toMatchObject({ ok: false, code: 'NOT_LINKED' });
  expect(await send('signal:send', { to: stranger, epoch: epoch + 7, data: offer })).toMatchObject({ ok: false, code: 'STALE_EPOCH' });
  expect(await send('signal:send', { to: stranger, epoch, data: { type: 'offer', sdp: 42 } })).toMatchObject({ ok: false, code: 'BAD_PAYLOAD' });
  expect(await send('signal:send', { to: 'h9999', epoch, data: offer })).toMatchObject({ ok: false, code: 'UNKNOWN_HOST' });
  forger.close();

  // The neighbours counted and dropped the junk; the stream went on for everyone.
  await expect
    .poll(async () => {
      const snaps = await snapshots(tabs.pages);
      return attackerSnapshot.links.reduce((sum, l) => sum + (snaps.find((s) => s.hostId === l.hostId)?.engine.malformed ?? 0), 0);
    })
    .toBeGreaterThanOrEqual(attackerSnapshot.links.length * junk.length);
  const before = (await snapshots(subscribers)).map((s) => framesDecoded(s, 'cam'));
  await expect
    .poll(async () => (await snapshots(subscribers)).every((s, i) => framesDecoded(s, 'cam') >= before[i]! + 20), { timeout: 30_000 })
    .toBe(true);
  expect(server.controller.store.counters.rejectedPayloads).toBeGreaterThanOrEqual(4);
});
