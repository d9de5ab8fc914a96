import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cube, mRegion, regionTable } from '@cubecast/overlay';
import { describe, expect, it } from 'vitest';
import { run } from './main.js';

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('cubecast cube mregion', () => {
  it('prints the issue example exactly', async () => {
    const r = await cli('cube', 'mregion', '65536');
    expect(r).toEqual({
      code: 0,
      stdout: '{"k":3,"n":11,"M":177147,"avgHops":7.333333333333333,"diameter":11,"degree":22}',
      stderr: '',
    });
  });

  it('answers any valid m as the overlay does', async () => {
    for (const m of [1, 2, 9, 10, 1000, 59049, 59050, 1_000_000_000]) {
      expect(JSON.parse((await cli('cube', 'mregion', String(m))).stdout)).toEqual(mRegion(m));
    }
  });
});

describe('cubecast cube route', () => {
  it('prints the path in text form, source and destination included', async () => {
    const r = await cli('cube', 'route', '--k', '3', '--n', '4', '--from', '0120', '--to', '2201', '--policy', 'odr');
    expect(r).toEqual({ code: 0, stdout: '{"path":["0120","2120","2220","2200","2201"]}', stderr: '' });
  });

  it('gives minimal paths for every policy, seeded and repeatable', async () => {
    const cube = new Cube(4, 3);
    for (const policy of ['odr', 'random', 'greedy']) {
      const args = ['cube', 'route', '--k', '4', '--n', '3', '--from', '013', '--to', '322', '--policy', policy, '--seed', '9'];
      const first = JSON.parse((await cli(...args)).stdout) as { path: string[] };
      expect(first.path.length - 1).toBe(cube.hopDistance(cube.fromText('013'), cube.fromText('322')));
      expect(first.path[0]).toBe('013');
      expect(first.path.at(-1)).toBe('322');
      expect(JSON.parse((await cli(...args)).stdout)).toEqual(first);
    }
  });

  it('takes measured costs from a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cubecast-'));
    const file = join(dir, 'costs.json');
    // 2-ary 2-cube from 00 to 11: make the odr way (via 10) dear and the other way cheap.
    writeFileSync(file, JSON.stringify({ '00-10': 50, '10-11': 1, '00-01': 1, '01-11': 1 }));
    const r = await cli('cube', 'route', '--k', '2', '--n', '2', '--from', '00', '--to', '11', '--costs', file);
    expect(r.stdout).toBe('{"path":["00","01","11"]}');
    writeFileSync(file, JSON.stringify({ '00-11': 5 }));
    const bad = await cli('cube', 'route', '--k', '2', '--n', '2', '--from', '00', '--to', '11', '--costs', file);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/"00-11" is not a link/);
    writeFileSync(file, '{"00-01": -3}');
    expect((await cli('cube', 'route', '--k', '2', '--n', '2', '--from', '00', '--to', '11', '--costs', file)).stderr).toMatch(
      /non-negative number/,
    );
    writeFileSync(file, 'not json');
    expect((await cli('cube', 'route', '--k', '2', '--n', '2', '--from', '00', '--to', '11', '--costs', file)).code).toBe(2);
  });
});

describe('cubecast cube regions', () => {
  it('prints the region table', async () => {
    expect(JSON.parse((await cli('cube', 'regions', '--max', '5000')).stdout)).toEqual({ regions: regionTable(5000) });
    const all = JSON.parse((await cli('cube', 'regions')).stdout) as { regions: { maxHosts: number }[] };
    expect(all.regions.at(-1)!.maxHosts).toBe(10_000_000);
  });
});

