import type { Page } from '@playwright/test';
import { expect, framesDecoded, publishCamera, snapshot, snapshots, subscribe, test } from './fixtures.js';

test('tabs join one by one from 2 to 10 during a stream: re-embeddings, no stall over 5 s', async ({ tabs }) => {
  const publisher = await tabs.open();
  await publishCamera(publisher, 'cam');
  const firstEpoch = (await snapshot(publisher))!.cube!.epoch;
  const subscribers: Page[] = [];
  // Per subscriber: frames at last change, and when that was.
  const progress = new Map<number, { frames: number; at: number; worstGap: number }>();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const now = Date.now();
      const all = await Promise.all(subscribers.map((p) => snapshot(p).catch(() => undefined)));
      all.forEach((s, i) => {
        if (!s) return;
        const frames = framesDecoded(s, 'cam');
        const seen = progress.get(i);
        if (!seen) {
          if (frames > 0) progress.set(i, { frames, at: now, worstGap: 0 });
          return;
        }
        if (frames > seen.frames) progress.set(i, { frames, at: now, worstGap: Math.max(seen.worstGap, now - seen.at) });
      });
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  for (let count = 2; count <= 10; count++) {
    const page = await tabs.open();
    subscribers.push(page);
    await subscribe(page, 'cam', 2000);
    // Let the stream settle on each newcomer before the next arrives.
    await expect.poll(async () => framesDecoded((await snapshot(page))!, 'cam'), { timeout: 30_000 }).toBeGreaterThan(5);
    await new Promise((r) => setTimeout(r, 1500));
  }
  await new Promise((r) => setTimeout(r, 3000));
  sampling = false;
  await sampler;
  const samplingEnded = Date.now();
  // Still flowing at the end: every subscriber decodes new frames within the last second.
  const ending = (await snapshots(subscribers)).map((s) => framesDecoded(s, 'cam'));
  await new Promise((r) => setTimeout(r, 1000));
  const ended = (await snapshots(subscribers)).map((s) => framesDecoded(s, 'cam'));
  for (const [i, frames] of ended.entries()) expect(frames, `subscriber ${i} decoded nothing in the last second`).toBeGreaterThan(ending[i]!);

  const all = await snapshots(tabs.pages);
  expect(all.map((s) => [s.cube!.k, s.cube!.n])).toEqual(all.map(() => [3, 3]));
  expect(all[0]!.cube!.epoch).toBeGreaterThan(firstEpoch);
  // A stall still running when sampling stopped counts in full.
  const gaps = [...progress.entries()].map(([i, p]) => ({ i, worstGap: Math.max(p.worstGap, samplingEnded - p.at) }));
  console.log('worst stall per subscriber (ms):', gaps.map((g) => g.worstGap));
  for (const { i, worstGap } of gaps) expect(worstGap, `subscriber ${i} stalled`).toBeLessThanOrEqual(5000);
  expect(progress.size).toBe(9);
});
