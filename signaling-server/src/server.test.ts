import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModule, validSpec } from '@cubecast/spa/testing/wasm-builder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from './log.js';
import { startServer, type RunningServer } from './server.js';

describe('server', () => {
  let server: RunningServer;
  beforeAll(async () => {
    const webRoot = mkdtempSync(join(tmpdir(), 'cubecast-web-'));
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>app</title>');
    mkdirSync(join(webRoot, 'assets'));
    writeFileSync(join(webRoot, 'assets', 'app.js'), 'console.log(1)');
    server = await startServer({ port: 0, host: '127.0.0.1', webRoot, logger: silentLogger });
  });
  afterAll(() => server.close());

  it('serves the app with cross-origin isolation headers on every response', async () => {
    for (const path of ['/', '/assets/app.js', '/observer', '/healthz', '/missing.js']) {
      const res = await fetch(server.url + path);
      expect(res.headers.get('cross-origin-opener-policy'), path).toBe('same-origin');
      expect(res.headers.get('cross-origin-embedder-policy'), path).toBe('require-corp');
    }
  });

  it('serves files, falls back to index.html for app routes, 404s missing files', async () => {
    const js = await fetch(`${server.url}/assets/app.js`);
    expect(js.headers.get('content-type')).toMatch(/text\/javascript/);
    expect(await js.text()).toBe('console.log(1)');
    expect(await (await fetch(`${server.url}/observer`)).text()).toMatch(/<title>app/);
    expect((await fetch(`${server.url}/missing.js`)).status).toBe(404);
    expect(await (await fetch(`${server.url}/healthz`)).json()).toMatchObject({ ok: true });
  });

  it('never serves files outside the web root', async () => {
    const res = await fetch(`${server.url}/..%2f..%2f..%2fetc%2fpasswd`);
    expect([403, 404]).toContain(res.status);
    expect(await res.text()).not.toMatch(/root:/);
  });

  it('takes custom SPA modules that follow the ABI, names them by hash, and serves them back', async () => {
    const module = buildModule(validSpec());
    const upload = await fetch(`${server.url}/spa`, { method: 'POST', body: module, headers: { 'Content-Type': 'application/wasm' } });
    expect(upload.status).toBe(201);
    const { spa } = (await upload.json()) as { spa: string };
    expect(spa).toMatch(/^custom:[0-9a-f]{64}$/);
    const fetched = await fetch(`${server.url}/spa/${spa.slice(7)}`);
    expect(fetched.headers.get('content-type')).toBe('application/wasm');
    expect(new Uint8Array(await fetched.arrayBuffer())).toEqual(module);
    expect((await fetch(`${server.url}/spa/${'0'.repeat(64)}`)).status).toBe(404);
  });

  it('refuses a bad module with the reason, and an oversized one', async () => {
    const spec = validSpec();
    spec.imports.push({ module: 'env', field: 'fetch', kind: 0, type: 0 });
    const bad = await fetch(`${server.url}/spa`, { method: 'POST', body: buildModule(spec) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'not a valid SPA: the module imports env.fetch (a function): an SPA may import only env.memory' });
    const text = await fetch(`${server.url}/spa`, { method: 'POST', body: 'hello' });
    expect(await text.json()).toEqual({ error: 'not a valid SPA: this is not a WebAssembly module (no \\0asm header)' });
    const crampedSpec = validSpec();
    crampedSpec.imports[0]!.memory = { flags: 3, min: 1, max: 16 };
    const cramped = await fetch(`${server.url}/spa`, { method: 'POST', body: buildModule(crampedSpec) });
    expect(cramped.status).toBe(400);
    expect(((await cramped.json()) as { error: string }).error).toMatch(/may grow to 16 pages, but a pipeline stage needs 20 \(its 1 initial pages and 19 for chunks of up to 128 KB\)/);
    const huge = await fetch(`${server.url}/spa`, { method: 'POST', body: new Uint8Array(5 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    expect((await fetch(`${server.url}/spa`)).status).toBe(405);
  });
});