describe('bad input', () => {
  it.each([
    [['cube', 'mregion', 'abc'], /whole number/],
    [['cube', 'mregion', '0'], /from 1 to/],
    [['cube', 'mregion', '-5'], /Unknown option '-5'/],
    [['cube', 'mregion', '1e3'], /whole number/],
    [['cube', 'mregion'], /one host count/],
    [['cube', 'mregion', '1', '2'], /one host count/],
    [['cube', 'route', '--k', '1', '--n', '2', '--from', '00', '--to', '11'], /--k must be from 2 to 36/],
    [['cube', 'route', '--k', '37', '--n', '2', '--from', '00', '--to', '11'], /--k must be from 2 to 36/],
    [['cube', 'route', '--k', 'three', '--n', '2'], /--k must be a whole number/],
    [['cube', 'route', '--k', '3', '--n', '2', '--from', '03', '--to', '11'], /'3' is not a base-3 digit/],
    [['cube', 'route', '--k', '3', '--n', '2', '--from', '000', '--to', '11'], /expected 2 base-3 digits/],
    [['cube', 'route', '--k', '3', '--n', '2', '--to', '11'], /missing --from/],
    [['cube', 'route', '--k', '3', '--n', '2', '--from', '00', '--to', '11', '--policy', 'shortest'], /unknown policy "shortest"/],
    [['cube', 'route', '--k', '3', '--n', '21', '--from', '0', '--to', '1'], /more than 2\^32/],
    [['cube', 'route', '--k', '2', '--n', '33', '--from', '0', '--to', '1'], /--n must be from 1 to 32/],
    [['cube', 'route', '--k', '3', '--n', '2', '--from', '00', '--to', '11', '--policy', 'odr', '--costs', 'x.json'], /greedy policy only/],
    [['cube', 'regions', '--max', '0'], /--max must be from 1/],
    [['cube', 'regions', '--frob'], /Unknown option '--frob'/],
    [['cube', 'dance'], /unknown command "cube dance"/],
    [['dance'], /unknown command "dance"/],
    [['serve', '--port', '70000'], /--port must be from 0 to 65535/],
    [['serve', '--max-connections-per-address', '0'], /--max-connections-per-address must be from 1 to 1000000, got 0/],
    [['serve', '--tls', 'yes'], /--tls takes self-signed only/],
    [['serve', '--algorithm', 'flood'], /--algorithm must name one of cube, gossip, coding, stress-tree, unicast-tree, random-tree, sflow, got "flood"/],
    [['serve', '--algorithm', 'lab=flood'], /--algorithm must name one of cube, gossip, coding, stress-tree, unicast-tree, random-tree, sflow, got "flood"/],
    [['serve', '--algorithm', 'cube', '--algorithm', 'cube'], /--algorithm without a room is given twice/],
    [['serve', '--algorithm', 'lab=cube', '--algorithm', 'lab=cube'], /--algorithm names room "lab" twice/],
    [['serve', '--algorithm', '=cube'], /"" is not a room name/],
    [['serve', '--tls', 'self-signed', '--tls-cert', 'a.pem', '--tls-key', 'b.pem'], /give it or --tls-cert\/--tls-key, not both/],
    [['serve', '--tls-cert', 'a.pem'], /--tls-cert and --tls-key go together \(--tls-key is missing\)/],
    [['serve', '--tls-cert', '/nonexistent/a.pem', '--tls-key', '/nonexistent/b.pem'], /cannot read the TLS certificate \/nonexistent\/a\.pem: ENOENT/],
  ])('%j exits 2 with one clear line', async (argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^cubecast: /);
  });
});

describe('--help', () => {
  it.each([[[]], [['--help']], [['cube']], [['cube', '--help']], [['cube', 'mregion', '--help']], [['cube', 'route', '-h']], [['cube', 'regions', '--help']], [['serve', '--help']]])(
    '%j prints usage and exits 0',
    async (argv) => {
      const r = await cli(...argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: cubecast/);
    },
  );
});

describe('the installed command', () => {
  it('runs as `npx cubecast` from the repository root with the right exit codes', async () => {
    const root = join(import.meta.dirname, '..', '..', '..');
    const exec = promisify(execFile);
    const ok = await exec('npx', ['--no-install', 'cubecast', 'cube', 'mregion', '65536'], { cwd: root });
    expect(ok.stdout.trim()).toBe('{"k":3,"n":11,"M":177147,"avgHops":7.333333333333333,"diameter":11,"degree":22}');
    const bad = await exec('npx', ['--no-install', 'cubecast', 'cube', 'mregion', 'x'], { cwd: root }).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringMatching(/^cubecast: the host count m must be a whole number/m) });
  });

  it('stops quietly when its reader goes away (`| head`)', async () => {
    const bin = new URL('../bin/cubecast.js', import.meta.url).pathname;
    const child = spawn(process.execPath, [bin, 'cube', 'regions', '--max', '1048576'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before the command writes anything: every write fails with EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });
});

