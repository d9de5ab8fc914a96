/**
 * Fuzzing every entry point of a real server: socket events (random and mutated payloads,
 * from a joined and an unjoined socket), observer controls, HTTP routes and SPA uploads
 * (mutated valid modules and structure-aware garbage). After every case the server answers
 * /healthz and a fresh host can join. `npm test` runs a CI-sized count; `npm run fuzz` sets
 * CUBECAST_FUZZ_RUNS for a longer run.
 */
import { CLIENT_EVENT_SCHEMAS, OBSERVER_EVENT_SCHEMAS, PROTOCOL_VERSION, type Ack } from '@cubecast/protocol';
import { buildModule, validSpec } from '@cubecast/spa/testing/wasm-builder';
import fc from 'fast-check';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from './log.js';
import { startServer, type RunningServer } from './server.js';
import { TEST_VIDEO_CODEC as VIDEO, VirtualHost } from './testing/virtual-host.js';

const RUNS = Number(process.env.CUBECAST_FUZZ_RUNS ?? 50);

/** Replaces, deletes or adds one node of a JSON value, or blows one string up. */
type Mutation = { path: number[]; op: 'replace' | 'delete' | 'add' | 'grow'; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  path: fc.array(fc.nat(), { maxLength: 4 }),
  op: fc.constantFrom('replace', 'delete', 'add', 'grow'),
  value: fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom(-1, 0, 2 ** 32, 2 ** 53, -(2 ** 31), 1e308, '', 'constructor', '__proto__', null, [], {}),
  ),
});

function mutate(value: unknown, { path, op, value: replacement }: Mutation): unknown {
  if (path.length === 0 || value === null || typeof value !== 'object') {
    if (op === 'grow') return typeof value === 'string' ? value.repeat(2000) : 'x'.repeat(70_000);
    return op === 'delete' ? undefined : replacement;
  }
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as object) };
  const keys = Object.keys(copy);
  if (op === 'add' && path.length === 1) {
    (copy as Record<string, unknown>)[`k${path[0]}`] = replacement;
    return copy;
  }
  if (keys.length === 0) return replacement;
  const key = keys[path[0]! % keys.length]!;
  const inner = mutate((copy as Record<string, unknown>)[key], { path: path.slice(1), op, value: replacement });
  if (inner === undefined) delete (copy as Record<string, unknown>)[key];
  else (copy as Record<string, unknown>)[key] = inner;
  return copy;
}

let server: RunningServer;
let fuzzer: VirtualHost;
let peer: VirtualHost;
let anonymous: Socket;
const extra: { close(): void }[] = [];

/** What a correct client might send: the seeds the mutations start from. */
function validPayloads(): Record<keyof typeof CLIENT_EVENT_SCHEMAS, unknown> {
  return {
    'host:join': { protocol: PROTOCOL_VERSION, name: 'fuzz', emulation: { position: [1, 2], upKbps: 100 } },
    'host:leave': {},
    'signal:send': { to: peer.hostId, epoch: fuzzer.epoch, data: { type: 'offer', sdp: 'v=0' } },
    'channel:publish': { name: 'fz', kind: 'video', codec: VIDEO },
    'channel:unpublish': { name: 'fz' },
    'channel:list': {},
    'subscription:create': { channel: 'cam', maxLatencyMs: 100, pipeline: [{ spa: 'thin', config: { maxLayer: 0 } }] },
    'subscription:delete': { subscriptionId: 's1' },
    'subscription:report': { subscriptionId: 's1', latencyMs: 5, hops: 1, framesDecoded: 3 },
    'link:report': { links: [{ hostId: peer.hostId, state: 'open', rttMs: 3, throughputKbps: 10, lossRate: 0, channels: ['cam'] }] },
    'spa:report': { spas: [{ channel: 'cam', variant: 1, pipeline: ['thin'], state: 'dead', stages: [{ name: 'thin', chunksIn: 1, meanMicros: 1, errors: 0 }], error: 'x' }] },
  };
}

async function stillServing(): Promise<void> {
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  const fresh = new VirtualHost(server.url);
  await fresh.join();
  fresh.close();
}

/** The fuzzing host, joined again if a case made it leave. */
async function joinedFuzzer(): Promise<VirtualHost> {
  if (!server.controller.hasHost(fuzzer.hostId)) {
    fuzzer.close();
    fuzzer = await new VirtualHost(server.url).join();
  }
  return fuzzer;
}

const emit = (socket: Socket, event: string, payload: unknown) =>
  (socket.timeout(5000).emitWithAck(event, payload) as Promise<Ack>).catch((error: Error) => ({ ok: false, code: 'TIMEOUT', message: error.message }));

