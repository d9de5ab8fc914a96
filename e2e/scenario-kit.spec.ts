import { Overlay, type Timeline } from '@cubecast/scenario';
import { expect, test } from '@playwright/test';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Whether something still listens at host:port. */
function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

const frames = (timeline: Timeline, index: number) => timeline.samples.flatMap((s) => (s.tabs[index] ? [s.tabs[index]!.subscriptions[0]?.framesDecoded ?? 0] : []));

test('the overlay on two nodes and Redis: the recorder agrees with the tabs\' own counters, a crash is on the timeline, and close takes everything down', async ({ browser }, testInfo) => {
  const overlay = await Overlay.start(browser, { nodes: 2, tickMs: 250 }, { title: 'kit', file: 'e2e/scenario-kit.spec.ts' });
  const addresses: [string, number][] = [];
  let pages;
  try {
    for (const server of overlay.servers) addresses.push(['127.0.0.1', Number(new URL(server.url).port)]);
    addresses.push(['127.0.0.1', Number(new URL(overlay.redisUrl!).port)]);
    const [publisher] = await overlay.open(1, { node: 0 });
    const subscribers = await overlay.open(2, { node: 1, position: [10, 10] });
    pages = overlay.tabs.map((t) => t.page);
    await publisher!.publish('cam');
    for (const tab of subscribers) await tab.subscribe('cam', { maxLatencyMs: 1000 });
    await overlay.waitFor('both subscribers decode 20 frames', (s) => subscribers.every((t) => (s.tabs[t.index]?.subscriptions[0]?.framesDecoded ?? 0) >= 20), { timeoutMs: 60_000 });

    // A sample, then the tabs' own counters read right after: the same hosts and links, and
    // frames no more than the tabs have now (nor far fewer: a 30 fps stream in the gap).
    const sample = await overlay.recorder.sample();
    const live = await Promise.all(overlay.tabs.map((t) => t.snapshot()));
    for (const [i, tab] of overlay.tabs.entries()) {
      expect(sample.tabs[tab.index]!.hostId).toBe(live[i]!.hostId);
      expect(tab.hostId).toBe(live[i]!.hostId);
      expect(sample.tabs[tab.index]!.ids).toEqual(live[i]!.ids);
    }
    for (const tab of subscribers) {
      const recorded = sample.tabs[tab.index]!.subscriptions[0]!.framesDecoded;
      const now = live[tab.index]!.subscriptions[0]!.framesDecoded;
      expect(recorded).toBeLessThanOrEqual(now);
      expect(now - recorded).toBeLessThan(30);
    }
    expect(sample.server?.hosts).toBe(3);

    const victim = subscribers[1]!;
    await victim.crash();
    const gone = await overlay.waitFor('the server drops the crashed tab', (s) => s.server?.hosts === 2 && s.tabs[victim.index] === undefined, { timeoutMs: 15_000 });
    await expect(victim.snapshot()).rejects.toThrow(`tab ${victim.index} was crashed`);
    await expect.poll(() => overlay.recorder.timeline.events.some((e) => e.source === 'server' && e.type === 'leave' && e.hostId === victim.hostId)).toBe(true);

    const dir = testInfo.outputPath('report');
    const report = await overlay.writeReport(dir, { status: 'passed', durationMs: 1 });
    expect(existsSync(report)).toBe(true);
    const timeline = JSON.parse(readFileSync(join(dir, 'timeline.json'), 'utf8')) as Timeline;
    // On the tick: sample times increase, about 250 ms apart (a slow sample may stretch one).
    const gaps = timeline.samples.slice(1).map((s, i) => s.t - timeline.samples[i]!.t);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(0);
    expect(gaps.filter((g) => g > 150 && g < 600).length).toBeGreaterThan(gaps.length / 2);
    // A tab's counter never goes back in the record, and the last recorded is what it had.
    for (const tab of subscribers) {
      const recorded = frames(timeline, tab.index);
      expect(recorded.every((f, i) => i === 0 || f >= recorded[i - 1]!)).toBe(true);
    }
    expect(frames(timeline, subscribers[0]!.index).at(-1)).toBeGreaterThanOrEqual(live[subscribers[0]!.index]!.subscriptions[0]!.framesDecoded);
    // The crash is on the time axis, before the first sample without the tab, and after its last.
    const crash = timeline.events.find((e) => e.type === 'crash')!;
    expect(crash.tab).toBe(victim.index);
    const lastWith = timeline.samples.filter((s) => s.tabs[victim.index]).at(-1)!.t;
    expect(crash.t).toBeGreaterThanOrEqual(lastWith - 2000);
    expect(crash.t).toBeLessThanOrEqual(gone.t);
    expect(timeline.tabs.find((t) => t.index === victim.index)).toMatchObject({ end: 'crashed', hostId: victim.hostId });
    expect(overlay.pageErrors).toEqual([]);
  } finally {
    await overlay.close();
  }
  // Closed: the pages, both nodes and redis-server.
  expect(pages!.every((p) => p.isClosed())).toBe(true);
  for (const [host, port] of addresses) expect(await listening(host, port), `${host}:${port} still listens`).toBe(false);
  await expect(overlay.open(1)).rejects.toThrow('the overlay is closed');
});