describe('cubecast serve', () => {
  it('serves, logs JSON lines, and stops cleanly on SIGTERM', async () => {
    const { spawn } = await import('node:child_process');
    const bin = join(import.meta.dirname, '..', 'bin', 'cubecast.js');
    const webRoot = mkdtempSync(join(tmpdir(), 'cubecast-web-'));
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>t</title>');
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--web-root', webRoot], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const deadline = Date.now() + 10_000;
    while (!/serving the web app at (http:\S+)/.test(stdout) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const url = /serving the web app at (http:\S+)/.exec(stdout)![1]!;
    const res = await fetch(`${url}/`);
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    const events = stderr.trim().split('\n').map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events).toEqual(['server:listening', 'server:closed']);
  });

  it('refuses bad ICE settings at start in one line, and says which ICE servers it hands out', async () => {
    const { spawn } = await import('node:child_process');
    const bin = join(import.meta.dirname, '..', 'bin', 'cubecast.js');
    const webRoot = mkdtempSync(join(tmpdir(), 'cubecast-web-'));
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>t</title>');
    const serve = (env: Record<string, string>, stopWhen?: RegExp) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--web-root', webRoot], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => {
          stdout += d;
          // Its SIGTERM handler is set right after the last line: give it a moment.
          if (stopWhen?.test(stdout)) setTimeout(() => child.kill('SIGTERM'), 200);
        });
        child.stderr.on('data', (d: Buffer) => (stderr += d));
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
    const bad = await serve({ CUBECAST_TURN_URLS: 'turn:turn.example:3478' });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('cubecast: CUBECAST_TURN_URLS needs CUBECAST_TURN_SECRET (the static-auth-secret of the TURN server)');
    const good = await serve({ CUBECAST_ICE_SERVERS: '[{"urls":"stun:stun.example:3478"}]', CUBECAST_TURN_URLS: 'turn:turn.example:3478', CUBECAST_TURN_SECRET: 'north-pole' }, /Ctrl-C stops it/);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('ICE: stun:stun.example:3478, turn:turn.example:3478; TURN credentials per tab, valid 86400 s');
    expect(good.stdout + good.stderr).not.toContain('north-pole');
  });

  it('serves HTTPS with a self-signed certificate and prints the fingerprint of the one it serves', async () => {
    const { spawn } = await import('node:child_process');
    const { connect } = await import('node:tls');
    const bin = join(import.meta.dirname, '..', 'bin', 'cubecast.js');
    const webRoot = mkdtempSync(join(tmpdir(), 'cubecast-web-'));
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>t</title>');
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--web-root', webRoot, '--tls', 'self-signed'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const deadline = Date.now() + 10_000;
      while (!stdout.includes('Ctrl-C stops it') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const url = new URL(/serving the web app at (\S+)/.exec(stdout)![1]!);
      expect(url.protocol).toBe('https:');
      const printed = /SHA-256 fingerprint ([0-9A-F:]{95})/.exec(stdout)![1];
      expect(stdout).toContain('DNS:localhost');
      const served = await new Promise<string>((resolve, reject) => {
        const socket = connect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false }, () => {
          resolve(socket.getPeerX509Certificate()!.fingerprint256);
          socket.end();
        });
        socket.on('error', reject);
      });
      expect(served).toBe(printed);
    } finally {
      child.kill('SIGTERM');
      await exit;
    }
  });

  it('refuses a --web-root with no app in it', async () => {
    const r = await cli('serve', '--port', '0', '--web-root', mkdtempSync(join(tmpdir(), 'empty-')));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no index.html in --web-root/);
  });
});

describe('cubecast sim', () => {
  it('lists the experiments and options in --help', async () => {
    const r = await cli('sim', '--help');
    expect(r.code).toBe(0);
    for (const name of ['delay-penalty', 'success-ratio', 'lateness', 'link-stress', 'mregion', 'churn', '--hosts', '--seed', '--out']) {
      expect(r.stdout).toContain(name);
    }
  });

  it('refuses an unknown experiment, a host count that is not a power of 16, and stray arguments', async () => {
    expect(await cli('sim', 'fig9')).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown experiment "fig9"/) });
    expect(await cli('sim', 'mregion', '--hosts', '1000')).toMatchObject({ code: 2, stderr: expect.stringMatching(/power of 16/) });
    expect(await cli('sim', 'mregion', '--seed', '-1')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--seed/) });
    expect(await cli('sim', 'mregion', 'churn')).toMatchObject({ code: 2, stderr: expect.stringMatching(/one experiment at a time/) });
  });

  it('writes the JSON and SVG, prints the table, the wall time and peak memory, and shows progress', async () => {
    const out = mkdtempSync(join(tmpdir(), 'cubecast-sim-'));
    const shown: string[] = [];
    const stdout: string[] = [];
    const code = await run(['sim', 'delay-penalty', '--hosts', '256', '--out', out], {
      out: (t) => stdout.push(t),
      err: () => {},
      status: { live: false, show: (t) => shown.push(t), done: () => {} },
    });
    expect(code).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'delay-penalty.json'), 'utf8'));
    expect(json).toMatchObject({ experiment: 'delay-penalty', hosts: 256, seed: 1 });
    expect(readFileSync(join(out, 'delay-penalty.svg'), 'utf8')).toMatch(/^<svg/);
    expect(stdout.join('\n')).toMatch(/2x8\s+greedy/);
    expect(stdout.join('\n')).toMatch(/wall time \d+\.\d s, peak memory \d+ MB/);
    expect(shown.at(-1)).toMatch(/^\[#+\] 100%/);
  });

  it('runs an experiment that splits into parts on worker threads, with the same result as on one, and progress to 100%', async () => {
    const resultWith = async (workers: string) => {
      const out = mkdtempSync(join(tmpdir(), 'cubecast-sim-'));
      const shown: string[] = [];
      const code = await run(['sim', 'success-ratio', '--hosts', '256', '--workers', workers, '--out', out], { out: () => {}, err: () => {}, status: { live: false, show: (t) => shown.push(t), done: () => {} } });
      expect(code).toBe(0);
      expect(shown.at(-1)).toMatch(/^\[#+\] 100%/);
      return readFileSync(join(out, 'success-ratio.json'), 'utf8');
    };
    const [one, three] = [await resultWith('1'), await resultWith('3')];
    expect(JSON.parse(three).rows.length).toBeGreaterThan(0);
    expect(three).toBe(one);
    expect(await cli('sim', 'lateness', '--workers', '0')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--workers/) });
  }, 60_000);
});
