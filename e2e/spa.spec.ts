import { buildModule, i32, op, validSpec } from '@cubecast/spa/testing/wasm-builder';
import type { Page } from '@playwright/test';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, framesDecoded, publishCamera, snapshot, snapshots, test, type Snapshot, type Tabs } from './fixtures.js';

/** Subscribes through the page's controls with a pipeline from the list. */
async function subscribeWith(page: Page, channel: string, pipeline: string, boundMs = 2000): Promise<void> {
  const item = page.getByTestId('channel-list').locator(`li[data-channel="${channel}"]`);
  await item.getByTestId('pipeline-select').selectOption(pipeline);
  await item.getByTestId('max-latency-input').fill(String(boundMs));
  await item.getByTestId('subscribe-button').click();
  await expect.poll(async () => (await snapshot(page))?.subscriptions.some((s) => s.channel === channel)).toBe(true);
}

/** How far the player's canvas is from gray: the mean of |R-G| + |G-B| over its pixels. */
function colourfulness(page: Page): Promise<{ width: number; chroma: number }> {
  return page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="player"] canvas')!;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    let sum = 0;
    for (let i = 0; i < data.length; i += 4) sum += Math.abs(data[i]! - data[i + 1]!) + Math.abs(data[i + 1]! - data[i + 2]!);
    return { width: canvas.width, chroma: sum / (data.length / 4) };
  });
}

/** Three tabs: the first publishes the fake camera as `cam`, the others subscribe with these pipelines. */
async function publisherAndTwoSubscribers(tabs: Tabs, first: string, second: string): Promise<[Page, Page, Page]> {
  for (let i = 0; i < 3; i++) await tabs.open();
  const [publisher, a, b] = tabs.pages as [Page, Page, Page];
  await publishCamera(publisher, 'cam');
  await subscribeWith(a, 'cam', first);
  await subscribeWith(b, 'cam', second);
  return [publisher, a, b];
}

const receivedKbps = (s: Snapshot) => s.links.reduce((sum, link) => sum + link.receivedKbps, 0);

test('a grayscale subscriber gets gray, half-size frames while another gets colour', async ({ tabs }) => {
  const [, gray, colour] = await publisherAndTwoSubscribers(tabs, 'gray-small', 'full');
  await expect
    .poll(async () => Math.min(...(await snapshots([gray, colour])).map((s) => framesDecoded(s, 'cam'))), { timeout: 60_000, intervals: [1000] })
    .toBeGreaterThanOrEqual(30);
  const grayPixels = await colourfulness(gray);
  const colourPixels = await colourfulness(colour);
  console.log(`mean |R-G|+|G-B|: grayscale ${grayPixels.chroma.toFixed(2)}, full ${colourPixels.chroma.toFixed(2)}`);
  expect(grayPixels.width, 'pixels halves the frame').toBe(colourPixels.width / 2);
  expect(grayPixels.chroma, 'gray frames have R = G = B').toBeLessThan(2);
  expect(colourPixels.chroma, 'the fake camera is colourful').toBeGreaterThan(10);
  // Some host runs the pipeline and reports its per-chunk time.
  const running = (await snapshots(tabs.pages)).flatMap((s) => s.spas).find((spa) => spa.pipeline.join() === 'pixels');
  expect(running).toMatchObject({ channel: 'cam', state: 'running' });
  expect(running!.stages[0]!.chunksIn).toBeGreaterThan(0);
  expect(running!.stages[0]!.meanMicros).toBeGreaterThan(0);
});

test('a low-frame-rate subscriber decodes about a quarter of the frames, and its link carries a fraction of the bytes', async ({ tabs }) => {
  const [, low, full] = await publisherAndTwoSubscribers(tabs, 'low-fps', 'full');
  await expect.poll(async () => framesDecoded((await snapshot(low))!, 'cam'), { timeout: 60_000, intervals: [1000] }).toBeGreaterThanOrEqual(10);
  await expect.poll(async () => framesDecoded((await snapshot(full))!, 'cam'), { timeout: 60_000, intervals: [1000] }).toBeGreaterThanOrEqual(30);
  // Over the same 10 s: frames decoded, and bytes per second into each subscriber.
  const [lowBefore, fullBefore] = await snapshots([low, full]);
  const rates: { low: number; full: number }[] = [];
  for (let i = 0; i < 10; i++) {
    await low.waitForTimeout(1000);
    const [l, f] = await snapshots([low, full]);
    rates.push({ low: receivedKbps(l!), full: receivedKbps(f!) });
  }
  const [lowAfter, fullAfter] = await snapshots([low, full]);
  const frameShare = (framesDecoded(lowAfter!, 'cam') - framesDecoded(lowBefore!, 'cam')) / (framesDecoded(fullAfter!, 'cam') - framesDecoded(fullBefore!, 'cam'));
  const byteShare = rates.reduce((s, r) => s + r.low, 0) / rates.reduce((s, r) => s + r.full, 0);
  console.log(`low-fps: ${(frameShare * 100).toFixed(1)}% of the frames, ${(byteShare * 100).toFixed(1)}% of the bytes`);
  // L1T3's base layer is every 4th frame: 25% of the frames; it is the costlier layer.
  expect(frameShare).toBeGreaterThan(0.15);
  expect(frameShare).toBeLessThan(0.35);
  expect(byteShare).toBeGreaterThan(0.1);
  expect(byteShare).toBeLessThan(0.6);
});

