import { MalformedMessageError, MessageType, NO_DESTINATION } from '@cubecast/protocol';
import { Topology } from '../engine/topology.js';
import type { AlgorithmContext } from '../engine/algorithm.js';
import { describe, expect, it } from 'vitest';
import { comparableReadings, FILTER, serviceFlowRun, SMOOTH } from '../testing/service-flow-run.js';
import { flowMessages, ServiceFlow } from './service-flow.js';

describe('sFlow: service federation (iOverlay case study 3.3)', () => {
  it('places a two-stage requirement across two service hosts by bandwidth over load, and the subscriber gets what the pipeline makes in one place', async () => {
    const { net, algorithms, expected, received } = await serviceFlowRun();
    // P sends the stream to X1 (1200 kbit/s, idle); X1 smooths, then its share halves (600)
    // and X2 (800) filters, and sends the result to S1.
    expect(algorithms.get('P')!.state.hops).toEqual([{ sub: 'sub-S1', next: 'X1', serves: 0, done: [] }]);
    expect(algorithms.get('X1')!.state.hops).toEqual([{ sub: 'sub-S1', next: 'X2', serves: 1, done: ['sensor'] }]);
    expect(algorithms.get('X2')!.state.hops).toEqual([{ sub: 'sub-S1', next: 'S1', serves: 1, done: ['sensor', 'sensor'] }]);
    expect(net.engines.get('X1')!.spaReports().map((r) => [r.role, r.pipeline])).toEqual([['branch', ['sensor']]]);
    expect(net.engines.get('X2')!.spaReports().map((r) => [r.role, r.pipeline])).toEqual([['stage', ['sensor']]]);
    const want = expected([SMOOTH, FILTER]);
    // The filter keeps some readings and drops others: both stages did something.
    expect(want.length).toBeGreaterThan(40);
    expect(want.length).toBeLessThan(200);
    expect(received('S1')).toEqual(want);
  });

  it('a subscriber\'s key frame request goes back along the service chain to the publisher', async () => {
    const { net } = await serviceFlowRun({ chunks: 4 });
    net.engines.get('S1')!.requestKeyframe(1);
    net.advance(100);
    expect(net.eventsOf('P', 'keyframe:request')).toHaveLength(1);
  });

  it('a second requirement sharing the first stage shares its service host: the services form a graph', async () => {
    const { net, algorithms, expected, received } = await serviceFlowRun({ requirements: { S1: [SMOOTH, FILTER], S2: [SMOOTH] } });
    expect(algorithms.get('P')!.state.hops.map((h) => h.next)).toEqual(['X1', 'X1']);
    // X1 smooths once, for both: the smoothed stream goes to X2 (for S1) and to S2.
    expect(net.engines.get('X1')!.spaReports()).toHaveLength(1);
    expect(net.engines.get('X1')!.nextHops(1).sort()).toEqual(['S2', 'X2']);
    expect(received('S1')).toEqual(expected([SMOOTH, FILTER]));
    expect(received('S2')).toEqual(expected([SMOOTH]));
  });

  it('a requirement starting with split is a graph: two paths, each with its own service hosts, merged at the subscriber without waiting for dropped chunks', async () => {
    const requirement = [{ spa: 'split' }, SMOOTH, FILTER];
    const { net, algorithms, expected, received } = await serviceFlowRun({ requirements: { S1: requirement }, warmUpChunks: 10 });
    // The stream parts at P: X1 (1200 kbit/s) takes the first path; with that handed to it, its
    // share (600) is below X2's (800), which takes the second.
    expect(algorithms.get('P')!.state.hops).toEqual([
      { sub: 'sub-S1', next: 'X1', serves: 1, done: ['split'] },
      { sub: 'sub-S1/2', next: 'X2', serves: 0, done: ['split'] },
    ]);
    // Each runs the stage it was handed the stream for, then hands the filter to the other
    // (its own share having halved): the paths cross, each host runs one smoothing and one
    // filter, and both reach S1, which merges them.
    const hop = (host: string, sub: string) => algorithms.get(host)!.state.hops.find((h) => h.sub === sub);
    expect([hop('X1', 'sub-S1'), hop('X2', 'sub-S1')]).toEqual([
      { sub: 'sub-S1', next: 'X2', serves: 1, done: ['split', 'sensor'] },
      { sub: 'sub-S1', next: 'S1', serves: 1, done: ['split', 'sensor', 'sensor'] },
    ]);
    expect([hop('X2', 'sub-S1/2'), hop('X1', 'sub-S1/2')]).toEqual([
      { sub: 'sub-S1/2', next: 'X1', serves: 1, done: ['split', 'sensor'] },
      { sub: 'sub-S1/2', next: 'S1', serves: 1, done: ['split', 'sensor', 'sensor'] },
    ]);
    for (const host of ['X1', 'X2']) expect(net.engines.get(host)!.spaReports().map((r) => [r.role, r.pipeline]), host).toEqual([['stage', ['sensor']], ['stage', ['sensor']]]);
    expect(net.engines.get('P')!.spaReports().map((r) => r.pipeline)).toEqual([['split']]);
    expect(net.engines.get('S1')!.spaReports().map((r) => [r.role, r.pipeline])).toEqual([['merge', ['merge']]]);
    // The filter drops chunks on both paths: their tags alone go on, and merge passes their
    // places at once, so everything the requirement makes arrives, the last chunks' too.
    const want = expected(requirement);
    expect(want.length).toBeGreaterThan(40);
    expect(comparableReadings(received('S1'))).toEqual(comparableReadings(want));
    // Cancelled, both paths are pruned.
    net.engines.get('P')!.cancelRoute('sub-S1');
    net.advance(7000);
    for (const host of ['P', 'X1', 'X2']) expect(algorithms.get(host)!.state.hops, host).toEqual([]);
  });

  it('refuses a requirement that splits past its first stage, and says why', async () => {
    const { net, algorithms } = await serviceFlowRun({ requirements: { S1: [SMOOTH, { spa: 'split' }] }, chunks: 1 });
    expect(algorithms.get('P')!.state.hops).toEqual([]);
    expect(net.eventsOf('P', 'engine:error').map((e) => e.message)).toContainEqual(expect.stringMatching(/splits the stream past its first stage/));
  });

  it('with no host offering the service, the publisher runs the requirement itself and says so; the subscriber still gets it', async () => {
    const { net, algorithms, expected, received } = await serviceFlowRun({ offering: [] });
    expect(algorithms.get('P')!.state.hops).toEqual([{ sub: 'sub-S1', next: 'S1', serves: 2, done: ['sensor', 'sensor'] }]);
    expect(net.eventsOf('P', 'engine:error').map((e) => e.message)).toContainEqual(expect.stringMatching(/no host linked to P offers sensor; P runs sensor > sensor itself/));
    expect(received('S1')).toEqual(expected([SMOOTH, FILTER]));
  });

  it('a cancelled subscription is pruned down its chain: no branch or pipeline is left', async () => {
    const { net, algorithms } = await serviceFlowRun();
    net.engines.get('P')!.cancelRoute('sub-S1');
    net.advance(7000);
    for (const host of ['P', 'X1', 'X2']) {
      expect(algorithms.get(host)!.state.hops, host).toEqual([]);
      expect(net.engines.get(host)!.nextHops(1), host).toEqual([]);
      expect(net.engines.get(host)!.spaReports(), host).toEqual([]);
    }
  });

  it('never hands the stream back to a host it passed, however good that host looks', () => {
    const sent: [string, unknown][] = [];
    const topology = new Topology(() => 1);
    topology.set({ hostId: 'X2', epoch: 1, k: 3, n: 1, ids: [1], neighbours: [[0, 'X1'], [2, 'S']], policy: 'greedy' });
    const context = {
      now: () => 0,
      send: (to: string, _header: unknown, payload: Uint8Array) => (sent.push([to, flowMessages.decode(payload)]), true),
      linkedHosts: () => ['X1', 'S'],
      setTimer: () => {},
      hasTimer: () => false,
      topology,
      link: () => ({ state: 'open', oneWayMs: 1 }),
      variantOf: () => 1,
      setBranch: () => {},
      setLocal: () => {},
      bandwidthKbps: () => 100,
      setUpstream: () => {},
      reportError: () => {},
    } as unknown as AlgorithmContext;
    const flow = new ServiceFlow(2000);
    flow.start(context);
    flow.process({ type: 'control', a: 3, b: 1 });
    const header = { type: MessageType.Algorithm, flags: 0, hops: 0, channel: 1, sequence: 0, source: 0, destination: NO_DESTINATION, latencyUs: 0, fragmentIndex: 0, fragmentCount: 1 } as const;
    const from = (host: string, message: Parameters<typeof flowMessages.encode>[0]) => flow.process({ type: 'protocol', from: host, header, payload: flowMessages.encode(message) });
    // X1 offers the service with 100 times X2's share, but the stream came through X1.
    from('X1', { t: 'aware', services: ['sensor'], bandwidthKbps: 10_000, load: 0 });
    sent.length = 0;
    from('X1', { t: 'federate', sub: 's', sink: 'S', maxLatencyMs: 1000, done: [], rest: [{ spa: 'sensor' }, { spa: 'sensor' }], chain: ['P', 'X1'] });
    expect(flow.state.hops).toEqual([{ sub: 's', next: 'S', serves: 2, done: ['sensor', 'sensor'] }]);
    expect(sent.filter(([, m]) => (m as { t: string }).t !== 'aware')).toEqual([['S', { t: 'sink', sub: 's', pipeline: [{ spa: 'sensor' }, { spa: 'sensor' }] }]]);
  });

  it('messages: golden bytes, and bad ones refused', () => {
    expect(new TextDecoder().decode(flowMessages.encode({ t: 'prune', sub: 's1' }))).toBe('{"v":1,"t":"prune","sub":"s1"}');
    for (const bad of ['{"v":1,"t":"aware","services":["nope"],"bandwidthKbps":null,"load":0}', '{"v":1,"t":"sink","sub":"s","pipeline":[{"spa":"BAD"}]}', '{"v":2,"t":"prune","sub":"s"}']) {
      expect(() => flowMessages.decode(new TextEncoder().encode(bad)), bad).toThrow(MalformedMessageError);
    }
  });
});
