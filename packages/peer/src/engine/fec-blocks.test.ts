import { decodeRepairPayload, encodeRepairPayload, Flags, MessageType, TIMELY_FRAGMENT_PAYLOAD, type MessageHeader } from '@cubecast/protocol';
import { describe, expect, it } from 'vitest';
import { FecBlocks, REPAIR_ASK_QUIET_MS, REPAIR_ASKS } from './fec-blocks.js';

const header = (fragmentIndex: number, fragmentCount: number, sequence = 1, flags: number = Flags.Timely): MessageHeader => ({
  type: MessageType.Data,
  flags,
  hops: 1,
  channel: 7,
  sequence,
  source: 0,
  destination: 0,
  latencyUs: 0,
  fragmentIndex,
  fragmentCount,
});
const repairHeader = (row: number, fragmentCount: number, block = 0) => header(block * 32 + row, fragmentCount, 1, Flags.Timely | Flags.Repair);
/** A chunk of `count` fragments of 8 bytes, the last of 3. */
const fragments = (count: number) => Array.from({ length: count }, (_, i) => new Uint8Array(i === count - 1 ? 3 : 8).fill(i + 1));

describe('FecBlocks', () => {
  it('reports a block whole once, and its repairs rebuild a lost fragment (the last cut to size) downstream', () => {
    const sent = fragments(4);
    const sender = new FecBlocks();
    const progress = sent.map((payload, i) => sender.addSource(header(i, 4), payload, 0));
    expect(progress.slice(0, 3).every((p) => p.complete.length === 0)).toBe(true);
    const [block] = progress[3]!.complete;
    expect(block!.sources).toEqual(sent);
    expect(sender.addSource(header(3, 4), sent[3]!, 0)).toEqual({ recovered: [], complete: [] });
    const repairs = FecBlocks.repairs(block!, 2);
    expect(decodeRepairPayload(repairs[0]!).lastSourceBytes).toBe(3);

    const receiver = new FecBlocks();
    receiver.addSource(header(0, 4), sent[0]!, 0);
    receiver.addSource(header(1, 4), sent[1]!, 0);
    const rebuilt = receiver.addRepair(repairHeader(1, 4), repairs[1]!, 0);
    expect(rebuilt.recovered).toEqual([]); // two missing, one repair
    const done = receiver.addRepair(repairHeader(0, 4), repairs[0]!, 0);
    expect(done.recovered.map((f) => [f.header.fragmentIndex, f.header.flags, [...f.payload]])).toEqual([
      [2, Flags.Timely, [...sent[2]!]],
      [3, Flags.Timely, [...sent[3]!]],
    ]);
    expect(done.complete.map((b) => b.sources)).toEqual([sent]);
  });

  it('rebuilds a block that lost every source, from repairs alone', () => {
    const sent = fragments(3);
    const sender = new FecBlocks();
    const [block] = sent.flatMap((payload, i) => sender.addSource(header(i, 3), payload, 0).complete);
    const receiver = new FecBlocks();
    const repairs = FecBlocks.repairs(block!, 3);
    const progress = repairs.map((repair, row) => receiver.addRepair(repairHeader(row, 3), repair, 0));
    expect(progress[2]!.recovered.map((f) => [...f.payload])).toEqual(sent.map((f) => [...f]));
    expect(progress[2]!.complete.map((b) => b.sources)).toEqual([sent]);
  });

  it('uses repairs that came before the sources (unordered lanes), per block of 32', () => {
    const sent = fragments(40);
    const sender = new FecBlocks();
    const blocks = sent.flatMap((payload, i) => sender.addSource(header(i, 40), payload, 0).complete);
    expect(blocks.map((b) => [b.block, b.sources.length])).toEqual([
      [0, 32],
      [1, 8],
    ]);
    const receiver = new FecBlocks();
    expect(receiver.addRepair(repairHeader(0, 40, 1), FecBlocks.repairs(blocks[1]!, 1)[0]!, 0).recovered).toEqual([]);
    const arrivals = sent.flatMap((payload, i) => (i === 35 ? [] : receiver.addSource(header(i, 40), payload, 0).recovered));
    expect(arrivals.map((f) => [f.header.fragmentIndex, [...f.payload]])).toEqual([[35, [...sent[35]!]]]);
  });

  it('ignores repairs that do not fit: malformed, of another shape, of another width; forgets old and excess chunks', () => {
    const sent = fragments(2);
    const sender = new FecBlocks();
    sender.addSource(header(0, 2), sent[0]!, 0);
    const [block] = sender.addSource(header(1, 2), sent[1]!, 0).complete;
    const [r0, r1] = FecBlocks.repairs(block!, 2);
    const receiver = new FecBlocks({ chunks: 2, maxAgeMs: 100, bytes: 1024 });
    expect(receiver.addRepair(repairHeader(0, 2), new Uint8Array(2), 0)).toEqual({ recovered: [], complete: [] });
    receiver.addRepair(repairHeader(0, 2), r0!, 0);
    expect(receiver.addRepair(repairHeader(1, 3), r1!, 0).recovered).toEqual([]); // names a 3-fragment chunk
    // A repair of the block that names another last-source length is not of this block.
    const otherShape = r1!.slice();
    otherShape[1] = r1![1]! - 1;
    expect(receiver.addRepair(repairHeader(1, 2), otherShape, 0).recovered).toEqual([]);
    const wider = new Uint8Array(r1!.byteLength + 1);
    wider.set(r1!);
    expect(receiver.addRepair(repairHeader(1, 2), wider, 0).recovered).toEqual([]);
    // Wider than a fragment of a chunk of fewer than 256 can be.
    const tooWide = new FecBlocks();
    tooWide.addSource(header(0, 2), sent[0]!, 0);
    expect(tooWide.addRepair(repairHeader(0, 2), encodeRepairPayload(1, new Uint8Array(TIMELY_FRAGMENT_PAYLOAD + 1)), 0).recovered).toEqual([]);
    expect(tooWide.addRepair(repairHeader(0, 2), encodeRepairPayload(1, new Uint8Array(TIMELY_FRAGMENT_PAYLOAD)), 0).recovered).toHaveLength(1);
    // None of those was taken: with the real row 1, both sources come back.
    expect(receiver.addRepair(repairHeader(1, 2), r1!, 0).recovered.map((f) => [...f.payload])).toEqual(sent.map((f) => [...f]));
    expect(receiver.addSource(header(0, 3), sent[0]!, 0).recovered).toEqual([]); // disagrees on the count
    expect(receiver.size).toBe(1);
    receiver.addSource(header(0, 2, 2), sent[0]!, 0);
    receiver.addSource(header(0, 2, 3), sent[0]!, 0);
    expect(receiver.size).toBe(2); // the oldest went
    expect(receiver.addSource(header(1, 2, 1), sent[1]!, 0).recovered).toEqual([]);
    receiver.addSource(header(0, 2, 4), sent[0]!, 500);
    expect(receiver.size).toBe(1); // the others were too old
    const heavy = new FecBlocks({ chunks: 10, maxAgeMs: 1000, bytes: 20 });
    for (let sequence = 1; sequence <= 3; sequence++) heavy.addSource(header(0, 2, sequence), new Uint8Array(8), 0);
    expect(heavy.size).toBe(2); // 24 bytes held: the oldest went
    heavy.addSource(header(0, 2, 9), new Uint8Array(64), 0);
    expect(heavy.size).toBe(1); // the newest stays, however big
  });
});

