import { Cube } from '@cubecast/overlay';
import { BUTTERFLY, NetworkCoding } from '../algorithms/network-coding.js';
import { DEFAULT_ENGINE_OPTIONS } from '../engine/switching-engine.js';
import { SimNetwork } from './sim-network.js';

/** The paper's per-node bandwidth, KBps: 400 everywhere, the coder's uplink 200 (seed 004, Fig. 4). */
const UPLINK_KBPS = 400 * 8;
const CODER_UPLINK_KBPS = 200 * 8;
/** 400 chunks a second of this size keep the source's 400 KBps uplink, headers included, just short of full. */
const CHUNK_BYTES = 900;
const CHUNKS_PER_SECOND = 400;

/**
 * The butterfly on the 2-ary 3-cube, one host per id; the source (id 0) publishes for
 * `seconds`, every other host subscribes. Returns each role's throughput (distinct payload
 * bytes delivered per second over the last `seconds - 1` seconds, KBps) and its chunks.
 */
export function butterflyRun({ coding, seconds = 4, lossToward, chunksPerSecond = CHUNKS_PER_SECOND }: { coding: boolean; seconds?: number; lossToward?: number; chunksPerSecond?: number }) {
  const net = new SimNetwork(new Cube(2, 3), () => 1, 'greedy', { ...DEFAULT_ENGINE_OPTIONS, algorithm: () => new NetworkCoding(coding) });
  const hosts = Array.from({ length: 8 }, (_, i) => `h${i}`);
  net.addHosts(hosts);
  const hostAt = (offset: number) => hosts.find((h) => net.ownership.idsOf(h)[0] === offset)!;
  for (const h of hosts) net.engines.get(h)!.setEmulation({ upKbps: hostAt(BUTTERFLY.coder) === h ? CODER_UPLINK_KBPS : UPLINK_KBPS });
  if (lossToward !== undefined) net.setConditions({ loss: 0.2 }, (_from, to) => to === hostAt(lossToward), 7);
  net.advance(200);
  const source = hostAt(BUTTERFLY.source);
  net.engines.get(source)!.publish(1, 0);
  for (const h of hosts) if (h !== source) net.engines.get(h)!.subscribe(1);
  const start = net.now;
  const sent: Uint8Array[] = [];
  for (let i = 0; i < seconds * chunksPerSecond; i++) {
    const payload = new Uint8Array(CHUNK_BYTES).map((_, j) => (i * 7 + j) & 0xff);
    sent.push(payload);
    net.engines.get(source)!.sendChunk(1, 0, payload);
    net.advance(1000 / chunksPerSecond);
  }
  net.advance(1000);
  const roles = Object.entries(BUTTERFLY).filter(([role]) => role !== 'source');
  const throughput = Object.fromEntries(
    roles.map(([role, offset]) => {
      const chunks = net.chunks(hostAt(offset));
      // Steady state: from the first second's end to the stream's (queues full by then).
      const counted = new Set(chunks.filter((c) => c.at >= start + 1000 && c.at < start + seconds * 1000).map((c) => c.sequence));
      return [role, Math.round((counted.size * CHUNK_BYTES) / (seconds - 1) / 1000)];
    }),
  );
  const chunksOf = (offset: number) => net.chunks(hostAt(offset));
  return { net, throughput, sent, chunksOf, heldAtEnd: hosts.map((h) => net.engines.get(h)!.footprint().held) };
}

/** The stream's payload rate. */
export const SOURCE_KBPS = (CHUNK_BYTES * CHUNKS_PER_SECOND) / 1000;
