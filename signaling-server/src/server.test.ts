import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buildModule, validSpec } from '@cubecast/spa/testing/wasm-builder';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createStaticHandler } from './http/static-files.js';
import { DEFAULT_SPA_MODULE_LIMITS, type SpaModuleLimits } from './http/spa-modules.js';
import { silentLogger } from './log.js';
import { turnRestCredential } from './ice-config.js';
import { startServer, type RunningServer } from './server.js';
import { eventually, VirtualHost } from './testing/virtual-host.js';

const SECRET = 'the-secret-file-content';

function webRootWithSecretBeside(): string {
  const outer = mkdtempSync(join(tmpdir(), 'cubecast-outer-'));
  writeFileSync(join(outer, 'secret.txt'), SECRET);
  const webRoot = join(outer, 'web');
  mkdirSync(join(webRoot, 'assets'), { recursive: true });
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(webRoot, 'observer.html'), '<!doctype html><title>observer</title>');
  writeFileSync(join(webRoot, 'assets', 'app.js'), 'console.log(1)');
  return webRoot;
}

/** A valid module made distinct by a custom section (the validator skips those). */
function distinctModule(tag: number): Uint8Array<ArrayBuffer> {
  const valid = buildModule(validSpec());
  const custom = [0, 3, 1, 0x74, tag & 0xff];
  return new Uint8Array([...valid, ...custom]);
}

