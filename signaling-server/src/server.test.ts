import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