test('a custom SPA: a bad module is refused; one that loops forever is stopped, its subscriber told, the others go on', async ({ tabs }) => {
  for (let i = 0; i < 3; i++) await tabs.open();
  const [publisher, runaway, other] = tabs.pages as [Page, Page, Page];
  await publishCamera(publisher, 'cam');
  await subscribeWith(other, 'cam', 'full');
  await expect.poll(async () => framesDecoded((await snapshot(other))!, 'cam'), { timeout: 60_000, intervals: [1000] }).toBeGreaterThanOrEqual(10);

  const item = runaway.getByTestId('channel-list').locator('li[data-channel="cam"]');
  await item.getByTestId('pipeline-select').selectOption('custom');
  const bad = validSpec();
  bad.imports.push({ module: 'env', field: 'fetch', kind: 0, type: 0 });
  await item.getByTestId('spa-file-input').setInputFiles({ name: 'fetcher.wasm', mimeType: 'application/wasm', buffer: Buffer.from(buildModule(bad)) });
  await expect(item.getByTestId('spa-refused')).toContainText('an SPA may import only env.memory');

  const spin = validSpec();
  spin.functions[1] = { params: [i32, i32, i32, i32], results: [i32], body: [...op.spinForever, ...op.returnI32(0)] };
  const file = join(tmpdir(), `spin-${process.pid}.wasm`);
  writeFileSync(file, buildModule(spin));
  await item.getByTestId('spa-file-input').setInputFiles(file);
  await expect(item.getByTestId('spa-ready')).toBeVisible();
  await item.getByTestId('subscribe-button').click();

  await expect.poll(async () => (await snapshot(runaway))?.subscriptions[0]?.spaError ?? '', { timeout: 30_000 }).toMatch(/stopped on h\d+: .*budget 100 ms/);
  await expect(runaway.getByTestId('player').getByRole('alert')).toContainText('Nothing more arrives');
  const dead = (await snapshots(tabs.pages)).flatMap((s) => s.spas).find((spa) => spa.state === 'dead');
  expect(dead?.error).toMatch(/ran \d+ ms on one chunk/);
  // Everyone else's stream goes on, the publisher's included.
  const before = framesDecoded((await snapshot(other))!, 'cam');
  await expect.poll(async () => framesDecoded((await snapshot(other))!, 'cam'), { timeout: 10_000 }).toBeGreaterThan(before + 30);
  expect((await snapshot(publisher))!.publishing[0]!.framesEncoded).toBeGreaterThan(0);
  expect(framesDecoded((await snapshot(runaway))!, 'cam')).toBe(0);
});

test('network coding: two receivers each recover the source they do not receive, reading for reading', async ({ tabs }) => {
  for (let i = 0; i < 5; i++) await tabs.open();
  const [sourceA, sourceB, coder, r1, r2] = tabs.pages as [Page, Page, Page, Page, Page];
  for (const [page, name] of [
    [sourceA, 'a'],
    [sourceB, 'b'],
  ] as const) {
    await page.getByTestId('channel-name-input').fill(name);
    await page.getByTestId('publish-sensor-button').click();
  }
  await expect.poll(async () => (await snapshot(coder))?.channels.length).toBe(2);
  await coder.getByText('Network coding').click();
  await coder.getByTestId('coded-name-input').fill('a-x-b');
  await coder.getByTestId('code-button').click();
  await expect.poll(async () => (await snapshot(coder))?.coding[0]?.output).toBe('a-x-b');

  for (const [page, plain] of [
    [r1, 'a'],
    [r2, 'b'],
  ] as const) {
    await subscribeWith(page, plain, 'full');
    await expect.poll(async () => (await snapshot(page))?.channels.some((c) => c.name === 'a-x-b')).toBe(true);
    await page.getByTestId('channel-list').locator('li[data-channel="a-x-b"]').getByTestId('recover-button').click();
  }
  for (const [page, recovered] of [
    [r1, 'b'],
    [r2, 'a'],
  ] as const) {
    await expect
      .poll(async () => (await snapshot(page))?.subscriptions.find((s) => s.channel === recovered && s.recoveredFrom === 'a-x-b')?.framesDecoded ?? 0, { timeout: 30_000 })
      .toBeGreaterThan(10);
  }
  // What each receiver recovered is exactly what the coder received from the source.
  const history = async (page: Page, channel: string) => JSON.parse((await page.locator(`[data-testid="sensor-view"][data-channel="${channel}"]`).getAttribute('data-history'))!) as [number, number][];
  for (const [receiver, recovered] of [
    [r1, 'b'],
    [r2, 'a'],
  ] as const) {
    const got = await history(receiver, recovered);
    const truth = new Map((await history(coder, recovered)).map(([t, v]) => [t, v]));
    const compared = got.filter(([t]) => truth.has(t));
    expect(compared.length, `${recovered} readings to compare`).toBeGreaterThan(20);
    for (const [t, v] of compared) expect(v).toBe(truth.get(t));
  }
});