const clients: VirtualHost[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

async function joined(s: RunningServer): Promise<VirtualHost> {
  const h = new VirtualHost(s.url);
  clients.push(h);
  return h.join();
}

const upload = (s: RunningServer, body: Uint8Array<ArrayBuffer> | string, token?: string) =>
  fetch(`${s.url}/spa`, { method: 'POST', body, headers: { 'Content-Type': 'application/wasm', ...(token !== undefined && { Authorization: `Bearer ${token}` }) } });

describe('server', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1', webRoot: webRootWithSecretBeside(), logger: silentLogger });
  });
  afterAll(() => server.close());

  it('serves the app with cross-origin isolation headers on every response', async () => {
    for (const path of ['/', '/assets/app.js', '/observer', '/healthz', '/missing.js', '/spa']) {
      const res = await fetch(server.url + path);
      expect(res.headers.get('cross-origin-opener-policy'), path).toBe('same-origin');
      expect(res.headers.get('cross-origin-embedder-policy'), path).toBe('require-corp');
    }
  });

  it("serves files, the observer's page or the app's for client routes, 404s missing files, answers HEAD, 405s other methods", async () => {
    const js = await fetch(`${server.url}/assets/app.js`);
    expect(js.headers.get('content-type')).toMatch(/text\/javascript/);
    expect(await js.text()).toBe('console.log(1)');
    expect(await (await fetch(`${server.url}/r/lab`)).text()).toMatch(/<title>app/);
    for (const path of ['/observer', '/observer/', '/r/lab/observer', '/r/a%20b/observer']) expect(await (await fetch(server.url + path)).text(), path).toMatch(/<title>observer/);
    expect(await (await fetch(`${server.url}/r/lab/observer/x`)).text()).toMatch(/<title>app/);
    expect((await fetch(`${server.url}/missing.js`)).status).toBe(404);
    expect(await (await fetch(`${server.url}/healthz`)).json()).toMatchObject({ ok: true });
    const head = await fetch(`${server.url}/assets/app.js`, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length'), await head.text()]).toEqual([200, '14', '']);
    expect((await fetch(`${server.url}/assets/app.js`, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${server.url}/%E0%A4%A`)).status).toBe(400);
  });

  it('never serves a byte from outside the web root', async () => {
    for (const path of ['/..%2fsecret.txt', '/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd', '/assets/..%2f..%2fsecret.txt']) {
      const res = await fetch(server.url + path);
      const text = await res.text();
      expect(text, path).not.toContain(SECRET);
      expect(text, path).not.toMatch(/root:/);
    }
  });

  it('takes custom SPA modules from joined hosts only, names them by hash, and serves them back', async () => {
    const module = buildModule(validSpec());
    expect((await upload(server, module)).status).toBe(401);
    expect((await upload(server, module, 'not-a-session')).status).toBe(401);
    const host = await joined(server);
    const res = await upload(server, module, host.sessionToken);
    expect(res.status).toBe(201);
    const { spa } = (await res.json()) as { spa: string };
    expect(spa).toMatch(/^custom:[0-9a-f]{64}$/);
    const fetched = await fetch(`${server.url}/spa/${spa.slice(7)}`);
    expect(fetched.headers.get('content-type')).toBe('application/wasm');
    expect(new Uint8Array(await fetched.arrayBuffer())).toEqual(module);
    const head = await fetch(`${server.url}/spa/${spa.slice(7)}`, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length')]).toEqual([200, String(module.byteLength)]);
    expect((await fetch(`${server.url}/spa/${'0'.repeat(64)}`)).status).toBe(404);
    // The token dies with the host.
    host.close();
    await eventually(() => server.controller.store.hosts.size === 0);
    expect((await upload(server, module, host.sessionToken)).status).toBe(401);
  });

  it('refuses a bad module with the reason, an oversized one by its header and by its bytes', async () => {
    const { sessionToken } = await joined(server);
    const spec = validSpec();
    spec.imports.push({ module: 'env', field: 'fetch', kind: 0, type: 0 });
    const bad = await upload(server, buildModule(spec), sessionToken);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'not a valid SPA: the module imports env.fetch (a function): an SPA may import only env.memory' });
    const text = await upload(server, 'hello', sessionToken);
    expect(await text.json()).toEqual({ error: 'not a valid SPA: this is not a WebAssembly module (no \\0asm header)' });
    const crampedSpec = validSpec();
    crampedSpec.imports[0]!.memory = { flags: 3, min: 1, max: 16 };
    const cramped = await upload(server, buildModule(crampedSpec), sessionToken);
    expect(cramped.status).toBe(400);
    expect(((await cramped.json()) as { error: string }).error).toMatch(/may grow to 16 pages, but a pipeline stage needs 20 \(its 1 initial pages and 19 for chunks of up to 128 KB\)/);
    expect((await upload(server, new Uint8Array(5 * 1024 * 1024), sessionToken)).status).toBe(413);
    // No Content-Length (chunked): the limit is counted as the bytes arrive.
    const chunks = Readable.from((function* () {
      for (let i = 0; i < 80; i++) yield new Uint8Array(64 * 1024);
    })());
    const streamed = await fetch(`${server.url}/spa`, {
      method: 'POST',
      body: Readable.toWeb(chunks) as ReadableStream,
      duplex: 'half',
      headers: { Authorization: `Bearer ${sessionToken}` },
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await fetch(`${server.url}/spa`)).status).toBe(405);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('answers the 17-byte module that crashed it with a 400 and keeps serving', async () => {
    const { sessionToken } = await joined(server);
    const crash = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 7, 1, 0x60, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    const res = await upload(server, crash, sessionToken);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/not a valid SPA: a vector of 4294967295 entries/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('answers a route that throws with a 500 and keeps serving', async () => {
    const memory = vi.spyOn(process, 'memoryUsage').mockImplementation(() => {
      throw new Error('injected');
    });
    try {
      expect((await fetch(`${server.url}/metrics`)).status).toBe(500);
    } finally {
      memory.mockRestore();
    }
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
  });
});

describe('SPA module store', () => {
  const servers: RunningServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });
  async function serverWith(spaModules: Partial<SpaModuleLimits>): Promise<RunningServer> {
    const s = await startServer({ port: 0, host: '127.0.0.1', logger: silentLogger, limits: { spaModules: { ...DEFAULT_SPA_MODULE_LIMITS, ...spaModules } } });
    servers.push(s);
    return s;
  }
  const spaOf = async (res: Response) => ((await res.json()) as { spa: string }).spa;

  it('holds each host to its quota', async () => {
    const s = await serverWith({ maxModulesPerHost: 2 });
    const a = await joined(s);
    const b = await joined(s);
    expect((await upload(s, distinctModule(1), a.sessionToken)).status).toBe(201);
    expect((await upload(s, distinctModule(2), a.sessionToken)).status).toBe(201);
    expect((await upload(s, distinctModule(1), a.sessionToken)).status).toBe(201); // the same again costs nothing
    const over = await upload(s, distinctModule(3), a.sessionToken);
    expect(over.status).toBe(429);
    expect(((await over.json()) as { error: string }).error).toMatch(/keeps 2 SPA modules/);
    expect((await upload(s, distinctModule(3), b.sessionToken)).status).toBe(201);
  });

  it('evicts the oldest module no subscription uses, never one in use, and says when all are in use', async () => {
    const s = await serverWith({ maxModules: 2 });
    const publisher = await joined(s);
    const subscriber = await joined(s);
    await publisher.request('channel:publish', { name: 'cam', kind: 'sensor', codec: { codec: 'f32', rateHz: 10, fields: ['t'] } });
    const used = await spaOf(await upload(s, distinctModule(1), subscriber.sessionToken));
    const unused = await spaOf(await upload(s, distinctModule(2), publisher.sessionToken));
    await subscriber.request('subscription:create', { channel: 'cam', maxLatencyMs: 100, pipeline: [{ spa: used }] });
    const third = await spaOf(await upload(s, distinctModule(3), publisher.sessionToken));
    expect((await fetch(`${s.url}/spa/${used.slice(7)}`)).status).toBe(200);
    expect((await fetch(`${s.url}/spa/${unused.slice(7)}`)).status).toBe(404);
    await subscriber.request('subscription:create', { channel: 'cam', maxLatencyMs: 100, pipeline: [{ spa: third }] });
    const full = await upload(s, distinctModule(4), publisher.sessionToken);
    expect(full.status).toBe(507);
    expect((await fetch(`${s.url}/spa/${used.slice(7)}`)).status).toBe(200);
    expect((await fetch(`${s.url}/spa/${third.slice(7)}`)).status).toBe(200);
  });

  it('takes one upload at a time per host, a bounded number in all, and drops one that dawdles', async () => {
    const s = await serverWith({ maxConcurrentUploads: 1, uploadTimeoutMs: 2000 });
    const a = await joined(s);
    const b = await joined(s);
    // A slow upload: headers and a few bytes, then nothing.
    const { port } = new URL(s.url);
    const slow = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/spa', headers: { Authorization: `Bearer ${a.sessionToken}`, 'Content-Length': '1000' } });
    const slowStatus = new Promise<number>((resolve, reject) => {
      slow.on('response', (res) => resolve(res.statusCode ?? 0));
      slow.on('error', reject);
    });
    slow.write(new Uint8Array(10));
    // Once the server has taken the slow upload, a second one from the same host is refused
    // (asked until then: a fixed sleep could end first on a loaded machine).
    let second = 0;
    for (const deadline = Date.now() + 10_000; second !== 429 && Date.now() < deadline; ) second = (await upload(s, distinctModule(1), a.sessionToken)).status;
    expect(second).toBe(429);
    expect((await upload(s, distinctModule(1), b.sessionToken)).status).toBe(503);
    expect(await slowStatus).toBe(408);
    slow.destroy();
    expect((await upload(s, distinctModule(1), b.sessionToken)).status).toBe(201);
  });
});

describe('static files', () => {
  async function serve(handler: ReturnType<typeof createStaticHandler>): Promise<{ url: string; close(): Promise<void> }> {
    const http = createServer((req, res) => void handler(req, res).catch(() => res.destroy()));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
      close: () => new Promise((resolve) => (http.closeAllConnections(), http.close(() => resolve()))),
    };
  }

  it('serves every path under a web root given with a trailing slash', async () => {
    const root = webRootWithSecretBeside();
    const http = await serve(createStaticHandler(`${root}/`));
    try {
      expect((await fetch(`${http.url}/assets/app.js`)).status).toBe(200);
      expect((await fetch(`${http.url}/observer`)).status).toBe(200);
      expect(await (await fetch(`${http.url}/..%2fsecret.txt`)).text()).not.toContain(SECRET);
    } finally {
      await http.close();
    }
  });

  it('cuts the response, not the process, when a file fails halfway through its read (a redeploy)', async () => {
    const root = webRootWithSecretBeside();
    const failing = (async () => {
      const { open } = await import('node:fs/promises');
      return async (path: string): Promise<FileHandle> => {
        const handle = await open(path, 'r');
        // The handle measures fine, but its reads fail.
        handle.createReadStream = () =>
          new Readable({
            read() {
              void handle.close();
              this.destroy(new Error('ENOENT: the file went away'));
            },
          }) as ReturnType<FileHandle['createReadStream']>;
        return handle;
      };
    })();
    const http = await serve(createStaticHandler(root, await failing));
    try {
      await expect(fetch(`${http.url}/assets/app.js`).then((r) => r.text())).rejects.toThrow();
      expect((await fetch(`${http.url}/missing.js`)).status).toBe(404);
    } finally {
      await http.close();
    }
  });
});

describe('ICE servers', () => {
  it('hands each joined host the static servers and TURN credentials of its own, and new ones before they expire', async () => {
    const server = await startServer({
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger,
      // A 1 s lifetime: the refresh comes within 0.8 s.
      ice: { iceServers: [{ urls: 'stun:stun.test:3478' }], turn: { urls: ['turn:turn.test:3478'], secret: 'north-pole', ttlSeconds: 1 }, iceTransportPolicy: 'relay' },
    });
    try {
      const a = await joined(server);
      const b = new VirtualHost(server.url);
      clients.push(b);
      await b.join({ room: 'lab' });
      const [first] = a.ice;
      expect(first!.iceTransportPolicy).toBe('relay');
      expect(first!.iceServers[0]).toEqual({ urls: 'stun:stun.test:3478' });
      const turn = first!.iceServers[1]!;
      const expiry = Number(turn.username!.split(':')[0]);
      expect(turn).toEqual({ urls: ['turn:turn.test:3478'], ...turnRestCredential('north-pole', expiry, `default/${a.hostId}`) });
      expect(b.ice[0]!.iceServers[1]!.username).toBe(`${expiry}:lab/${b.hostId}`);
      expect(JSON.stringify([a.ice, b.ice])).not.toContain('north-pole');
      await eventually(() => a.ice.length >= 2 && b.ice.length >= 2, 3000, 'refreshed credentials');
      const refreshed = a.ice[1]!.iceServers[1]!;
      expect(Number(refreshed.username!.split(':')[0])).toBeGreaterThanOrEqual(expiry);
      expect(refreshed).toEqual({ urls: ['turn:turn.test:3478'], ...turnRestCredential('north-pole', Number(refreshed.username!.split(':')[0]), `default/${a.hostId}`) });
      // A host that left gets none.
      await a.request('host:leave', {});
      const count = a.ice.length;
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect(a.ice.length).toBe(count);
    } finally {
      await server.close();
    }
  });

  it('hands out no servers when none are configured', async () => {
    const server = await startServer({ port: 0, host: '127.0.0.1', logger: silentLogger });
    try {
      expect((await joined(server)).ice).toEqual([{ iceServers: [], iceTransportPolicy: 'all' }]);
    } finally {
      await server.close();
    }
  });
});