beforeAll(async () => {
  server = await startServer({
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger,
    adminToken: 'fuzz',
    rateLimit: { burst: 1e9, perSecond: 1e9 },
    limits: { maxConnectionsPerAddress: 1e6 },
  });
  peer = await new VirtualHost(server.url).join();
  fuzzer = await new VirtualHost(server.url).join();
  await peer.request('channel:publish', { name: 'cam', kind: 'video', codec: VIDEO });
  anonymous = io(server.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  extra.push({ close: () => anonymous.disconnect() });
});

afterAll(async () => {
  for (const c of extra) c.close();
  fuzzer.close();
  peer.close();
  await server.close();
});

describe('fuzzing the socket events', () => {
  for (const event of Object.keys(CLIENT_EVENT_SCHEMAS) as (keyof typeof CLIENT_EVENT_SCHEMAS)[]) {
    it(`${event}: random and mutated payloads, joined and not, never crash the server or get an INTERNAL ack`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 4 }).map((v) => ({ raw: v })), mutation.map((m) => ({ m }))), fc.boolean(), async (input, joined) => {
          const payload = 'raw' in input ? input.raw : mutate(validPayloads()[event], input.m);
          const socket = joined ? (await joinedFuzzer()).socket : anonymous;
          const ack = await emit(socket as unknown as Socket, event, payload);
          expect(ack.ok === true || (ack.code !== 'INTERNAL' && ack.code !== 'TIMEOUT'), JSON.stringify(ack)).toBe(true);
          await stillServing();
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('unknown and hostile event names are refused with BAD_PAYLOAD', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty')), fc.jsonValue({ maxDepth: 2 }), async (event, payload) => {
        fc.pre(!Object.hasOwn(CLIENT_EVENT_SCHEMAS, event) && !['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'].includes(event));
        const ack = await emit((await joinedFuzzer()).socket as unknown as Socket, event, payload);
        expect(ack).toMatchObject({ ok: false, code: 'BAD_PAYLOAD' });
        await stillServing();
      }),
      { numRuns: RUNS },
    );
  });

  it('observer controls: mutated payloads from an admin never crash the server', async () => {
    const admin = io(`${server.url}/observer`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: 'fuzz' } });
    extra.push({ close: () => admin.disconnect() });
    const valid: Record<keyof typeof OBSERVER_EVENT_SCHEMAS, () => unknown> = {
      'control:kill': () => ({ hostId: 'h9999' }),
      'control:emulation': () => ({ hostId: peer.hostId, emulation: { position: [3, 4], upKbps: 1000 } }),
      'control:policy': () => ({ policy: 'odr' }),
      'control:algorithm': () => ({ hostId: peer.hostId, a: 1, b: 2 }),
      'control:reembed': () => ({ k: 3, n: 3 }),
      'control:swap-check': () => ({ hostId: peer.hostId }),
    };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...(Object.keys(valid) as (keyof typeof valid)[])), mutation, async (event, m) => {
        const payload = mutate(valid[event](), m);
        // A kill of the fuzzer's own hosts would end this run, not the server.
        fc.pre(!(event === 'control:kill' && String(JSON.stringify(payload)).includes(peer.hostId)));
        const ack = await emit(admin, event, payload);
        expect(ack.ok === true || (ack.code !== 'INTERNAL' && ack.code !== 'TIMEOUT'), JSON.stringify(ack)).toBe(true);
        await stillServing();
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('fuzzing HTTP', () => {
  it('random methods, paths and headers get a status below 500', async () => {
    const segment = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('..', '%2e%2e', '%2f', 'spa', 'assets', '%00', '%E0%A4%A', 'healthz', 'metrics', 'a'.repeat(3000)));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
        fc.array(segment, { maxLength: 5 }),
        fc.option(fc.string({ maxLength: 80 })),
        fc.uint8Array({ maxLength: 2000 }),
        async (method, segments, authorization, body) => {
          const path = `/${segments.map((s) => encodeURIComponent(s).replace(/%25/g, '%')).join('/')}`;
          const headers: Record<string, string> = {};
          if (authorization !== null && /^[\x20-\x7e]*$/.test(authorization)) headers.Authorization = authorization;
          const res = await fetch(server.url + path, { method, headers, ...(method !== 'GET' && method !== 'HEAD' && { body }) }).catch((error: Error) => error);
          if (res instanceof Error) throw new Error(`${method} ${path}: ${res.message}`);
          await res.arrayBuffer();
          expect(res.status, `${method} ${path}`).toBeLessThan(500);
          await stillServing();
        },
      ),
      { numRuns: RUNS * 4 },
    );
  });
});

describe('fuzzing SPA uploads', () => {
  const valid = buildModule(validSpec());
  const leb = (n: number) => {
    const out: number[] = [];
    do {
      let byte = n % 128;
      n = Math.floor(n / 128);
      if (n > 0) byte |= 0x80;
      out.push(byte);
    } while (n > 0);
    return out;
  };
  /** A module of random sections whose counts and lengths lie: big, overlong LEB128, or past the end. */
  const garbage = fc
    .array(
      fc.record({
        id: fc.oneof(fc.constantFrom(0, 1, 2, 3, 5, 7, 10), fc.integer({ min: 0, max: 255 })),
        count: fc.oneof(fc.nat(5), fc.constantFrom(2 ** 32 - 1, 2 ** 31, 2 ** 35)),
        overlong: fc.boolean(),
        body: fc.uint8Array({ maxLength: 40 }),
      }),
      { maxLength: 6 },
    )
    .map((sections) => {
      const bytes = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
      for (const s of sections) {
        const count = s.overlong ? [0xff, 0xff, 0xff, 0xff, 0xff, 0x01] : leb(s.count);
        const content = [...count, ...s.body];
        bytes.push(s.id, ...leb(content.length), ...content);
      }
      return new Uint8Array(bytes);
    });
  const mutated = fc
    .tuple(fc.array(fc.tuple(fc.nat(valid.byteLength - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), fc.nat(valid.byteLength))
    .map(([edits, cut]) => {
      const bytes = valid.slice(0, Math.max(8, cut));
      for (const [at, value] of edits) if (at < bytes.byteLength) bytes[at] = value;
      return bytes;
    });

  it('mutated valid modules and structure-aware garbage get 201 or 400, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated, garbage), async (module) => {
        const host = await joinedFuzzer();
        const res = await fetch(`${server.url}/spa`, { method: 'POST', body: module, headers: { Authorization: `Bearer ${host.sessionToken}` } });
        const body = (await res.json()) as { error?: string };
        expect([201, 400, 429], JSON.stringify(body)).toContain(res.status);
        await stillServing();
      }),
      { numRuns: RUNS * 4 },
    );
  });
});
