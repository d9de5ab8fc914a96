import { mRegion } from '@cubecast/overlay';
import { cubeFacts } from './cube.js';
import { expect, snapshots, test } from './fixtures.js';

test('9 tabs join: the cube is mRegion(9) and every tab links exactly to its cube neighbours', async ({ tabs }) => {
  for (let i = 0; i < 9; i++) await tabs.open();
  const region = mRegion(9);
  await expect
    .poll(async () => {
      const all = await snapshots(tabs.pages);
      if (all.some((s) => s.cube?.k !== region.k || s.cube?.n !== region.n)) return 'cube not settled';
      if (new Set(all.map((s) => s.cube!.epoch)).size !== 1) return 'epochs differ';
      const { neighbourHosts, owner } = cubeFacts(all);
      if (owner.size !== region.M) return `ids owned: ${owner.size} of ${region.M}`;
      for (const s of all) {
        const open = s.links.filter((l) => l.state === 'open').map((l) => l.hostId).sort();
        const expected = neighbourHosts(s);
        if (JSON.stringify(open) !== JSON.stringify(expected)) return `${s.hostId}: open ${open} != neighbours ${expected}`;
        if (s.links.length !== expected.length) return `${s.hostId}: ${s.links.length} links, expected ${expected.length}`;
      }
      return 'ok';
    }, { timeout: 60_000, intervals: [500] })
    .toBe('ok');
  const all = await snapshots(tabs.pages);
  expect(all.every((s) => s.links.every((l) => l.rttMs !== null))).toBe(true);
});