test('in NAT homes: loss into a home, on one link, and everywhere, as iptables rules the overlay removes with its namespaces', async ({ browser }) => {
  test.setTimeout(120_000);
  const overlay = await Overlay.start(browser, { homes: ['eim', 'eim'] }, { title: 'kit homes', file: 'e2e/scenario-kit.spec.ts' });
  const rules = (namespace?: string) => execFileSync(namespace ? 'ip' : 'iptables', namespace ? ['netns', 'exec', namespace, 'iptables', '-S', 'INPUT'] : ['-S', 'INPUT'], { encoding: 'utf8' });
  /** The UDP drop rules in a namespace: their source (if any) and probability (iptables keeps it to 2^-31). */
  const drops = (namespace?: string) =>
    [...rules(namespace).matchAll(/-A INPUT (?:-s (\S+) )?-p udp -m statistic --mode random --probability ([\d.]+) -j DROP/g)].map((m) => ({ from: m[1], p: Math.round(Number(m[2]) * 1000) / 1000 }));
  let namespaces: string[] = [];
  try {
    const network = overlay.network!;
    namespaces = network.homes.flatMap((h) => [h.namespace, h.router]);
    const [publisher] = await overlay.open(1, { home: 1 });
    const [subscriber] = await overlay.open(1, { home: 2 });
    await publisher!.publish('cam');
    await subscriber!.subscribe('cam', { maxLatencyMs: 2000 });
    await overlay.waitFor('the subscriber in home 2 decodes 20 frames', (s) => (s.tabs[subscriber!.index]?.subscriptions[0]?.framesDecoded ?? 0) >= 20, { timeoutMs: 60_000 });

    overlay.setLoss(0.3, { home: 2 });
    expect(drops(network.homes[1]!.namespace)).toEqual([{ from: undefined, p: 0.3 }]);
    // The loss is real: the link between the homes measures it.
    await expect
      .poll(async () => Math.max(...(await Promise.all([publisher!, subscriber!].map(async (t) => (await t.snapshot()).links[0]?.lossRate ?? 0)))), { timeout: 30_000 })
      .toBeGreaterThan(0.05);
    overlay.setLoss(0, { home: 2 });
    expect(drops(network.homes[1]!.namespace)).toEqual([]);

    overlay.setLoss(0.2, { home: 2, from: 1 });
    expect(drops(network.homes[1]!.namespace)).toEqual([{ from: `${network.homes[0]!.publicAddress}/32`, p: 0.2 }]);
    overlay.setLoss(0.1);
    expect(drops()).toEqual([{ from: undefined, p: 0.1 }]);
    expect(() => overlay.setLoss(0.1, { home: 3 })).toThrow('there is no home 3');
    expect(() => overlay.setLoss(0.1, { from: 1 })).toThrow('loss on a link names both ends');
    const losses = overlay.recorder.timeline.events.filter((e) => e.type === 'loss').map((e) => e.message);
    expect(losses).toEqual(['30% UDP loss into home 2', '0% UDP loss into home 2', '20% UDP loss into home 1 to home 2', '10% UDP loss into every tab']);
  } finally {
    await overlay.close();
  }
  expect(drops()).toEqual([]);
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const namespace of namespaces) expect(left).not.toContain(namespace);
});

const cli = new URL('../packages/cli/bin/cubecast.js', import.meta.url).pathname;

/** The built `cubecast` command's exit code and output. */
function cubecast(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [cli, ...args], { maxBuffer: 16 << 20 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

test('cubecast scenario new writes a starter that cubecast scenario run runs to a passing report', async () => {
  test.setTimeout(180_000);
  const dir = mkdtempSync(join(new URL('./scenario-kit/', import.meta.url).pathname, 'new-'));
  try {
    const created = await cubecast('scenario', 'new', join(dir, 'starter'));
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const out = join(dir, 'reports');
    const result = await cubecast('scenario', 'run', join(dir, 'starter.scenario.ts'), '--out', out);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`passed: starter\n  report: ${join(out, 'starter', 'report.html')}`);
    const timeline = JSON.parse(readFileSync(join(out, 'starter', 'timeline.json'), 'utf8')) as Timeline;
    expect(timeline.outcome?.status).toBe('passed');
    expect(timeline.events.some((e) => e.type === 'crash')).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cubecast scenario run: a failing scenario ends in one line naming what failed, and its report is still written', async () => {
  test.setTimeout(120_000);
  const out = mkdtempSync(join(tmpdir(), 'cubecast-kit-'));
  const file = new URL('./scenario-kit/fails.scenario.ts', import.meta.url).pathname;
  const result = await cubecast('scenario', 'run', file, '--out', out);
  expect(result.code).toBe(1);
  const report = join(out, 'a-scenario-that-fails', 'report.html');
  expect(result.stderr.trim().split('\n').at(-1)).toBe(`cubecast: scenario failed: WaitTimeoutError: waited 3 s for a frame from a channel nobody publishes (report: ${report})`);
  // Progress was shown as it went: the script's steps and the server's events.
  expect(result.stdout).toMatch(/publish +tab 0 publishes camera "cam"/);
  expect(result.stdout).toMatch(/join +h\d+ joined/);
  const timeline = JSON.parse(readFileSync(join(out, 'a-scenario-that-fails', 'timeline.json'), 'utf8')) as Timeline;
  expect(timeline.outcome).toMatchObject({ status: 'failed' });
  expect(timeline.samples.length).toBeGreaterThan(3);
  expect(readFileSync(report, 'utf8')).toContain('<strong>failed</strong>');
});
