import { Cube } from '@cubecast/overlay';
import { decodeSensorPayload, encodeSensorPayload, pipelineVariant, type SensorReading, type SpaSpec } from '@cubecast/protocol';
import { inlinePipeline } from '@cubecast/spa/testing';
import { ServiceFlow } from '../algorithms/service-flow.js';
import { SPLIT } from '../engine/pipeline-host.js';
import { DEFAULT_ENGINE_OPTIONS } from '../engine/switching-engine.js';
import { SimNetwork } from './sim-network.js';

/** Smooth, then keep what is 40 or more: two stages, each a service of its own host if the algorithm so places them. */
export const SMOOTH: SpaSpec = { spa: 'sensor', config: { mode: 'average', window: 2 } };
export const FILTER: SpaSpec = { spa: 'sensor', config: { mode: 'threshold', threshold: 40 } };

/** Readings rising and falling between 0 and 80, five a chunk. */
export function readingsChunk(i: number): Uint8Array {
  return encodeSensorPayload(Array.from({ length: 5 }, (_, j) => ({ timeMs: 1_000_000 + (i * 5 + j) * 50, value: 40 + 40 * Math.sin((i * 5 + j) / 7) })));
}

/**
 * Readings as compared with what is expected: times exact, values to 9 decimals. A moving
 * average keeps a running sum, so instances started at other chunks differ in its last bits.
 */
export function comparableReadings(readings: readonly SensorReading[]): [number, string][] {
  return readings.map((r) => [r.timeMs, r.value.toFixed(9)]);
}

/** Lets pipelines start: they start asynchronously, as SPA workers do. */
const started = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Five hosts on the 3-ary 3-cube (each linked to every other): P publishes, S1 and S2
 * subscribe, X1 and X2 offer the sensor service (sAssign from the observer's control) with
 * the total bandwidths given. Each subscription's requirement is its pipeline. `expected`
 * and `received` are readings from the first chunk past the warm-up on.
 */
export async function serviceFlowRun({
  bandwidthKbps = { X1: 1200, X2: 800 },
  offering = ['X1', 'X2'],
  requirements = { S1: [SMOOTH, FILTER] } as Partial<Record<'S1' | 'S2', SpaSpec[]>>,
  chunks = 40,
  oneWayMs = 2,
  /** Chunks sent while the pipelines start (each loses the first it is given): what they make is not compared. */
  warmUpChunks = 4,
} = {}) {
  const algorithms = new Map<string, ServiceFlow>();
  const hosts = ['P', 'S1', 'S2', 'X1', 'X2'];
  let made = 0;
  const net = new SimNetwork(
    new Cube(3, 3),
    () => oneWayMs,
    'greedy',
    {
      ...DEFAULT_ENGINE_OPTIONS,
      algorithm: ({ refreshMs }) => {
        const algorithm = new ServiceFlow(refreshMs);
        algorithms.set(hosts[made++]!, algorithm);
        return algorithm;
      },
    },
    async (pipeline, options) => inlinePipeline(pipeline, options?.splitInput),
  );
  net.addHosts(hosts);
  for (const [host, kbps] of Object.entries(bandwidthKbps)) net.engines.get(host)!.setEmulation({ totalKbps: kbps });
  for (const host of offering) net.engines.get(host)!.controlAlgorithm(3, 1);
  net.advance(2500);
  const publisher = net.engines.get('P')!;
  publisher.publish(1, net.ownership.idsOf('P')[0]!);
  for (const [sink, pipeline] of Object.entries(requirements)) {
    net.engines.get(sink)!.subscribe(1);
    publisher.requestRoute({ subscriptionId: `sub-${sink}`, channel: 1, target: net.ownership.idsOf(sink)[0]!, maxLatencyMs: 5000, pipeline, policy: 'greedy' });
    net.advance(300);
  }
  net.advance(500);
  const sent = Array.from({ length: warmUpChunks + chunks }, (_, i) => readingsChunk(i));
  for (const chunk of sent) {
    publisher.sendChunk(1, 0, chunk);
    net.advance(50);
    await started();
  }
  net.advance(1000);
  const since = decodeSensorPayload(sent[warmUpChunks]!)[0]!.timeMs;
  const after = (readings: SensorReading[]) => readings.filter((r) => r.timeMs >= since);
  /**
   * What the requirement makes of the chunks sent, run in one place: what the subscriber must
   * get. Past a split, each path's stages see that path's chunks only (split deals them
   * alternately), wherever those stages run, and the subscriber gets what they make in the
   * order of the chunks.
   */
  const expected = (pipeline: SpaSpec[]) => {
    const split = pipeline[0]?.spa === SPLIT;
    const byChunk: SensorReading[][] = sent.map(() => []);
    for (const path of split ? [0, 1] : [0]) {
      const stages = inlinePipeline(split ? pipeline.slice(1) : pipeline);
      let at = 0;
      stages.on('chunk:output', ({ payload }) => byChunk[at]!.push(...decodeSensorPayload(payload)));
      for (const [i, chunk] of sent.entries()) {
        if (split && i % 2 !== path) continue;
        at = i;
        stages.push(chunk, 0);
      }
    }
    return after(byChunk.flat());
  };
  const chunksAt = (sink: 'S1' | 'S2') => net.chunks(sink).filter((c) => c.variant === pipelineVariant(requirements[sink] ?? []));
  const received = (sink: 'S1' | 'S2') => after(chunksAt(sink).flatMap((c) => decodeSensorPayload(c.payload)));
  return { net, algorithms, expected, received, chunksAt };
}