describe('FecBlocks: asking the previous hop for more repairs', () => {
  const sent = fragments(40);
  const sender = () => {
    const blocks = new FecBlocks();
    sent.forEach((payload, i) => blocks.addSource(header(i, 40), payload, 0));
    return blocks;
  };

  it('asks, once a chunk from a peer is quiet, for as many rows as each short block still needs, naming the rows it holds; the answer rebuilds it', () => {
    const receiver = new FecBlocks();
    // Block 0 (32 sources) lost 3 and holds repair rows 0 and 2; block 1 (8) lost 1.
    sent.forEach((payload, i) => ![4, 5, 6, 39].includes(i) && receiver.addSource(header(i, 40), payload, 10 + i * 0.01, 'up'));
    const source = sender();
    const [rowZero, , rowTwo] = source.resend(header(0, 40), 0, 3)!.repairs;
    receiver.addRepair(repairHeader(0, 40), rowZero!.payload, 10.5, 'up');
    receiver.addRepair(repairHeader(2, 40), rowTwo!.payload, 10.5, 'up');
    expect(receiver.due(10.5 + REPAIR_ASK_QUIET_MS - 0.1)).toEqual({ asks: [], nextAt: 10.5 + REPAIR_ASK_QUIET_MS });
    const { asks, nextAt } = receiver.due(10.5 + REPAIR_ASK_QUIET_MS);
    expect(nextAt).toBe(10.5 + 2 * REPAIR_ASK_QUIET_MS); // the ask again, a quiet time later
    expect(asks.map((a) => [a.from, a.header.type, a.header.fragmentIndex, a.header.fragmentCount, a.header.sequence, a.request])).toEqual([
      ['up', MessageType.RepairRequest, 0, 40, 1, { wanted: 1, rowsHeld: 0b101 }],
      ['up', MessageType.RepairRequest, 32, 40, 1, { wanted: 1, rowsHeld: 0 }],
    ]);
    const rebuilt = asks.flatMap(({ header: ask, request }) => {
      const resent = source.resend(ask, request.rowsHeld, request.wanted)!;
      // Rows the asker lacks, lowest first: row 1 for block 0.
      return resent.repairs.flatMap(({ row, payload }) => receiver.addRepair(repairHeader(row, 40, ask.fragmentIndex / 32), payload, 20, 'up').recovered);
    });
    expect(rebuilt.map((f) => [f.header.fragmentIndex, [...f.payload]])).toEqual([4, 5, 6, 39].map((i) => [i, [...sent[i]!]]));
    expect(receiver.due(20)).toEqual({ asks: [], nextAt: undefined });
  });

  it('asks again while nothing answers, a quiet time after each ask, at most REPAIR_ASKS times; never for a chunk made here', () => {
    const receiver = new FecBlocks();
    receiver.addSource(header(0, 2), sent[0]!, 0, 'up');
    const times: number[] = [];
    let last: ReturnType<FecBlocks['due']> | undefined;
    for (let now = 0; now < 100; now++) {
      const due = receiver.due(now);
      if (due.asks.length > 0) [times[times.length], last] = [now, due];
    }
    expect(times).toEqual(Array.from({ length: REPAIR_ASKS }, (_, i) => (i + 1) * REPAIR_ASK_QUIET_MS));
    // The last ask says nothing more is due: no timer for a chunk given up on.
    expect(last!.nextAt).toBeUndefined();
    const publisher = new FecBlocks();
    publisher.addSource(header(0, 2), sent[0]!, 0);
    expect(publisher.due(1000)).toEqual({ asks: [], nextAt: undefined });
  });

  it('waits three mean gaps of a paced chunk before asking', () => {
    const receiver = new FecBlocks();
    for (let i = 0; i < 5; i++) receiver.addSource(header(i, 40), sent[i]!, i * 4, 'up');
    expect(receiver.due(27.9)).toEqual({ asks: [], nextAt: 16 + 12 });
  });

  it('answers only for a block whole here, with at most the rows asked, stamped from the chunk\'s first arrival', () => {
    const relay = new FecBlocks();
    relay.addSource({ ...header(0, 2), hops: 2, latencyUs: 900 }, sent[0]!, 7, 'up');
    expect(relay.resend(header(0, 2), 0, 2)).toBeUndefined();
    relay.addSource(header(1, 2), sent[1]!, 8, 'up');
    const resent = relay.resend(header(0, 2), 0b11, 2)!;
    expect(resent.repairs.map((r) => r.row)).toEqual([2, 3]);
    expect(resent.first).toMatchObject({ header: { hops: 2, latencyUs: 900 }, arrival: 7 });
    expect(relay.resend(header(0, 3), 0, 1)).toBeUndefined(); // another chunk's shape
    expect(relay.resend({ ...header(0, 2), sequence: 9 }, 0, 1)).toBeUndefined();
  });
});
